"""Which group a new contact is routed to (issue 14, point 2): the assistant's topic, a
classifier's guess (a guesser defined here stands in for `topic_models.guess_topic`), the
general group; outgoing and manual contacts; the reason words (ekc_server.services.
contact_routing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.enums import Channel, Line, RouteSource
from ekc_core.schemas import ContactInbound, Handoff
from ekc_server.models import Appeal, CallbackTask, Citizen, Contact, Staff, Topic
from ekc_server.services import contacts
from ekc_server.services.contact_routing import (
    Route,
    reason,
    route_inbound,
    route_manual,
    route_outbound,
    why,
)
from ekc_server.services.routing import table_in_force
from ekc_server.write_time import WriteTime


@dataclass(frozen=True)
class Guess:
    topic: str | None
    group: str | None
    confidence: float
    confident: bool


class Guesser:
    """Answers `guess` and remembers what it was asked."""

    def __init__(self, guess: Guess | None) -> None:
        self.guess = guess
        self.asked: list[str] = []

    def __call__(self, session: Session, text: str) -> Guess | None:
        self.asked.append(text)
        return self.guess


def routed(engine: Engine, guesser: Guesser, **fields: object) -> Route:
    data = ContactInbound.model_validate({"channel": "email", **fields})
    with Session(engine) as session:
        return route_inbound(
            session, table_in_force(session), text=data.text, handoff=data.handoff, guess=guesser
        )


def test_the_assistants_topic_wins_and_no_text_is_guessed(engine: Engine) -> None:
    guesser = Guesser(Guess("housing.water", "housing", 0.99, True))
    for value in ("svo.contract", "SVO.CONTRACT", "  жкх ", "Медицина"):
        route = routed(
            engine,
            guesser,
            channel="phone",
            line="122",
            handoff={"detected_topic": value, "transcript": "про воду"},
        )
        assert route.source == RouteSource.handoff
    assert guesser.asked == []
    route = routed(engine, guesser, channel="phone", line="122", handoff={"detected_topic": "Жкх"})
    assert route == Route("housing", "housing", RouteSource.handoff)


def test_an_unknown_handoff_topic_falls_through_to_the_text(engine: Engine) -> None:
    guesser = Guesser(Guess("medicine.appointment", "medicine", 0.82, True))
    route = routed(
        engine,
        guesser,
        channel="phone",
        line="122",
        handoff={"detected_topic": "погода", "transcript": "Не могу записаться к врачу"},
    )
    assert route == Route("medicine", "medicine.appointment", RouteSource.text, 0.82)
    assert guesser.asked == ["Не могу записаться к врачу"]
    assert why(route.source.value, route.confidence) == "по тексту, 82 %"


def test_a_written_message_is_guessed_from_its_text(engine: Engine) -> None:
    guesser = Guesser(Guess("svo.contract", "svo", 0.9, True))
    route = routed(engine, guesser, sender="a@b.ru", text="Как заключить контракт?")
    assert route == Route("svo", "svo.contract", RouteSource.text, 0.9)
    assert guesser.asked == ["Как заключить контракт?"]


@pytest.mark.parametrize(
    ("guess", "confidence"),
    [
        (None, None),
        (Guess("svo.contract", "svo", 0.31, False), 0.31),  # not confident
        (Guess("no.such.topic", "no-such-group", 0.95, True), 0.95),  # nothing the table knows
    ],
    ids=["none", "not-confident", "unknown"],
)
def test_no_confident_guess_goes_to_the_general_group(
    engine: Engine, guess: Guess | None, confidence: float | None
) -> None:
    route = routed(engine, Guesser(guess), sender="a@b.ru", text="Здравствуйте")
    assert route == Route("general", None, RouteSource.none, confidence)
    assert why(route.source.value, route.confidence) == "тема не определена"


def test_a_failing_classifier_routes_to_the_general_group(engine: Engine) -> None:
    def broken(session: Session, text: str) -> Guess | None:
        raise RuntimeError("no model")

    data = ContactInbound(channel=Channel.email, sender="a@b.ru", text="Здравствуйте")
    with Session(engine) as session:
        route = route_inbound(
            session, table_in_force(session), text=data.text, handoff=None, guess=broken
        )
    assert route == Route("general", None, RouteSource.none)


def test_a_guess_of_a_group_without_a_known_topic_is_taken(engine: Engine) -> None:
    route = routed(engine, Guesser(Guess(None, "psych", 0.8, True)), text="Мне тревожно")
    assert route == Route("psych", None, RouteSource.text, 0.8)


def test_nothing_to_read_asks_nobody(engine: Engine) -> None:
    guesser = Guesser(Guess("svo", "svo", 1.0, True))
    assert routed(engine, guesser, text="   ").source == RouteSource.none
    assert guesser.asked == []


def test_post_inbound_stores_the_route_and_the_card_says_why(engine: Engine) -> None:
    guesser = Guesser(Guess("housing.heating", "housing", 0.776, True))
    data = ContactInbound(
        channel=Channel.email, sender="a@b.ru", text="В квартире холодно, батареи ледяные"
    )
    with Session(engine) as session:
        public, created = contacts.post_inbound(
            session=session, data=data, at=WriteTime.now(), guess=guesser
        )
        assert created
        row = session.get(Contact, public.id)
        assert row is not None
        assert (row.group_code, row.routed_topic, row.route_source) == (
            "housing",
            "housing.heating",
            "text",
        )
        assert row.route_confidence == pytest.approx(0.776)
    assert public.group_code == "housing"
    assert public.route_reason == "ЖКХ, по тексту, 78 %"
    # the default: nothing is guessed (until the classifier is plugged in)
    with Session(engine) as session:
        other, _ = contacts.post_inbound(
            session=session,
            data=ContactInbound(channel=Channel.phone, line=Line.l122, handoff=Handoff()),
            at=WriteTime.now(),
        )
    assert (other.group_code, other.route_reason) == ("general", "Общая группа, тема не определена")


def test_outbound_takes_the_callbacks_topic_else_the_operators_group(engine: Engine) -> None:
    with Session(engine) as session:
        table = table_in_force(session)
        staff = Staff(username="x", full_name="X", role="operator", skills=["bogus", "medicine"])
        assert route_manual(table, staff=staff) == Route("medicine", None, RouteSource.operator)
        nobody = Staff(username="y", full_name="Y", role="operator", skills=[])
        assert route_outbound(session, table, staff=nobody, callback_id=None).group_code == (
            "general"
        )
        topic = session.exec(select(Topic).where(Topic.code == "social.pensions")).one()
        citizen = Citizen(last_name="Иванова", first_name="Анна")
        session.add(citizen)
        session.flush()
        assert citizen.id is not None and topic.id is not None
        appeal = Appeal(
            number="122-2026-000001",
            citizen_id=citizen.id,
            kind="appeal_59fz",
            topic_id=topic.id,
            summary="Пенсия",
            status="registered",
        )
        session.add(appeal)
        session.flush()
        task = CallbackTask(
            citizen_id=citizen.id,
            appeal_id=appeal.id,
            phone="+79025551234",
            reason="Сообщить ответ",
            due_at=datetime.now(UTC),
        )
        session.add(task)
        session.flush()
        route = route_outbound(session, table, staff=staff, callback_id=task.id)
        assert route == Route("social", "social.pensions", RouteSource.topic)
        contact = Contact(
            channel="phone",
            line="122",
            direction="out",
            status="active",
            queued_at=datetime.now(UTC),
        )
        route.apply(contact)
        assert reason(table, contact, contact.queued_at) == "Соцзащита, по теме обращения"
        session.rollback()
