"""`ekc-admin simulate contacts` against a real backend: what it posts, what it prints, how
it stops, retries and reports abandoned calls."""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from ekc_admin import simulate, simulate_arrivals, simulate_mix, simulate_options
from ekc_admin.main import app
from ekc_core.client import EkcClient
from ekc_core.enums import Channel, Role
from ekc_core.errors import ConflictError, ServerUnreachableError
from ekc_server.models import Contact, Topic

PASSWORD = "пароль-смены"
CONTACT_LINE = re.compile(r"^\d\d:\d\d:\d\d  №\d+ ")
FULL_NUMBER = re.compile(r"\+7\d{10}")


@pytest.fixture
def runner(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    monkeypatch.delenv("EKC_TOKEN", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.fixture
def signed_in(runner, make_staff) -> Any:
    lead = make_staff(Role.shift_lead, username="lead-sim", password=PASSWORD)
    result = runner.invoke(app, ["login", "-u", "lead-sim", "-p", PASSWORD])
    assert result.exit_code == 0, result.output
    return lead


def simulate_contacts(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, ["simulate", "contacts", *args])


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def sim_contacts(engine: Engine) -> list[Contact]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Contact)
                .where(col(Contact.external_id).startswith("sim-"))
                .order_by(col(Contact.id))
            ).all()
        )


def topic_codes(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(Topic.code)).all())


def add_citizens(live_server: str, token: str, phones: list[str]) -> None:
    for n, phone in enumerate(phones):
        r = httpx.post(
            f"{live_server}/api/v1/citizens",
            headers={"Authorization": f"Bearer {token}"},
            json={"last_name": "Кузнецов", "first_name": f"Пётр{n}", "phones": [phone]},
        )
        assert r.status_code == 201, r.text


# --- with a real backend ----------------------------------------------------------------


@pytest.mark.client_side
def test_posts_contacts_the_way_a_gateway_does(runner, signed_in, engine, live_server) -> None:
    add_citizens(live_server, signed_in.token, ["+79025550001", "+73952200002", "+79145550003"])
    result = simulate_contacts(runner, "--rate", "600/min", "--count", "12", "--seed", "5")
    assert result.exit_code == 0, result.output

    lines = result.stdout.splitlines()
    posted = [line for line in lines if CONTACT_LINE.match(line) and "сброшен" not in line]
    assert len(posted) == 12
    assert "Итого" in result.stdout and "отправлено обращений 12" in result.stdout
    assert "--seed 5" in result.stdout
    assert not FULL_NUMBER.search(result.stdout)  # numbers are masked (152-FZ)
    assert "Номера известных граждан: 3" in result.stderr

    contacts = sim_contacts(engine)
    assert len(contacts) == 12
    assert len({c.external_id for c in contacts}) == 12
    codes = topic_codes(engine)
    for c in contacts:
        assert Channel(c.channel) != Channel.video
        assert c.direction == "in" and c.status == "queued"
        if c.channel == Channel.phone.value:
            assert c.line in ("122", "117")
            assert c.caller_number or c.sender == "anonymous"
            assert c.text is None
        else:
            assert c.line is None and c.caller_number is None
            assert c.sender and c.text and c.text.startswith("Добрый день!")
        if c.handoff:
            assert c.handoff["detected_topic"] in codes
            assert c.handoff["detected_emotion"] in simulate_mix.EMOTIONS
            sentences = [s for s in re.split(r"[.?!]", c.handoff["transcript"]) if s.strip()]
            assert 1 <= len(sentences) <= 3
        assert f"№{c.id} " in result.stdout


