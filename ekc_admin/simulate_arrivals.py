"""What a gateway would send: `ekc-admin simulate` draws arrivals (calls with or without the
voice assistant's hand-off, written messages) from the centre's mix, reusing the numbers and
e-mails of some citizens already known to the server."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from ekc_admin.simulate_mix import (
    AREA_CODES,
    ASSISTANT_TOP_LEVEL_SHARE,
    CLOSINGS,
    EMOTIONS,
    GREETINGS,
    HANDOFF_SHARE,
    HIDDEN_NUMBER_SHARE,
    KNOWN_CALLER_SHARE,
    LINE_WEIGHTS,
    LOGINS,
    MAIL_DOMAINS,
    MOBILE_PREFIXES,
    MOBILE_SHARE,
    PHONE_SHARE,
    SCENARIOS,
    TOPIC_WEIGHTS,
    WRITTEN_WEIGHTS,
)
from ekc_core.client import EkcClient
from ekc_core.enums import Channel
from ekc_core.errors import NotFoundError, PermissionDeniedError
from ekc_core.schemas import ContactInbound, Handoff

T = TypeVar("T")


#: how many known citizens' numbers to borrow (each card opened is an audited view)
KNOWN_CITIZENS = 30
#: name prefixes searched for known citizens (common first letters of Russian surnames)
CITIZEN_SEARCH_PREFIXES = ("к", "с", "п", "м")


def _weighted(rng: random.Random, items: Sequence[tuple[T, float]]) -> T:
    return rng.choices([item for item, _ in items], weights=[w for _, w in items])[0]


# --- what a gateway would send --------------------------------------------------------


@dataclass(frozen=True)
class KnownCitizen:
    phones: list[str]
    email: str | None


@dataclass(frozen=True)
class Arrival:
    contact: ContactInbound
    topic: str
    known: bool


def written_number(rng: random.Random, e164: str) -> str:
    """The number the way some telephony writes it: "8 (3952) 12-34-56", "+79025551234"…"""
    if not (e164.startswith("+7") and len(e164) == 12):
        return e164  # not a Russian number: sent as stored
    nsn = e164.removeprefix("+7")
    area_len = (
        3
        if nsn.startswith("9")
        else max((len(code) for code, _ in AREA_CODES if nsn.startswith(code)), default=4)
    )
    area, local = nsn[:area_len], nsn[area_len:]
    grouped = (
        f"{local[:-4]}-{local[-4:-2]}-{local[-2:]}"
        if len(local) > 4
        else f"{local[:-2]}-{local[-2:]}"
    )
    forms = (
        f"+7{nsn}",
        f"8{nsn}",
        f"8 ({area}) {grouped}",
        f"+7 ({area}) {grouped}",
        f"+7 {area} {local}",
        f"7{nsn}",
    )
    return rng.choice(forms)


def new_number(rng: random.Random) -> str:
    """A plausible Irkutsk-region number in E.164: a mobile or a landline."""
    if rng.random() < MOBILE_SHARE:
        nsn = rng.choice(MOBILE_PREFIXES) + "".join(str(rng.randrange(10)) for _ in range(7))
    else:
        code = _weighted(rng, AREA_CODES)
        rest = 10 - len(code)
        nsn = (
            code + str(rng.randint(2, 7)) + "".join(str(rng.randrange(10)) for _ in range(rest - 1))
        )
    return f"+7{nsn}"


class Generator:
    """Draws arrivals. Channels, lines, topics and texts come from one stream seeded by
    `seed`, numbers from another, so the mix does not depend on the server's citizens."""

    def __init__(
        self,
        *,
        seed: int,
        scenarios: dict[str, list[tuple[str, str]]],
        known: list[KnownCitizen],
        top_codes: set[str],
        weights: dict[str, float] | None = None,
        handoff_share: float = HANDOFF_SHARE,
    ) -> None:
        self.mix = random.Random(f"{seed}:mix")
        self.numbers = random.Random(f"{seed}:numbers")
        self.streams = topic_streams(scenarios, weights)
        self.topic_weights = [(key, weight) for key, (weight, _) in self.streams.items()]
        self.known = known
        self.known_emails = [c.email for c in known if c.email]
        self.top_codes = top_codes
        self.handoff_share = handoff_share

    def next(self) -> Arrival:
        key = _weighted(self.mix, self.topic_weights)
        code, speech = self.mix.choice(self.streams[key][1])
        top = key.partition(".")[0]
        reuse = self.mix.random() < KNOWN_CALLER_SHARE
        external_id = f"sim-{uuid.uuid4()}"  # unique across runs, even with the same seed
        if self.mix.random() < PHONE_SHARE:
            return self._call(code, top, speech, reuse, external_id)
        return self._message(code, speech, reuse, external_id)

    def _call(self, code: str, top: str, speech: str, reuse: bool, external_id: str) -> Arrival:
        line = _weighted(self.mix, LINE_WEIGHTS)
        hidden = self.mix.random() < HIDDEN_NUMBER_SHARE
        handoff = None
        if self.mix.random() < self.handoff_share:
            greeting = self.mix.choice(GREETINGS)
            detected = (
                top
                if top in self.top_codes and self.mix.random() < ASSISTANT_TOP_LEVEL_SHARE
                else code
            )
            handoff = Handoff(
                transcript=f"{greeting} {speech}".strip(),
                detected_topic=detected,
                detected_emotion=self.mix.choice(EMOTIONS),
            )
        known = False
        if hidden:
            number = "anonymous"
        elif reuse and self.known:
            citizen = self.numbers.choice(self.known)
            number = written_number(self.numbers, self.numbers.choice(citizen.phones))
            known = True
        else:
            number = written_number(self.numbers, new_number(self.numbers))
        contact = ContactInbound(
            channel=Channel.phone,
            line=line,
            caller_number=number,
            external_id=external_id,
            handoff=handoff,
        )
        return Arrival(contact=contact, topic=code, known=known)

    def _message(self, code: str, speech: str, reuse: bool, external_id: str) -> Arrival:
        channel = _weighted(self.mix, WRITTEN_WEIGHTS)
        closing = self.mix.choice(CLOSINGS)
        text = f"Добрый день! {speech} {closing}".strip()
        known = False
        rng = self.numbers
        if channel == Channel.email and reuse and self.known_emails:
            sender = rng.choice(self.known_emails)
            known = True
        elif channel == Channel.email:
            sender = f"{rng.choice(LOGINS)}{rng.randint(1, 9999)}@{rng.choice(MAIL_DOMAINS)}"
        elif channel == Channel.social:
            sender = rng.choice(
                (
                    f"vk.com/id{rng.randint(10**7, 10**9)}",
                    f"ok.ru/profile/{rng.randint(10**11, 10**12)}",
                )
            )
        elif channel == Channel.pos:
            sender = f"pos:{rng.randint(10**7, 10**8 - 1)}"
        elif channel == Channel.governor_chat:
            sender = f"tg:@{rng.choice(LOGINS)}_{rng.randint(10, 999)}"
        else:
            sender = f"web-chat:{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
        contact = ContactInbound(channel=channel, sender=sender, text=text, external_id=external_id)
        return Arrival(contact=contact, topic=code, known=known)


