"""End to end over HTTP on a loopback port, driven by the `ekc_core` httpx client: the first
test against `ekc-server run` in a subprocess (`integration`), the rest in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.enums import (
    AppealEventType,
    AppealKind,
    AppealStatus,
    Channel,
    ContactOutcome,
    Line,
    Role,
)
from ekc_core.errors import (
    AuthenticationRequiredError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerUnreachableError,
    ValidationFailedError,
)
from ekc_core.schemas import (
    AppealCreate,
    AppealEventCreate,
    CallbackAttempt,
    CallbackCreate,
    CitizenCreate,
    CitizenUpdate,
    ContactInbound,
    ContactWrapUp,
    Handoff,
)
from ekc_core.settings import ClientSettings

PASSWORD = "секрет-122"


@pytest.mark.integration
def test_a_call_from_the_queue_to_a_resolved_appeal(live_server, make_staff):
    make_staff(Role.operator, username="ivanova", password=PASSWORD)
    make_staff(Role.shift_lead, username="petrov", password=PASSWORD)
    gateway = make_staff(Role.gateway, username="telephony")

    with EkcClient(live_server) as op:
        token = op.login("ivanova", PASSWORD)
        assert token.access_token.startswith("ekcs_")
        assert op.me().role == Role.operator

        citizen = op.create_citizen(
            CitizenCreate(
                last_name="Соколова",
                first_name="Анна",
                middle_name="Петровна",
                phones=["8 (3952) 20-11-22"],
                consent_personal_data=True,
            ),
            idempotency_key=new_idempotency_key(),
        )
        assert citizen.phones == ["+73952201122"]

        with EkcClient(live_server, token=gateway.token) as telephony:
            contact = telephony.post_contact(
                ContactInbound(
                    channel=Channel.phone,
                    line=Line.l122,
                    caller_number="+7 3952 201122",
                    external_id="call-0001",
                    handoff=Handoff(
                        transcript="Не вывозят мусор третий день",
                        detected_topic="ЖКХ",
                        detected_emotion="раздражение",
                    ),
                )
            )
        assert contact.citizen_id == citizen.id
        assert [c.id for c in op.queue()] == [contact.id]

        claimed = op.claim(contact.id)
        assert claimed.status.value == "active"
        history = op.history(citizen.id)
        assert history.citizen.full_name == "Соколова Анна Петровна"
        assert [i.contact.id for i in history.page.items if i.contact] == [contact.id]

        key = new_idempotency_key()
        body = AppealCreate(
            citizen_id=citizen.id,
            kind=AppealKind.appeal_59fz,
            topic_code="housing.tko",
            summary="Не вывозят мусор",
            contact_id=contact.id,
            complex=True,
        )
        appeal = op.create_appeal(body, idempotency_key=key)
        again = op.create_appeal(body, idempotency_key=key)
        assert again.id == appeal.id and again.number == appeal.number
        assert op.appeals(citizen_id=citizen.id).total == 1
        assert appeal.answer_due is not None
        assert appeal.answer_due - appeal.registered_at == timedelta(days=30)

        op.end_contact(contact.id)
        done = op.wrap_up(
            contact.id,
            ContactWrapUp(
                topic_code="housing.tko",
                outcome=ContactOutcome.appeal_registered,
                summary="Зарегистрировано обращение",
                appeal_id=appeal.id,
            ),
            idempotency_key=new_idempotency_key(),
        )
        assert done.status.value == "done"
        assert done.wrapup_ended_at is not None

        forwarded = op.add_appeal_event(
            appeal.id,
            AppealEventCreate(type=AppealEventType.forwarded, agency_code="rtneo_irkutsk"),
        )
        assert forwarded.status == AppealStatus.forwarded
        assert forwarded.agency_code == "rtneo_irkutsk"
        with pytest.raises(ConflictError):
            op.add_appeal_event(appeal.id, AppealEventCreate(type=AppealEventType.closed))
        with pytest.raises(PermissionDeniedError):
            op.add_appeal_event(
                appeal.id, AppealEventCreate(type=AppealEventType.extended, extension_days=10)
            )

        task = op.create_callback(
            CallbackCreate(
                citizen_id=citizen.id,
                appeal_id=appeal.id,
                reason="Сообщить результат",
                due_at=datetime.now(UTC) + timedelta(hours=2),
            )
        )
        assert [t.id for t in op.callbacks(scope="mine")] == [task.id]
        result = op.record_callback_attempt(
            task.id, CallbackAttempt(result="reached", note="Сообщено")
        )
        assert result.status.value == "done"
        events = [e.type for e in op.appeal(appeal.id).events]
        assert events == [
            AppealEventType.created,
            AppealEventType.forwarded,
            AppealEventType.callback_made,
        ]

    with EkcClient(live_server) as lead:
        lead.login("petrov", PASSWORD)
        extended = lead.add_appeal_event(
            appeal.id,
            AppealEventCreate(type=AppealEventType.extended, extension_days=30, text="Нужен выезд"),
        )
        assert extended.extension_days == 30


def test_client_maps_errors_to_typed_exceptions(live_server, make_staff):
    account = make_staff(Role.operator, username="kuznetsova", password=PASSWORD)
    with EkcClient(live_server) as anonymous:
        with pytest.raises(AuthenticationRequiredError):
            anonymous.me()
        with pytest.raises(AuthenticationRequiredError, match="Неверное имя"):
            anonymous.login("kuznetsova", "не тот")
    with EkcClient(live_server, token=account.token) as op:
        with pytest.raises(NotFoundError):
            op.citizen(999_999)
        with pytest.raises(ValidationFailedError) as info:
            op.request("POST", "/citizens", json_body={"phones": ["12345"]})
        assert info.value.problems[0].field == "phones.0"
        assert "12345" in info.value.problems[0].message
        citizen = op.create_citizen(CitizenCreate(last_name="Орлов"))
        op.update_citizen(citizen.id, CitizenUpdate(version=1, first_name="Олег"))
        with pytest.raises(ConflictError) as stale:
            op.update_citizen(citizen.id, CitizenUpdate(version=1, first_name="Оскар"))
        assert stale.value.code == "stale_version"


def test_reference_data_revalidates_with_etag(live_server, make_staff):
    account = make_staff(Role.operator)
    with EkcClient(live_server, token=account.token) as client:
        first = client.topics()
        response = client.request(
            "GET", "/topics", headers={"If-None-Match": client._etags["/topics"].etag}
        )
        assert response.status_code == 304
        assert client.topics() == first  # served from the 304 + the body held
        assert response.headers["etag"] == client._etags["/topics"].etag


def test_responses_are_gzip_compressed(live_server, make_staff):
    account = make_staff(Role.operator)
    import httpx

    response = httpx.get(
        live_server + "/api/v1/topics",
        headers={"Authorization": f"Bearer {account.token}", "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(response.content) / 3


def test_unreachable_server_raises_after_retries(tmp_path):
    from tests.localserver import free_port

    settings = ClientSettings(config_dir=tmp_path, retries=1, connect_timeout=0.5)
    with (
        EkcClient(f"http://127.0.0.1:{free_port()}", settings=settings) as client,
        pytest.raises(ServerUnreachableError, match="нет связи"),
    ):
        client.me()


def test_opposite_merges_at_the_same_moment_leave_one_record(live_server, make_staff):
    """Two leads merge the same pair in opposite directions at once: one wins, one gets 409,
    and the loser's record points at the winner (never a cycle, never a lost citizen)."""
    from concurrent.futures import ThreadPoolExecutor

    lead = make_staff(Role.shift_lead)
    with EkcClient(live_server, token=lead.token) as client:
        pairs = []
        for i in range(4):
            first = client.create_citizen(
                CitizenCreate(last_name=f"Дубль{i}", phones=[f"+7914000{i:04d}"])
            )
            second = client.create_citizen(
                CitizenCreate(last_name=f"Дубль{i}", phones=[f"+7924000{i:04d}"])
            )
            pairs.append((first.id, second.id))

    def merge(target: int, source: int) -> int:
        with EkcClient(live_server, token=lead.token) as c:
            try:
                c.request("POST", f"/citizens/{target}/merge", json_body={"source_id": source})
            except ConflictError:
                return 409
            return 200

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [(a, b, pool.submit(merge, a, b), pool.submit(merge, b, a)) for a, b in pairs]
        outcomes = [(a, b, f1.result(), f2.result()) for a, b, f1, f2 in futures]

    with EkcClient(live_server, token=lead.token) as client:
        for a, b, forward, backward in outcomes:
            assert sorted((forward, backward)) == [200, 409]
            winner, loser = (a, b) if forward == 200 else (b, a)
            assert client.citizen(winner).merged_into_id is None
            assert client.citizen(loser).merged_into_id == winner
            assert len(client.citizen(winner).phones) == 2