@pytest.mark.client_side
def test_json_lines_and_known_citizens(runner, signed_in, engine, live_server) -> None:
    add_citizens(live_server, signed_in.token, ["+79025550011", "+79025550012"])
    result = simulate_contacts(runner, "-r", "10/s", "-n", "20", "--seed", "8", "--json")
    assert result.exit_code == 0, result.output
    *posted, summary = events(result.stdout)
    assert [e["event"] for e in posted] == ["contact"] * 20
    assert summary["event"] == "summary"
    assert summary["posted"] == 20 and summary["stopped"] == "count" and summary["seed"] == 8
    assert sum(summary["calls"].values()) + sum(summary["written"].values()) == 20
    by_id = {c.id: c for c in sim_contacts(engine) if c.id is not None}
    assert sorted(by_id) == sorted(e["id"] for e in posted)
    known_calls = [e for e in posted if e["known_citizen"] and e["channel"] == Channel.phone.value]
    assert known_calls, "with seed 8 some callers reuse a citizen's number"
    for e in known_calls:
        assert by_id[e["id"]].caller_number in ("+79025550011", "+79025550012")
        assert by_id[e["id"]].citizen_id is not None
    for e in posted:
        contact = by_id[e["id"]]
        assert e["channel"] == contact.channel and e["line"] == contact.line
        assert e["external_id"] == contact.external_id
        if e["handoff"]:
            assert e["handoff"] == contact.handoff


@pytest.mark.client_side
def test_the_same_seed_gives_the_same_sequence(runner, signed_in) -> None:
    def sequence(seed: str) -> list[tuple[str, str | None, str]]:
        result = simulate_contacts(
            runner, "--rate", "600/min", "--count", "15", "--seed", seed, "--json"
        )
        assert result.exit_code == 0, result.output
        return [(e["channel"], e["line"], e["topic"]) for e in events(result.stdout)[:-1]]

    first = sequence("42")
    assert len(first) == 15
    assert sequence("42") == first
    assert sequence("43") != first


@pytest.mark.client_side
def test_a_topic_stream_posts_only_its_topics(runner, signed_in, engine) -> None:
    result = simulate_contacts(
        runner,
        *("-r", "600/min", "-n", "30", "--seed", "4", "--json"),
        *("-t", "svo=3", "-t", "housing", "--handoff-share", "1"),
    )
    assert result.exit_code == 0, result.output
    assert "тематики: svo 75 %, housing 25 %" in " ".join(result.stderr.split())
    *posted, summary = events(result.stdout)
    assert {e["topic"].partition(".")[0] for e in posted} == {"svo", "housing"}
    assert summary["topics"] == dict(Counter(e["topic"].partition(".")[0] for e in posted))
    contacts = {c.id: c for c in sim_contacts(engine)}
    assert len(contacts) == 30
    for e in posted:
        contact = contacts[e["id"]]
        top = e["topic"].partition(".")[0]
        if contact.handoff:
            assert contact.handoff["detected_topic"] in (e["topic"], top)
        if contact.text:
            said = [s for c, s in simulate_mix.SCENARIOS[top] if c == e["topic"]]
            assert any(s in contact.text for s in said)
    assert any(c.text for c in contacts.values())
    assert all(c.handoff for c in contacts.values() if c.channel == Channel.phone.value)


@pytest.mark.client_side
def test_a_topic_the_server_retired(runner, signed_in, engine) -> None:
    with Session(engine) as session:
        for row in session.exec(select(Topic).where(col(Topic.code).startswith("mfc"))):
            row.active = False
            session.add(row)
        session.commit()
    result = simulate_contacts(runner, "-r", "600/min", "-n", "3", "-t", "mfc=5", "-t", "svo")
    assert result.exit_code == 1, result.output
    assert "--topic: тематики «mfc» нет среди действующих" in " ".join(result.stderr.split())
    assert sim_contacts(engine) == []
    # a mix leaves the retired topic out
    result = simulate_contacts(runner, "-r", "600/min", "-n", "40", "--mix", "centre", "--json")
    assert result.exit_code == 0, result.output
    assert "mfc" not in events(result.stdout)[-1]["topics"]
    assert len(sim_contacts(engine)) == 40