def topic_streams(
    scenarios: dict[str, list[tuple[str, str]]], weights: dict[str, float] | None
) -> dict[str, tuple[float, list[tuple[str, str]]]]:
    """Stream key → (weight, scenarios) from `available_scenarios`. Without `weights` every
    top-level topic at the centre's weight; a key of `weights` is a top-level topic (all of
    its scenarios) or a sub-topic (its own). KeyError names a topic the server lacks."""
    if weights is None:
        return {top: (TOPIC_WEIGHTS.get(top, 0.5), items) for top, items in scenarios.items()}
    streams: dict[str, tuple[float, list[tuple[str, str]]]] = {}
    for key, weight in weights.items():
        items = scenarios.get(key.partition(".")[0], [])
        if "." in key:
            items = [(code, speech) for code, speech in items if code == key]
        if not items:
            raise KeyError(key)
        streams[key] = (weight, items)
    return streams


def available_scenarios(topic_codes: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Scenarios whose topic the server knows (a retired sub-topic falls back to its parent)."""
    result: dict[str, list[tuple[str, str]]] = {}
    for top, items in SCENARIOS.items():
        for code, speech in items:
            if code in topic_codes:
                result.setdefault(top, []).append((code, speech))
            elif top in topic_codes:
                result.setdefault(top, []).append((top, speech))
    return result


def known_citizens(client: EkcClient, rng: random.Random) -> list[KnownCitizen] | None:
    """Numbers (and e-mails) of some citizens already in the database, from their cards;
    None when this account may not search citizens (a gateway)."""
    ids: list[int] = []
    try:
        for prefix in CITIZEN_SEARCH_PREFIXES:
            for item in client.find_citizens(name=prefix, limit=100):
                if item.merged_into_id is None and item.phones_masked and item.id not in ids:
                    ids.append(item.id)
    except PermissionDeniedError:
        return None
    result = []
    for citizen_id in rng.sample(ids, min(KNOWN_CITIZENS, len(ids))):
        try:
            card = client.citizen(citizen_id)
        except (NotFoundError, PermissionDeniedError):
            continue
        if card.phones and not card.anonymised:
            result.append(KnownCitizen(phones=card.phones, email=card.email))
    return result
