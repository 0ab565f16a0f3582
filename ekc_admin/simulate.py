"""`ekc-admin simulate contacts`: a stream of inbound contacts posted the way telephony and
the channel gateways post them, with the centre's mix of channels, lines and topics.

For trying the operator console, demos and load tests. Arrivals are a Poisson process;
the same `--seed` gives the same sequence (channels, lines, topics, texts).
"""

from __future__ import annotations

import heapq
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from ekc_admin.context import api_client, err, fail, reporting, settings
from ekc_admin.simulate_arrivals import Arrival, Generator, available_scenarios, known_citizens
from ekc_admin.simulate_mix import CHANNEL_LABELS, HANDOFF_SHARE, LINE_WEIGHTS
from ekc_admin.simulate_options import MIXES, describe, parse_rate, parse_topic, topic_weights
from ekc_core.client import EkcClient
from ekc_core.enums import Channel, Role
from ekc_core.errors import (
    ApiError,
    AuthenticationRequiredError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ServerUnreachableError,
)
from ekc_core.phones import mask_phone
from ekc_core.schemas import ContactPublic

app = typer.Typer(
    help="Имитация работы центра: поток обращений для проверки консоли и нагрузки.",
    no_args_is_help=True,
)

# --- timing ---------------------------------------------------------------------------

#: first pause after a network failure; it doubles up to RETRY_MAX_SECONDS
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
#: arrivals more than this late (after an outage) are not made up in a burst
CATCH_UP_SECONDS = 5.0
#: longest single sleep, so deadlines and Ctrl+C are noticed promptly
MAX_NAP_SECONDS = 0.5


def _sleep(seconds: float) -> None:
    """Indirection so tests can speed up or interrupt waiting."""
    time.sleep(seconds)


# --- the run --------------------------------------------------------------------------


def _mask_sender(sender: str) -> str:
    name, at, domain = sender.partition("@")
    if at and ":" not in name:
        return f"{name[:2]}***@{domain}"
    head = sender[: sender.find(":") + 1] if ":" in sender else sender[:6]
    return f"{head}***"


def _clock() -> str:
    return datetime.now().astimezone().strftime("%H:%M:%S")


@dataclass
class Stats:
    posted: int = 0
    lines: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    """Top-level topic → contacts posted."""
    handoff: int = 0
    known: int = 0
    abandoned: int = 0
    answered: int = 0
    network_failures: int = 0
    rejected: int = 0
    unsent: int = 0


HANG_UP_REPORTERS = frozenset({Role.gateway, Role.shift_lead, Role.admin})
"""Accounts the backend takes a hang-up from (operators are refused with 403)."""


def _warn_no_hang_ups() -> None:
    err.print(
        "[yellow]Сбросы звонков не отправляются:[/] их сообщает шлюз телефонии "
        "или старший смены (войдите под такой учётной записью или укажите --token)"
    )


