"""A small simulated crew of operators for `make run`: each signs in, says it is ready, takes
the oldest waiting contact, talks, ends the call, does its after-call work and wraps up, and
now and then takes a short break, so the wallboard and the reports show life.

Only the HTTP API, through the typed client (`ekc_core.client.EkcClient`), like a console:
`python -m ekc_admin.simulate_crew --server URL operator2 operator3 operator4`. A contact
is left alone for `--hold-back` seconds first, so a person at a real console gets it first.
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.enums import ContactOutcome, ContactStatus
from ekc_core.errors import ApiError, ConflictError, NotFoundError, ServerUnreachableError
from ekc_core.schemas import ContactOffers, ContactPublic, ContactWrapUp

#: mean talk and after-call work of a simulated contact, seconds (the centre's ≈ 3 min,
#: shortened for a demo; `--speed` divides them further)
TALK_SECONDS = 60.0
ACW_SECONDS = 15.0
#: chance of a short break after a contact, and its length
BREAK_CHANCE = 0.08
BREAK_SECONDS = (60.0, 180.0)
_OUTCOMES = [
    (ContactOutcome.consultation, 85),
    (ContactOutcome.callback_needed, 6),
    (ContactOutcome.transferred, 9),
]


class Operator:
    """One simulated operator on its own thread and connection."""

    def __init__(
        self,
        *,
        server: str,
        username: str,
        password: str,
        hold_back: float,
        speed: float,
        seed: int,
        stop: threading.Event,
    ) -> None:
        self.username = username
        self.password = password
        self.hold_back = hold_back
        self.speed = speed
        self.stop = stop
        self.rng = random.Random(f"{seed}-{username}")
        self.client = EkcClient(server, workstation=f"demo-crew-{username}")
        self.presence = True
        self.topics: list[str] = []
        self.handled = 0

    def log(self, text: str) -> None:
        print(f"{datetime.now().strftime('%H:%M:%S')} {self.username}: {text}", flush=True)

    def state(self, state: str, reason: str | None = None) -> None:
        """PUT /agents/me/state as a console's outbox would send it; a backend without the
        presence endpoint (404) is fine: the crew works without it."""
        if not self.presence:
            return
        body = {"state": state, "reason": reason, "at": datetime.now(UTC).isoformat()}
        try:
            self.client.request(
                "PUT", "/agents/me/state", json_body=body, idempotency_key=new_idempotency_key()
            )
        except NotFoundError:
            self.presence = False
        except ApiError as exc:
            self.log(f"состояние {state} не записано: {exc}")

    def pause(self, seconds: float) -> None:
        self.stop.wait(seconds / self.speed)

    def run(self) -> None:
        try:
            self.client.login(self.username, self.password)
            self.topics = [t.code for t in self.client.topics() if t.parent_code is None]
            self.state("ready")
            self.log("на линии")
            shown: ContactOffers | None = None
            while not self.stop.is_set():
                shown = self.client.offers(wait=5.0, shown=shown)
                contact = self.pick(shown)
                if contact is None:
                    self.stop.wait(1.0)
                    continue
                self.work(contact)
                shown = None
                if self.rng.random() < BREAK_CHANCE:
                    self.state("away", "break")
                    self.log("перерыв")
                    self.pause(self.rng.uniform(*BREAK_SECONDS))
                    self.state("ready")
        except ServerUnreachableError:
            self.log("сервер недоступен, выхожу")
        except ApiError as exc:
            self.log(f"ошибка: {exc}")
        finally:
            with contextlib.suppress(ApiError, ServerUnreachableError):
                self.state("offline")
            self.client.close()

    def pick(self, offers: ContactOffers) -> ContactPublic | None:
        """The oldest contact waiting longer than the hold-back."""
        now = datetime.now(UTC)
        waiting = [
            c
            for c in offers.contacts
            if c.status == ContactStatus.queued
            and (now - c.queued_at).total_seconds() >= self.hold_back
        ]
        return min(waiting, key=lambda c: c.queued_at) if waiting else None

    def work(self, contact: ContactPublic) -> None:
        try:
            taken = self.client.take_with_key(contact.id, new_idempotency_key())
        except (ConflictError, NotFoundError):
            return  # somebody else took it, or the caller hung up
        card = taken.contact
        self.log(f"взял контакт {card.id} ({card.channel})")
        talk = self.rng.lognormvariate(math.log(TALK_SECONDS) - 0.18, 0.6)
        self.pause(talk)
        if self.stop.is_set():
            return
        with contextlib.suppress(ConflictError):  # already ended (the caller hung up)
            self.client.end_contact(card.id)
        self.pause(self.rng.uniform(0.5, 1.5) * ACW_SECONDS)
        items, weights = zip(*_OUTCOMES, strict=True)
        outcome = self.rng.choices(items, weights=weights, k=1)[0]
        topic = card.topic_code or self.rng.choice(self.topics)
        self.client.wrap_up(
            card.id,
            ContactWrapUp(topic_code=topic, outcome=outcome, summary="Консультация оказана"),
            idempotency_key=new_idempotency_key(),
        )
        self.handled += 1


def main(
    usernames: Annotated[list[str], typer.Argument(help="Логины операторов смены.")],
    server: Annotated[str, typer.Option(help="Адрес сервера ЕКЦ.")] = "http://127.0.0.1:8122",
    password: Annotated[str, typer.Option(help="Пароль операторов (демо).")] = "oper122",
    hold_back: Annotated[
        float, typer.Option(help="Сколько секунд контакт ждёт человека, прежде чем его возьмут.")
    ] = 8.0,  # under the 20 s of 80/20: the crew keeps the live service level believable
    speed: Annotated[float, typer.Option(help="Ускорение разговоров и перерывов.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Зерно генератора.")] = 122,
) -> None:
    """Имитация смены операторов: берут контакты из очереди, разговаривают, завершают."""
    if speed <= 0:
        raise typer.BadParameter("ускорение больше нуля", param_hint="--speed")
    stop = threading.Event()
    # `make run` ends the crew with SIGTERM: sign everybody out first
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    crew = [
        Operator(
            server=server,
            username=u,
            password=password,
            hold_back=hold_back,
            speed=speed,
            seed=seed,
            stop=stop,
        )
        for u in usernames
    ]
    threads = [threading.Thread(target=o.run, name=o.username, daemon=True) for o in crew]
    for t in threads:
        t.start()
        time.sleep(0.5)  # sign in one after another
    try:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        print(f"Смена окончена: обработано контактов {sum(o.handled for o in crew)}", flush=True)


if __name__ == "__main__":
    typer.run(main)