@pytest.mark.client_side
def test_an_operator_simulates_without_reporting_hang_ups(runner, make_staff, engine) -> None:
    """Only gateways and leads report a hang-up: an operator's run keeps posting."""
    make_staff(Role.operator, username="op-sim", password=PASSWORD)
    assert runner.invoke(app, ["login", "-u", "op-sim", "-p", PASSWORD]).exit_code == 0
    result = simulate_contacts(
        runner, "--rate", "20/s", "--duration", "1.2", "--abandon-after", "0.1", "--json"
    )
    assert result.exit_code == 0, result.output
    assert "Сбросы звонков не отправляются" in result.stderr
    summary = events(result.stdout)[-1]
    assert summary["abandoned"] == 0
    assert summary["posted"] == len(sim_contacts(engine)) >= 5
    assert all(c.status == "queued" for c in sim_contacts(engine))


@pytest.mark.client_side
def test_waiting_calls_are_abandoned_unless_taken(
    runner, signed_in, engine, live_server, make_staff
) -> None:
    result = simulate_contacts(
        runner, "--rate", "20/s", "--duration", "3", "--abandon-after", "0.2", "--json"
    )
    assert result.exit_code == 0, result.output
    all_events = events(result.stdout)
    summary = all_events[-1]
    assert summary["stopped"] == "duration"
    abandoned = [e["id"] for e in all_events if e["event"] == "abandoned"]
    assert summary["abandoned"] == len(abandoned) >= 1
    contacts = {c.id: c for c in sim_contacts(engine)}
    assert {i for i, c in contacts.items() if c.status == "abandoned"} == set(abandoned)
    assert all(contacts[i].channel == "phone" and contacts[i].abandoned for i in abandoned)
    calls = sum(summary["calls"].values())
    assert summary["abandoned"] + summary["answered"] + summary["waiting"] == calls

    # an operator who takes every call at once leaves nothing to abandon (409 is fine)
    operator = make_staff(Role.operator)
    stop = threading.Event()

    def take_calls() -> None:
        with EkcClient(live_server, token=operator.token) as client:
            while not stop.is_set():
                for c in client.queue(limit=100):
                    if c.channel == Channel.phone:
                        with contextlib.suppress(ConflictError):  # abandoned meanwhile
                            client.claim(c.id)
                time.sleep(0.03)

    taker = threading.Thread(target=take_calls)
    taker.start()
    try:
        result = simulate_contacts(
            runner, "--rate", "10/s", "--duration", "1.5", "--abandon-after", "0.6", "--json"
        )
    finally:
        stop.set()
        taker.join()
    assert result.exit_code == 0, result.output
    summary = events(result.stdout)[-1]
    assert summary["answered"] >= 1
    assert summary["abandoned"] + summary["answered"] + summary["waiting"] == sum(
        summary["calls"].values()
    )
    assert "Сервер отклонил" not in result.stderr


@pytest.mark.client_side
def test_a_gateway_token_from_the_environment(runner, make_staff, engine, monkeypatch) -> None:
    gateway = make_staff(Role.gateway, username="telephony", skills=[])
    monkeypatch.setenv("EKC_TOKEN", gateway.token)
    result = simulate_contacts(runner, "--rate", "600/min", "--count", "4")
    assert result.exit_code == 0, result.output
    assert "все номера будут новыми" in result.stderr
    contacts = sim_contacts(engine)
    assert len(contacts) == 4
    assert all(c.citizen_id is None for c in contacts)

    monkeypatch.delenv("EKC_TOKEN")
    result = simulate_contacts(
        runner, "--rate", "600/min", "--count", "2", "--token", gateway.token
    )
    assert result.exit_code == 0, result.output
    assert len(sim_contacts(engine)) == 6


