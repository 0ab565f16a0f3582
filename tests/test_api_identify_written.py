"""Written contacts identified by the sender (e-mail, messenger id) and Ctrl+G by e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"


def citizen(client: TestClient, who: Any, last: str, **fields: Any) -> dict[str, Any]:
    body = {"last_name": last, "first_name": "Анна", **fields}
    r = client.post(f"{API}/citizens", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def written(client: TestClient, gateway: Any, channel: str, sender: str) -> dict[str, Any]:
    body = {"channel": channel, "sender": sender, "text": "Добрый день! Не вывозят мусор."}
    r = client.post(f"{API}/contacts", json=body, headers=gateway.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def test_an_email_from_an_address_on_file_is_identified(
    client: TestClient, operator: Any, gateway: Any
) -> None:
    anna = citizen(client, operator, "Сидорова", email="Anna.Sidorova@Mail.ru")
    citizen(client, operator, "Петрова", email="petrova@mail.ru")
    for sender in (
        "anna.sidorova@mail.ru",
        " ANNA.SIDOROVA@MAIL.RU ",
        "Анна <anna.sidorova@mail.ru>",
    ):
        assert written(client, gateway, "email", sender)["citizen_id"] == anna["id"], sender
    assert written(client, gateway, "email", "stranger@mail.ru")["citizen_id"] is None


def test_a_message_from_a_messenger_id_on_file_is_identified(
    client: TestClient, operator: Any, gateway: Any
) -> None:
    anna = citizen(client, operator, "Сидорова", messenger_id=" VK.com/id123456 ")
    assert anna["messenger_id"] == "vk.com/id123456"
    assert written(client, gateway, "social", "vk.com/id123456")["citizen_id"] == anna["id"]
    assert written(client, gateway, "social", "vk.com/id654321")["citizen_id"] is None
    assert written(client, gateway, "governor_chat", "tg:@sidorova_a")["citizen_id"] is None
    r = client.patch(
        f"{API}/citizens/{anna['id']}",
        json={"version": anna["version"], "messenger_id": "tg:@Sidorova_A"},
        headers=operator.headers,
    )
    assert r.status_code == 200, r.text
    assert written(client, gateway, "governor_chat", "tg:@sidorova_a")["citizen_id"] == anna["id"]


def test_an_address_two_citizens_share_is_left_to_the_operator(
    client: TestClient, operator: Any, gateway: Any
) -> None:
    first = citizen(client, operator, "Сидорова", email="family@mail.ru", messenger_id="id77")
    second = citizen(client, operator, "Сидоров", email="FAMILY@mail.ru", messenger_id="ID77")
    assert written(client, gateway, "email", "family@mail.ru")["citizen_id"] is None
    assert written(client, gateway, "web_chat", "id77")["citizen_id"] is None
    # Ctrl+G by that address lists both, the operator chooses
    r = client.get(f"{API}/citizens", params={"email": "Family@Mail.ru"}, headers=operator.headers)
    assert r.status_code == 200, r.text
    assert {c["id"] for c in r.json()} == {first["id"], second["id"]}


def test_a_merged_card_does_not_make_an_address_ambiguous(
    client: TestClient, operator: Any, admin: Any, gateway: Any
) -> None:
    kept = citizen(client, operator, "Сидорова", email="anna@mail.ru")
    dup = citizen(client, operator, "Сидорова", email="anna@mail.ru")
    r = client.post(
        f"{API}/citizens/{kept['id']}/merge", json={"source_id": dup["id"]}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert written(client, gateway, "email", "anna@mail.ru")["citizen_id"] == kept["id"]


def test_search_by_email(client: TestClient, operator: Any) -> None:
    anna = citizen(client, operator, "Сидорова", email="anna.sidorova@mail.ru")
    citizen(client, operator, "Петрова", email="petrova@mail.ru")
    r = client.get(
        f"{API}/citizens", params={"email": "ANNA.Sidorova@mail.ru"}, headers=operator.headers
    )
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()] == [anna["id"]]
    r = client.get(
        f"{API}/citizens",
        params={"email": "anna.sidorova@mail.ru", "name": "петрова"},
        headers=operator.headers,
    )
    assert r.json() == []


@pytest.mark.parametrize("bad", ["anna", "vk.com/id1", "a@b"])
def test_search_by_something_that_is_not_an_email_names_the_field(
    client: TestClient, operator: Any, bad: str
) -> None:
    r = client.get(f"{API}/citizens", params={"email": bad}, headers=operator.headers)
    assert r.status_code == 422, r.text
    assert "email" in r.text and "не адрес электронной почты" in r.text


def test_a_blank_messenger_id_is_refused_with_its_field(client: TestClient, operator: Any) -> None:
    r = client.post(
        f"{API}/citizens",
        json={"last_name": "Сидорова", "messenger_id": "vk id 1"},
        headers=operator.headers,
    )
    assert r.status_code == 422, r.text
    assert "messenger_id" in r.text
    only_messenger = {"messenger_id": "tg:@anon_42"}
    r = client.post(f"{API}/citizens", json=only_messenger, headers=operator.headers)
    assert r.status_code == 201, r.text  # a messenger id alone identifies the record