class Simulation:
    def __init__(
        self,
        client: EkcClient,
        generator: Generator,
        *,
        rate: float,
        gaps: random.Random,
        count: int | None,
        duration: float | None,
        abandon_after: float,
        as_json: bool,
    ) -> None:
        self.client = client
        self.generator = generator
        self.rate = rate
        self.gaps = gaps
        self.count = count
        self.duration = duration
        self.abandon_after = abandon_after
        self.as_json = as_json
        self.stats = Stats()
        self.pending: list[tuple[float, int]] = []  # (abandon deadline, contact id), a heap
        self.started = time.monotonic()
        self.stop_at: float | None = None

    def run(self) -> str:
        """Post until --count, --duration or Ctrl+C; returns why it stopped."""
        self.started = time.monotonic()
        self.stop_at = self.started + self.duration if self.duration is not None else None
        next_at = self.started + self.gaps.expovariate(self.rate)
        try:
            while True:
                if self.count is not None and self.attempted >= self.count:
                    return "count"
                now = time.monotonic()
                if self.stop_at is not None and now >= self.stop_at:
                    return "duration"
                self._abandon_due(now)
                now = time.monotonic()
                if now < next_at:
                    wake = min(
                        next_at,
                        self.pending[0][0] if self.pending else math.inf,
                        self.stop_at if self.stop_at is not None else math.inf,
                    )
                    _sleep(max(0.0, min(wake - now, MAX_NAP_SECONDS)))
                    continue
                self._arrive(self.generator.next())
                next_at += self.gaps.expovariate(self.rate)
                now = time.monotonic()
                if now - next_at > CATCH_UP_SECONDS:  # after an outage: no burst
                    next_at = now
        except KeyboardInterrupt:
            return "interrupt"

    @property
    def attempted(self) -> int:
        return self.stats.posted + self.stats.rejected + self.stats.unsent

    def _past_stop(self) -> bool:
        return self.stop_at is not None and time.monotonic() >= self.stop_at

    def _network_failure(self, what: str, exc: Exception, delay: float) -> None:
        self.stats.network_failures += 1
        err.print(f"[yellow]Сбой связи[/] ({what}): {escape(str(exc))}; повтор через {delay:g} с")

    def _arrive(self, arrival: Arrival) -> None:
        delay = RETRY_BASE_SECONDS
        while True:
            try:
                # a repeat with the same external_id returns the first contact: safe to retry
                contact = self.client.post_contact(arrival.contact)
                break
            except (AuthenticationRequiredError, PermissionDeniedError):
                raise
            except (ServerUnreachableError, ServerError) as exc:
                self._network_failure("отправка обращения", exc, delay)
                left = self.stop_at - time.monotonic() if self.stop_at is not None else delay
                _sleep(max(0.0, min(delay, left)))
                delay = min(RETRY_MAX_SECONDS, delay * 2)
                if self._past_stop():
                    self.stats.unsent += 1
                    return
            except ApiError as exc:
                self.stats.rejected += 1
                err.print(f"[red]Сервер отклонил обращение:[/] {escape(exc.message)}")
                return
        self._count(arrival, contact)
        if contact.channel == Channel.phone and self.abandon_after > 0:
            heapq.heappush(self.pending, (time.monotonic() + self.abandon_after, contact.id))
        self._emit_contact(arrival, contact)

    def _count(self, arrival: Arrival, contact: ContactPublic) -> None:
        stats = self.stats
        stats.posted += 1
        if contact.line is not None:
            stats.lines[contact.line.value] += 1
        else:
            stats.written[contact.channel.value] += 1
        stats.handoff += contact.handoff is not None
        stats.topics[arrival.topic.partition(".")[0]] += 1
        stats.known += arrival.known

    def _abandon_due(self, now: float) -> None:
        while self.pending and self.pending[0][0] <= now:
            _, contact_id = heapq.heappop(self.pending)
            try:
                self.client.abandon_contact(contact_id)
            except ConflictError:
                self.stats.answered += 1  # an operator took it in time
                continue
            except NotFoundError:
                continue
            except PermissionDeniedError:  # an operator's account: only gateways and leads
                self.pending.clear()
                self.abandon_after = 0
                _warn_no_hang_ups()
                return
            except (ServerUnreachableError, ServerError) as exc:
                self._network_failure("сброс звонка", exc, RETRY_BASE_SECONDS)
                heapq.heappush(self.pending, (now + RETRY_BASE_SECONDS, contact_id))
                return
            self.stats.abandoned += 1
            self._emit(
                {"event": "abandoned", "at": _clock(), "id": contact_id},
                f"{_clock()}  №{contact_id:<7} сброшен: не дождался ответа "
                f"за {self.abandon_after:g} с",
            )

    def _emit(self, data: dict[str, Any], text: str) -> None:
        sys.stdout.write((json.dumps(data, ensure_ascii=False) if self.as_json else text) + "\n")
        sys.stdout.flush()

    def _emit_contact(self, arrival: Arrival, contact: ContactPublic) -> None:
        if contact.channel == Channel.phone:
            label = f"{CHANNEL_LABELS[Channel.phone]} {contact.line.value if contact.line else ''}"
            who = mask_phone(contact.caller_number) if contact.caller_number else "номер скрыт"
        else:
            label = CHANNEL_LABELS[contact.channel]
            who = _mask_sender(contact.sender) if contact.sender else "—"
        handoff = contact.handoff
        assistant = f"  помощник: {handoff.detected_emotion}" if handoff else ""
        self._emit(
            {
                "event": "contact",
                "at": _clock(),
                "id": contact.id,
                "channel": contact.channel.value,
                "line": contact.line.value if contact.line else None,
                "caller": who,
                "topic": arrival.topic,
                "handoff": handoff.model_dump(exclude_none=True) if handoff else None,
                "known_citizen": arrival.known,
                "external_id": contact.external_id,
            },
            f"{_clock()}  №{contact.id:<7} {label:<16} {who:<22} {arrival.topic}{assistant}",
        )

    def summary(self, reason: str, seed: int) -> None:
        s = self.stats
        seconds = time.monotonic() - self.started
        calls = sum(s.lines.values())
        waiting = len(self.pending)
        if self.as_json:
            self._emit(
                {
                    "event": "summary",
                    "stopped": reason,
                    "seconds": round(seconds, 1),
                    "posted": s.posted,
                    "calls": dict(s.lines),
                    "written": dict(s.written),
                    "topics": dict(s.topics),
                    "handoff": s.handoff,
                    "known_citizens": s.known,
                    "abandoned": s.abandoned,
                    "answered": s.answered,
                    "waiting": waiting,
                    "network_failures": s.network_failures,
                    "rejected": s.rejected,
                    "unsent": s.unsent,
                    "seed": seed,
                },
                "",
            )
            return
        why = {
            "count": "отправлено заданное число (--count)",
            "duration": "истекло время (--duration)",
            "interrupt": "остановлено (Ctrl+C)",
            "error": "остановлено из-за ошибки",
        }.get(reason, reason)
        lines_text = ", ".join(
            f"линия {line.value} — {s.lines[line.value]}"
            for line, _ in LINE_WEIGHTS
            if s.lines[line.value]
        )
        written_text = ", ".join(
            f"{CHANNEL_LABELS[Channel(k)]} — {v}" for k, v in s.written.most_common()
        )
        rows = [
            f"Итого за {seconds:.1f} с: отправлено обращений {s.posted}; {why}.",
            f"  звонки: {calls}"
            + (f" ({lines_text})" if lines_text else "")
            + f", с голосовым помощником — {s.handoff}",
            f"  письменные: {sum(s.written.values())}"
            + (f" ({written_text})" if written_text else ""),
            "  тематики: " + (", ".join(f"{k} — {v}" for k, v in s.topics.most_common()) or "—"),
            f"  номера и адреса известных граждан: {s.known}",
            f"  сброшены в ожидании: {s.abandoned}, приняты операторами до сброса: {s.answered}, "
            f"ещё ждут: {waiting}",
            f"  сбоев связи: {s.network_failures}, отклонено сервером: {s.rejected}, "
            f"не отправлено: {s.unsent}",
            f"  повторить ту же последовательность: --seed {seed}",
        ]
        self._emit({}, "\n".join(rows))