@pytest.mark.client_side
def test_network_blips_are_retried(runner, signed_in, engine, monkeypatch) -> None:
    monkeypatch.setattr(simulate, "RETRY_BASE_SECONDS", 0.01)
    real_post = EkcClient.post_contact
    calls = {"n": 0}

    def flaky(self: EkcClient, data: Any) -> Any:
        calls["n"] += 1
        if calls["n"] in (2, 3):
            raise ServerUnreachableError("нет связи с сервером: обрыв")
        return real_post(self, data)

    monkeypatch.setattr(EkcClient, "post_contact", flaky)
    result = simulate_contacts(runner, "--rate", "600/min", "--count", "5", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Сбой связи") == 2
    assert "обрыв" in result.stderr
    summary = events(result.stdout)[-1]
    assert (summary["posted"], summary["network_failures"], summary["unsent"]) == (5, 2, 0)
    assert len(sim_contacts(engine)) == 5


@pytest.mark.client_side
def test_ctrl_c_stops_with_a_summary(runner, signed_in, engine, monkeypatch) -> None:
    naps = {"n": 0}

    def sleep_then_interrupt(seconds: float) -> None:
        naps["n"] += 1
        if naps["n"] == 12:
            raise KeyboardInterrupt
        time.sleep(seconds)

    monkeypatch.setattr(simulate, "_sleep", sleep_then_interrupt)
    result = simulate_contacts(runner, "--rate", "600/min")
    assert result.exit_code == 0, result.output
    assert "остановлено (Ctrl+C)" in result.stdout
    posted = [line for line in result.stdout.splitlines() if CONTACT_LINE.match(line)]
    assert f"отправлено обращений {len(posted)};" in result.stdout
    assert len(sim_contacts(engine)) == len(posted)


@pytest.mark.client_side
def test_without_a_login_exits_3(runner) -> None:
    result = simulate_contacts(runner, "--rate", "6/min", "--count", "1")
    assert result.exit_code == 3
    assert "ekc-admin login" in result.stderr
    assert result.stdout == ""


# --- arguments (no server needed) -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "per_second"),
    [
        ("6/min", 0.1),
        ("6", 0.1),
        ("0.5/s", 0.5),
        ("120/h", 120 / 3600),
        ("0,5/s", 0.5),
        (" 30 / мин ", 0.5),
    ],
)
def test_rate_forms(raw: str, per_second: float) -> None:
    assert simulate_options.parse_rate(raw) == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--rate", "abc"], "--rate"),
        (["--rate", "0"], "--rate"),
        (["--rate", "-5/min"], "--rate"),
        (["--rate", "6/day"], "--rate"),
        (["--rate", "1000/s"], "--rate"),
        (["--rate", ""], "--rate"),
        (["--rate", "6/min", "--count", "0"], "--count"),
        (["--rate", "6/min", "--duration", "0"], "--duration"),
        (["--rate", "6/min", "--abandon-after", "-1"], "--abandon-after"),
        (["--rate", "6/min", "--topic", "weather=10"], "--topic"),
        (["--rate", "6/min", "--topic", "svo=много"], "--topic"),
        (["--rate", "6/min", "--topic", "svo=-1"], "--topic"),
        (["--rate", "6/min", "--topic", "svo=inf"], "--topic"),
        (["--rate", "6/min", "--topic", "=5"], "--topic"),
        (["--rate", "6/min", "--topic", "svo=0"], "--topic"),
        (["--rate", "6/min", "--topic", "svo=5", "--topic", "svo=7"], "--topic"),
        (["--rate", "6/min", "--mix", "storm"], "--mix"),
        (["--rate", "6/min", "--handoff-share", "1.5"], "--handoff-share"),
        (["--rate", "6/min", "--handoff-share", "-0.1"], "--handoff-share"),
        (["--rate", "6/min", "--handoff-share", "nan"], "--handoff-share"),
        (["--rate", "6/min", "--mix", "centre", "--topic", "svo.nothing=3"], "--topic"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, monkeypatch, args: list[str], option: str) -> None:
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["simulate", "contacts", *args])
    assert result.exit_code == 2, result.output
    assert f"неверное значение {option}" in result.stderr
    assert result.stdout == ""


def test_generated_numbers_are_valid_and_written_like_telephony() -> None:
    from ekc_core.phones import normalize_phone

    rng = random.Random(1)
    forms = set()
    for _ in range(300):
        e164 = simulate_arrivals.new_number(rng)
        assert normalize_phone(e164) == e164
        assert e164.startswith(("+79", "+7395"))
        written = simulate_arrivals.written_number(rng, e164)
        assert normalize_phone(written) == e164
        forms.add(written)
    assert any(re.fullmatch(r"8 \(3952\) \d\d-\d\d-\d\d", f) for f in forms)
    assert any(re.fullmatch(r"\+79\d{9}", f) for f in forms)


