"""Auth: login, tokens (session and personal), `GET /me`, role checks of service accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.models import ApiToken, AuditLog, Staff
from ekc_server.security import SESSION_PREFIX, new_token, token_digest

API = "/api/v1"
PASSWORD = "верный-пароль-122"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def assert_401(r, fragment: str) -> None:
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["code"] == "unauthorized"
    assert fragment in body["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_login_then_me(client: TestClient, make_staff) -> None:
    account = make_staff(
        Role.operator, username="ivanova", password=PASSWORD, skills=["svo", "medicine"]
    )
    before = datetime.now(UTC)
    r = client.post(f"{API}/auth/token", json={"username": "ivanova", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith(SESSION_PREFIX)
    expires = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(hours=11) < expires < before + timedelta(hours=13)

    me = client.get(f"{API}/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": account.id,
        "username": "ivanova",
        "full_name": "Тестовый ivanova",
        "role": "operator",
        "office_code": "ekc_irkutsk",
        "skills": ["svo", "medicine"],
        "active": True,
    }


def test_wrong_password_and_unknown_user_get_the_same_401(client: TestClient, make_staff) -> None:
    make_staff(Role.operator, username="petrov", password=PASSWORD)
    wrong = client.post(f"{API}/auth/token", json={"username": "petrov", "password": "нет"})
    unknown = client.post(f"{API}/auth/token", json={"username": "nobody", "password": "нет"})
    assert_401(wrong, "Неверное имя пользователя или пароль")
    assert wrong.json() == unknown.json()


def test_account_without_password_cannot_log_in(client: TestClient, gateway) -> None:
    r = client.post(f"{API}/auth/token", json={"username": gateway.username, "password": "x"})
    assert_401(r, "Неверное имя пользователя или пароль")


def test_empty_login_fields_are_422(client: TestClient) -> None:
    r = client.post(f"{API}/auth/token", json={"username": "", "password": ""})
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert locs == {("body", "username"), ("body", "password")}


def test_no_token_or_unknown_token_is_401(client: TestClient) -> None:
    assert_401(client.get(f"{API}/me"), "Требуется вход")
    assert_401(client.get(f"{API}/me", headers=bearer("ekcs_made-up")), "не найден")
    assert_401(
        client.get(f"{API}/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), "Требуется вход"
    )


def test_logout_revokes_the_token(client: TestClient, make_staff) -> None:
    make_staff(Role.operator, username="sidorov", password=PASSWORD)
    token = login(client, "sidorov")
    other = login(client, "sidorov")  # a second session on another workstation
    r = client.post(f"{API}/auth/logout", headers=bearer(token))
    assert r.status_code == 204
    assert r.content == b""
    assert_401(client.get(f"{API}/me", headers=bearer(token)), "отозван")
    assert client.get(f"{API}/me", headers=bearer(other)).status_code == 200


def test_expired_token_is_401(client: TestClient, engine: Engine, operator) -> None:
    token = new_token(SESSION_PREFIX)
    with Session(engine) as session:
        session.add(
            ApiToken(
                staff_id=operator.id,
                kind="session",
                name="old",
                token_hash=token_digest(token),
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
        session.commit()
    assert_401(client.get(f"{API}/me", headers=bearer(token)), "истёк")


def test_disabled_account_is_401(client: TestClient, engine: Engine, operator) -> None:
    with Session(engine) as session:
        staff = session.get(Staff, operator.id)
        assert staff is not None
        staff.active = False
        session.add(staff)
        session.commit()
    assert_401(client.get(f"{API}/me", headers=operator.headers), "отключена")


def test_token_use_is_recorded(client: TestClient, engine: Engine, operator) -> None:
    assert client.get(f"{API}/me", headers=operator.headers).status_code == 200
    with Session(engine) as session:
        token = session.exec(select(ApiToken).where(ApiToken.staff_id == operator.id)).one()
        assert token.last_used_at is not None
        assert datetime.now(UTC) - token.last_used_at < timedelta(minutes=1)


# --- personal API tokens --------------------------------------------------------------


def audit_actions(engine: Engine, action: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


def test_admin_own_token_is_shown_once_listed_revoked_and_expires(
    client: TestClient, engine: Engine, admin
) -> None:
    r = client.post(f"{API}/tokens", json={"name": "скрипт отчётов"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["token"]
    assert secret.startswith("ekcp_")
    assert created["staff_id"] == admin.id
    assert created["kind"] == "personal"
    assert created["name"] == "скрипт отчётов"
    expires = datetime.fromisoformat(created["expires_at"])  # 30 days by default
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    assert client.get(f"{API}/me", headers=bearer(secret)).json()["username"] == "admin"

    listed = client.get(f"{API}/tokens", headers=admin.headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [created["id"]]
    assert "token" not in listed.json()[0]  # the secret is never shown again
    assert listed.json()[0]["revoked_at"] is None

    r = client.delete(f"{API}/tokens/{created['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert_401(client.get(f"{API}/me", headers=bearer(secret)), "отозван")
    assert client.get(f"{API}/tokens", headers=admin.headers).json()[0]["revoked_at"]
    (issued,) = audit_actions(engine, "issue_token")
    assert issued.staff_id == admin.id
    assert issued.details == {"token_id": created["id"], "username": "admin", "days": 30}
    (revoked,) = audit_actions(engine, "revoke_token")
    assert revoked.details == {"token_id": created["id"], "staff_id": admin.id}


def test_admin_own_token_is_no_longer_than_the_configured_maximum(
    client: TestClient, admin
) -> None:
    r = client.post(
        f"{API}/tokens", json={"name": "x", "expires_in_days": 7}, headers=admin.headers
    )
    assert r.status_code == 201, r.text
    expires = datetime.fromisoformat(r.json()["expires_at"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)
    r = client.post(
        f"{API}/tokens", json={"name": "x", "expires_in_days": 31}, headers=admin.headers
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "expires_in_days"]
    assert "30" in r.json()["detail"][0]["msg"]


def test_only_admins_issue_tokens(
    client: TestClient, engine: Engine, operator, lead, gateway
) -> None:
    for account in (operator, lead, gateway):
        for body in ({"name": "мой"}, {"name": "чужой", "staff_id": gateway.id}):
            r = client.post(f"{API}/tokens", json=body, headers=account.headers)
            assert r.status_code == 403, (account.username, r.text)
            assert r.json()["code"] == "forbidden"
            assert "admin" in r.json()["detail"]
    with Session(engine) as session:
        assert session.exec(select(ApiToken).where(ApiToken.kind == "personal")).all() == []


def test_admin_issues_tokens_only_to_gateways(
    client: TestClient, admin, operator, lead, make_staff
) -> None:
    for body, field in (
        ({"name": "x", "staff_id": operator.id}, "staff_id"),
        ({"name": "x", "username": "lead"}, "username"),
        ({"name": "x", "username": make_staff(Role.admin).username}, "username"),
    ):
        r = client.post(f"{API}/tokens", json=body, headers=admin.headers)
        assert r.status_code == 422, r.text
        problem = r.json()["detail"][0]
        assert problem["loc"] == ["body", field]
        assert "шлюза" in problem["msg"]
    assert client.get(f"{API}/tokens", headers=admin.headers).json() == []


def test_no_token_for_a_disabled_gateway(client: TestClient, engine: Engine, admin) -> None:
    old = make_gateway(engine, "old-pbx", active=False)
    r = client.post(f"{API}/tokens", json={"name": "x", "staff_id": old}, headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    assert "отключена" in r.json()["detail"][0]["msg"]


def make_gateway(engine: Engine, username: str, *, active: bool = True) -> int:
    with Session(engine) as session:
        staff = Staff(username=username, full_name=username, role="gateway", active=active)
        session.add(staff)
        session.commit()
        assert staff.id is not None
        return staff.id


def test_tokens_are_private_to_their_owner(
    client: TestClient, operator, gateway, make_staff, admin
) -> None:
    r = client.post(
        f"{API}/tokens", json={"name": "АТС", "username": gateway.username}, headers=admin.headers
    )
    token_id = r.json()["id"]
    assert client.get(f"{API}/tokens", headers=operator.headers).json() == []
    r = client.delete(f"{API}/tokens/{token_id}", headers=operator.headers)
    assert r.status_code == 403
    assert [t["id"] for t in client.get(f"{API}/tokens", headers=gateway.headers).json()] == [
        token_id
    ]
    assert [t["id"] for t in client.get(f"{API}/tokens", headers=admin.headers).json()] == [
        token_id
    ]
    r = client.delete(f"{API}/tokens/999999", headers=operator.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_admin_issues_a_gateway_token_that_posts_contacts_only(
    client: TestClient, admin, gateway
) -> None:
    r = client.post(
        f"{API}/tokens",
        json={"name": "АТС линии 122", "staff_id": gateway.id},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["staff_id"] == gateway.id
    expires = datetime.fromisoformat(r.json()["expires_at"])  # a year by default
    assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)
    headers = bearer(r.json()["token"])
    assert client.get(f"{API}/me", headers=headers).json()["role"] == "gateway"

    posted = client.post(
        f"{API}/contacts",
        headers=headers,
        json={
            "channel": "phone",
            "line": "122",
            "caller_number": "8 (3952) 12-34-56",
            "external_id": "call-1",
        },
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["status"] == "queued"

    for method, path in [
        ("GET", "/citizens?phone=83952123456"),
        ("GET", "/contacts/queue"),
        ("GET", f"/contacts/{posted.json()['id']}"),
        ("GET", "/appeals"),
        ("GET", "/callbacks"),
    ]:
        r = client.request(method, f"{API}{path}", headers=headers)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["code"] == "forbidden"


def test_admin_token_for_unknown_account_is_422(client: TestClient, admin) -> None:
    r = client.post(f"{API}/tokens", json={"name": "x", "staff_id": 999999}, headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    assert "999999" in r.json()["detail"][0]["msg"]