@contextmanager
def _client(token: str | None, server: str | None) -> Iterator[EkcClient]:
    cfg = settings()
    if token:
        url = (server or cfg.server_url).rstrip("/")
        with reporting(), EkcClient(url, token=token, settings=cfg) as client:
            yield client
    else:
        with api_client(cfg) as client:
            yield client


@app.command("contacts")
def contacts(
    rate: Annotated[
        str,
        typer.Option(
            "--rate",
            "-r",
            help="Интенсивность потока: 6/min, 6 (в минуту), 0.5/s, 120/h.",
        ),
    ],
    count: Annotated[
        int | None, typer.Option("--count", "-n", help="Остановиться после N обращений.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", "-d", help="Остановиться через столько секунд.")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Зерно: с тем же зерном та же последовательность обращений."),
    ] = None,
    abandon_after: Annotated[
        float,
        typer.Option(
            "--abandon-after",
            help="Через столько секунд ожидания звонящий кладёт трубку (0 — никогда).",
        ),
    ] = 90.0,
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            help="Поток по тематике: svo=45 (вес), svo.contract=10, svo (вес 1); "
            "можно несколько. Вместе с --mix меняет вес названной тематики (0 — без неё).",
        ),
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option(
            "--mix",
            help="Готовая смесь тематик: " + "; ".join(f"{k} — {v[0]}" for k, v in MIXES.items()),
        ),
    ] = None,
    handoff_share: Annotated[
        float,
        typer.Option(
            "--handoff-share",
            help="Доля звонков через голосового помощника (с тематикой), от 0 до 1; "
            "1 — тематика у каждого звонка.",
        ),
    ] = HANDOFF_SHARE,
    as_json: Annotated[
        bool, typer.Option("--json", help="Вывод JSON Lines: событие на строку, итог в конце.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="EKC_TOKEN",
            help="Токен API (например, шлюза телефонии) вместо сохранённого входа.",
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server", "-s", help="Адрес сервера для --token (по умолчанию EKC_SERVER_URL)."
        ),
    ] = None,
) -> None:
    """Post inbound contacts the way telephony and the channel gateways do.

    Calls (85 %: line 122 ~80 %, 117 ~20 %, half with the voice assistant's transcript)
    and written messages with the centre's topic mix, or the topic stream of --mix and
    --topic (an SVO surge: --mix svo-surge or --topic svo=70); arrivals are a Poisson process.
    Calls still waiting after --abandon-after seconds are reported abandoned. One line per
    contact on stdout and a summary at the end; network failures are retried.
    """
    try:
        per_second = parse_rate(rate)
    except ValueError as exc:
        fail(f"неверное значение --rate «{rate}»: {exc}; примеры: 6/min, 6, 0.5/s, 120/h", 2)
    if count is not None and count < 1:
        fail(f"неверное значение --count {count}: нужно целое число от 1", 2)
    if duration is not None and not duration > 0:
        fail(f"неверное значение --duration {duration:g}: нужно больше нуля секунд", 2)
    if not abandon_after >= 0:
        fail(f"неверное значение --abandon-after {abandon_after:g}: нужно 0 или больше", 2)
    if not 0 <= handoff_share <= 1:
        fail(f"неверное значение --handoff-share {handoff_share:g}: нужна доля от 0 до 1", 2)
    try:
        weights = topic_weights(mix, topic or [])
    except ValueError as exc:
        option, raw, why = exc.args
        fail(f"неверное значение {option} «{raw}»: {why}", 2)
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)

    with _client(token, server) as client:
        topics = client.topics()
        codes = {t.code for t in topics if t.active}
        scenarios = available_scenarios(codes)
        if weights is not None and mix is not None:
            named = {parse_topic(raw)[0] for raw in topic or []}
            weights = {k: w for k, w in weights.items() if k in named or k in scenarios}
        if not scenarios or weights == {}:
            fail("в справочнике тематик сервера нет ни одной тематики имитации")
        known = known_citizens(client, random.Random(f"{seed}:citizens"))
        if known is None:
            err.print(
                "Поиск граждан этой учётной записи недоступен: все номера будут новыми.",
                style="dim",
            )
            known = []
        else:
            err.print(
                f"Номера известных граждан: {len(known)} (из карточек; просмотры записаны "
                f"в журнал аудита).",
                style="dim",
            )
        limits = [f"--count {count}"] if count is not None else []
        limits += [f"--duration {duration:g} с"] if duration is not None else []
        err.print(
            f"Имитация: {per_second * 60:g} в минуту, зерно {seed}"
            + (f", до {' и '.join(limits)}" if limits else "")
            + (f"; тематики: {describe(weights)}" if weights else "")
            + "; Ctrl+C — остановить.",
            style="dim",
        )
        if abandon_after > 0 and client.me().role not in HANG_UP_REPORTERS:
            _warn_no_hang_ups()
            abandon_after = 0
        try:
            generator = Generator(
                seed=seed,
                scenarios=scenarios,
                known=known,
                top_codes={t.code for t in topics if t.active and t.parent_code is None},
                weights=weights,
                handoff_share=handoff_share,
            )
        except KeyError as exc:  # named by --topic (a mix's retired topics are left out)
            fail(f"--topic: тематики «{exc.args[0]}» нет среди действующих тематик сервера")
        simulation = Simulation(
            client,
            generator,
            rate=per_second,
            gaps=random.Random(f"{seed}:arrivals"),
            count=count,
            duration=duration,
            abandon_after=abandon_after,
            as_json=as_json,
        )
        reason = "error"
        try:
            reason = simulation.run()
        finally:
            simulation.summary(reason, seed)