def test_topic_messages_name_what_is_wrong(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path))

    def stderr(*args: str) -> str:
        result = CliRunner().invoke(app, ["simulate", "contacts", "--rate", "6", *args])
        assert result.exit_code == 2, result.output
        return " ".join(result.stderr.split())

    assert "нет тематики «weather»" in stderr("--topic", "weather=10")
    assert "вес «много» не число" in stderr("--topic", "svo=много")
    assert "указана дважды" in stderr("-t", "svo=5", "-t", "svo=7")
    assert "поток пуст" in stderr("--topic", "svo=0")
    assert "есть: centre, svo-surge" in stderr("--mix", "storm")


def test_topic_weights_from_mix_and_topics() -> None:
    assert simulate_options.topic_weights(None, []) is None
    assert simulate_options.topic_weights(None, ["svo=45", "housing=20,5", "mfc"]) == {
        "svo": 45.0,
        "housing": 20.5,
        "mfc": 1.0,
    }
    surge = simulate_options.topic_weights("svo-surge", [])
    assert surge is not None
    assert surge["svo"] / sum(surge.values()) == pytest.approx(0.70)
    # the rest keep their proportions
    assert surge["housing"] / surge["medicine"] == pytest.approx(14 / 15)
    centre = simulate_options.topic_weights("centre", ["svo=0", "svo.contract=30"])
    assert centre is not None
    assert "svo" not in centre and centre["svo.contract"] == 30.0 and centre["medicine"] == 15.0
    assert simulate_options.describe({"svo": 3, "housing": 1}) == "svo 75 %, housing 25 %"
    assert simulate_options.describe(surge, shown=2) == "svo 70 %, medicine 8 %, прочие 22 %"


def test_a_stream_draws_only_its_topics_in_proportion() -> None:
    scenarios = simulate_arrivals.available_scenarios(simulate_options.topic_codes())
    generator = simulate_arrivals.Generator(
        seed=3,
        scenarios=scenarios,
        known=[],
        top_codes=set(simulate_mix.SCENARIOS),
        weights={"svo": 3.0, "housing.heating": 1.0},
    )
    drawn = [generator.next() for _ in range(2000)]
    tops = Counter(a.topic.partition(".")[0] for a in drawn)
    assert set(tops) == {"svo", "housing"}
    assert tops["svo"] / len(drawn) == pytest.approx(0.75, abs=0.03)
    assert {a.topic for a in drawn if a.topic.startswith("housing")} == {"housing.heating"}
    assert len({a.topic for a in drawn if a.topic.startswith("svo")}) > 5  # all of SVO's
    for a in drawn:
        top = a.topic.partition(".")[0]
        said = {s for c, s in simulate_mix.SCENARIOS[top] if c == a.topic}
        handoff, text = a.contact.handoff, a.contact.text
        if handoff is not None:  # the assistant names the topic or its parent
            assert handoff.detected_topic in (a.topic, top)
            assert any(s in (handoff.transcript or "") for s in said)
        if text is not None:  # a written message says what the topic is about
            assert any(s in text for s in said)
    with pytest.raises(KeyError):
        simulate_arrivals.topic_streams({"svo": scenarios["svo"]}, {"housing": 1.0})


def test_the_share_of_calls_through_the_assistant() -> None:
    scenarios = simulate_arrivals.available_scenarios(simulate_options.topic_codes())

    def calls(share: float) -> list[simulate_arrivals.Arrival]:
        generator = simulate_arrivals.Generator(
            seed=9, scenarios=scenarios, known=[], top_codes=set(), handoff_share=share
        )
        drawn = [generator.next() for _ in range(400)]
        return [a for a in drawn if a.contact.channel == Channel.phone]

    assert all(a.contact.handoff for a in calls(1.0))
    assert not any(a.contact.handoff for a in calls(0.0))
    usual = calls(simulate_mix.HANDOFF_SHARE)
    assert 0.4 < sum(a.contact.handoff is not None for a in usual) / len(usual) < 0.6
