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
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from ekc_admin.context import api_client, err, fail, reporting, settings
from ekc_core.client import EkcClient
from ekc_core.enums import Channel, Line
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
from ekc_core.reference_data import INBOUND_TOPIC_WEIGHTS
from ekc_core.schemas import ContactInbound, ContactPublic, Handoff

app = typer.Typer(
    help="Имитация работы центра: поток обращений для проверки консоли и нагрузки.",
    no_args_is_help=True,
)

T = TypeVar("T")

# --- the centre's mix (product brief, section 1) --------------------------------------

PHONE_SHARE = 0.85
LINE_WEIGHTS: tuple[tuple[Line, float], ...] = ((Line.l122, 80), (Line.l117, 20))
WRITTEN_WEIGHTS: tuple[tuple[Channel, float], ...] = (
    (Channel.social, 35),
    (Channel.pos, 25),
    (Channel.governor_chat, 15),
    (Channel.web_chat, 15),
    (Channel.email, 10),
)
#: callers whose number a known citizen already has (the rest are new numbers)
KNOWN_CALLER_SHARE = 0.6
#: calls that come through the voice assistant with a transcript
HANDOFF_SHARE = 0.5
#: calls whose number telephony could not read ("anonymous")
HIDDEN_NUMBER_SHARE = 0.02
#: the assistant names the top-level topic instead of the sub-topic this often
ASSISTANT_TOP_LEVEL_SHARE = 0.25
EMOTIONS = ("спокойствие", "тревога", "раздражение", "растерянность")

TOPIC_WEIGHTS = INBOUND_TOPIC_WEIGHTS

#: what callers say, per top-level topic: (sub-topic code, one or two sentences)
SCENARIOS: dict[str, tuple[tuple[str, str], ...]] = {
    "svo": (
        (
            "svo.contract",
            "Хочу заключить контракт на военную службу. Какие документы нужны и куда подойти?",
        ),
        (
            "svo.contract",
            "Сын собирается подписать контракт. Подскажите, где в Иркутске пункт отбора "
            "и как туда записаться?",
        ),
        ("svo.contract", "Мне сорок семь лет, меня возьмут на службу по контракту?"),
        (
            "svo.one_time_payments",
            "Муж подписал контракт месяц назад, а региональную единовременную выплату "
            "так и не перечислили. Куда обращаться?",
        ),
        (
            "svo.family_payments",
            "Я жена участника СВО. Ежемесячная выплата за этот месяц не пришла, когда её ждать?",
        ),
        (
            "svo.family_benefits",
            "Муж на СВО, нам положено место в детском саду вне очереди. "
            "А в садике говорят, что мест нет.",
        ),
        (
            "svo.family_benefits",
            "Как семье участника СВО получить земельный участок бесплатно?",
        ),
        (
            "svo.serviceman_status",
            "Третью неделю нет связи с сыном, он на контракте. "
            "Куда обратиться, чтобы узнать, что с ним?",
        ),
        (
            "svo.veteran_status",
            "Вернулся после ранения. Как оформить удостоверение ветерана боевых действий?",
        ),
        (
            "svo.mobilized",
            "Брат мобилизован, ему положен отпуск, а его не отпускают. Куда можно написать?",
        ),
        (
            "svo.rehabilitation",
            "Муж после ранения, нужна путёвка в санаторий на реабилитацию. С чего начать?",
        ),
        (
            "svo.social_coordinator",
            "Как связаться с социальным координатором фонда «Защитники Отечества»? "
            "Нужна помощь с документами.",
        ),
        (
            "svo.humanitarian_aid",
            "Мы собрали гуманитарную помощь для бойцов. Куда её можно привезти в Иркутске?",
        ),
    ),
    "medicine": (
        (
            "medicine.appointment",
            "Не могу записаться к терапевту, в поликлинике нет талонов на две недели вперёд.",
        ),
        (
            "medicine.free_medicines",
            "В аптеке уже неделю нет льготного инсулина по рецепту. Где его получить?",
        ),
        (
            "medicine.ambulance",
            "Вызывали скорую пожилой маме, ехали полтора часа. Хочу пожаловаться.",
        ),
        (
            "medicine.oms_policy",
            "Как оформить полис ОМС новорождённому и прикрепить его к поликлинике?",
        ),
        (
            "medicine.disability_mse",
            "Инвалидность заканчивается через месяц, а направление на МСЭ врач не выдаёт.",
        ),
        (
            "medicine.dental",
            "В районной больнице нет стоматолога, у ребёнка болит зуб. Куда нам ехать?",
        ),
    ),
    "social": (
        (
            "social.child_benefits",
            "Не пришло единое пособие на ребёнка, в личном кабинете написано «отказ». Почему?",
        ),
        (
            "social.large_families",
            "Как получить удостоверение многодетной семьи? Третий ребёнок родился в марте.",
        ),
        ("social.pensions", "Почему мне не пересчитали пенсию после увольнения?"),
        (
            "social.utility_subsidies",
            "Перестали начислять субсидию на оплату коммунальных услуг, никто ничего не объяснил.",
        ),
        (
            "social.home_services",
            "Маме восемьдесят пять лет, живёт одна. Нужен социальный работник на дому.",
        ),
        (
            "social.disability_support",
            "Инвалиду второй группы уже три месяца не выдают кресло-коляску.",
        ),
    ),
    "housing": (
        (
            "housing.tko",
            "Третий день не вывозят мусор с контейнерной площадки, всё переполнено.",
        ),
        (
            "housing.heating",
            "В квартире второй день холодные батареи, а дома маленький ребёнок.",
        ),
        (
            "housing.water",
            "С утра во всём доме нет холодной воды, управляющая компания трубку не берёт.",
        ),
        ("housing.electricity", "На нашей улице с ночи нет света. Когда дадут?"),
        (
            "housing.recalculation",
            "Неделю не было горячей воды, а в квитанции начислили полностью. "
            "Как сделать перерасчёт?",
        ),
        (
            "housing.snow_ice",
            "Над входом в подъезд висят огромные сосульки, управляющая компания не убирает.",
        ),
        (
            "housing.management_company",
            "Управляющая компания месяц не реагирует на протечку крыши.",
        ),
    ),
    "transport": (
        (
            "transport.public_transport",
            "Утром автобус по нашему маршруту не вышел на рейс, люди час ждали на остановке.",
        ),
        (
            "transport.roads_repair",
            "На региональной дороге огромная яма, я пробил колесо. Кто отвечает за ремонт?",
        ),
        ("transport.travel_cards", "Как пенсионеру оформить социальную транспортную карту?"),
    ),
    "emergency": (
        (
            "emergency.wildfires",
            "Сильно пахнет дымом, говорят, горит лес недалеко от посёлка. Есть опасность?",
        ),
        ("emergency.flood", "Двор подтопило талыми водами, вода подходит к дому."),
    ),
    "psych": (
        (
            "psych.anxiety",
            "Мне очень тревожно последние недели, не могу спать. Можно поговорить с психологом?",
        ),
        (
            "psych.svo_families",
            "Муж вернулся с СВО, ему тяжело. Нужна помощь психолога для всей семьи.",
        ),
    ),
    "commercial": (
        ("commercial.banks", "Банк заблокировал карту и не объясняет причину."),
        (
            "commercial.pharmacies",
            "В аптеках района нет нужного лекарства. Где его можно найти?",
        ),
    ),
    "rights": (
        (
            "rights.fssp_debts",
            "Приставы списали деньги с карты, на которую приходит пенсия. Это законно?",
        ),
        ("rights.free_legal_aid", "Где можно получить бесплатную юридическую консультацию?"),
    ),
    "education": (
        (
            "education.kindergarten_queue",
            "Как узнать нашу очередь в детский сад? Стоим уже два года.",
        ),
        (
            "education.school_transport",
            "Школьный автобус не ходит вторую неделю, детям не на чем добираться до школы.",
        ),
    ),
    "environment": (
        (
            "environment.stray_animals",
            "Во дворе стая бездомных собак, бросаются на детей.",
        ),
        ("environment.illegal_dumps", "За гаражами устроили свалку. Куда об этом сообщить?"),
    ),
    "labour": (
        (
            "labour.wage_arrears",
            "Работодатель второй месяц не платит зарплату. Куда жаловаться?",
        ),
        ("labour.unemployment", "Меня сократили. Как встать на учёт в центр занятости?"),
    ),
    "communications": (
        (
            "communications.mobile_coverage",
            "В нашей деревне совсем нет мобильной связи, даже скорую не вызвать.",
        ),
        ("communications.village_internet", "Когда в наш посёлок проведут интернет?"),
    ),
    "local_gov": (
        (
            "local_gov.street_lighting",
            "На улице месяц не горят фонари, вечером темно и опасно.",
        ),
        ("local_gov.land_plots", "Как многодетной семье получить земельный участок?"),
    ),
    "culture": (
        ("culture.pushkin_card", "Как оформить Пушкинскую карту школьнику?"),
        ("culture.sport_sections", "Где в районе есть бесплатные спортивные секции для детей?"),
    ),
    "business": (
        (
            "business.self_employed",
            "Как зарегистрироваться самозанятым и какой налог придётся платить?",
        ),
        ("business.sme", "Какие гранты есть для малого бизнеса в области?"),
    ),
    "mfc": (
        (
            "mfc.service_status",
            "Сдавал документы в МФЦ две недели назад. Как узнать, готовы ли они?",
        ),
        ("mfc.appointment", "Как записаться на приём в МФЦ на ближайшую неделю?"),
    ),
}

GREETINGS = ("Здравствуйте.", "Добрый день.", "Алло, здравствуйте.", "")
CLOSINGS = ("Прошу помочь.", "Заранее спасибо.", "Жду ответа.", "Прошу разобраться.", "")

#: Irkutsk region area codes (Irkutsk first: most calls) and mobile prefixes
AREA_CODES: tuple[tuple[str, float], ...] = (
    ("3952", 60),  # Иркутск
    ("3955", 8),  # Ангарск
    ("3953", 8),  # Братск
    ("39543", 4),  # Усолье-Сибирское
    ("39550", 3),  # Шелехов
    ("39546", 3),  # Черемхово
    ("39535", 3),  # Усть-Илимск
    ("39530", 3),  # Тулун
    ("39563", 3),  # Тайшет
    ("39561", 2),  # Бодайбо
    ("39568", 1),  # Киренск
    ("39569", 1),  # Мама
    ("39560", 1),  # Ербогачён
)
MOBILE_PREFIXES = ("902", "904", "908", "914", "924", "950", "952", "964", "983", "999")
MOBILE_SHARE = 0.65
LOGINS = (
    "ivanova",
    "petrov",
    "smirnova",
    "kuznetsov",
    "sergey",
    "olga",
    "natalia",
    "andrey",
    "elena",
    "dmitry",
    "irina",
    "baikal",
    "sibir",
)
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "bk.ru", "inbox.ru", "gmail.com", "list.ru")

CHANNEL_LABELS = {
    Channel.phone: "звонок",
    Channel.social: "соцсети",
    Channel.pos: "ПОС",
    Channel.governor_chat: "чат губернатора",
    Channel.web_chat: "чат сайта",
    Channel.email: "e-mail",
    Channel.video: "видео",
}

# --- limits and timing ----------------------------------------------------------------

#: faster than this is a load test of the simulator itself, not of the centre
MAX_RATE_PER_SECOND = 100.0
RATE_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "с": 1.0,
    "сек": 1.0,
    "m": 60.0,
    "min": 60.0,
    "мин": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "ч": 3600.0,
}
#: first pause after a network failure; it doubles up to RETRY_MAX_SECONDS
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
#: arrivals more than this late (after an outage) are not made up in a burst
CATCH_UP_SECONDS = 5.0
#: longest single sleep, so deadlines and Ctrl+C are noticed promptly
MAX_NAP_SECONDS = 0.5
#: how many known citizens' numbers to borrow (each card opened is an audited view)
KNOWN_CITIZENS = 30
#: name prefixes searched for known citizens (common first letters of Russian surnames)
CITIZEN_SEARCH_PREFIXES = ("к", "с", "п", "м")


def _sleep(seconds: float) -> None:
    """Indirection so tests can speed up or interrupt waiting."""
    time.sleep(seconds)


def parse_rate(raw: str) -> float:
    """`6/min`, `6` (per minute), `0.5/s`, `120/h` → arrivals per second; ValueError says why."""
    text = raw.strip().lower().replace(",", ".")
    number, _, unit = text.partition("/")
    unit = unit.strip() or "min"
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"«{number.strip()}» не число") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError("интенсивность должна быть больше нуля")
    if unit not in RATE_UNITS:
        raise ValueError(f"неизвестная единица «{unit}» (s, min или h)")
    per_second = value / RATE_UNITS[unit]
    if per_second > MAX_RATE_PER_SECOND:
        raise ValueError(f"не больше {MAX_RATE_PER_SECOND:g} в секунду")
    return per_second


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
    ) -> None:
        self.mix = random.Random(f"{seed}:mix")
        self.numbers = random.Random(f"{seed}:numbers")
        self.scenarios = scenarios
        self.topic_weights = [(code, TOPIC_WEIGHTS.get(code, 0.5)) for code in scenarios]
        self.known = known
        self.known_emails = [c.email for c in known if c.email]
        self.top_codes = top_codes

    def next(self) -> Arrival:
        top = _weighted(self.mix, self.topic_weights)
        code, speech = self.mix.choice(self.scenarios[top])
        reuse = self.mix.random() < KNOWN_CALLER_SHARE
        external_id = f"sim-{uuid.uuid4()}"  # unique across runs, even with the same seed
        if self.mix.random() < PHONE_SHARE:
            return self._call(code, top, speech, reuse, external_id)
        return self._message(code, speech, reuse, external_id)

    def _call(self, code: str, top: str, speech: str, reuse: bool, external_id: str) -> Arrival:
        line = _weighted(self.mix, LINE_WEIGHTS)
        hidden = self.mix.random() < HIDDEN_NUMBER_SHARE
        handoff = None
        if self.mix.random() < HANDOFF_SHARE:
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
    handoff: int = 0
    known: int = 0
    abandoned: int = 0
    answered: int = 0
    network_failures: int = 0
    rejected: int = 0
    unsent: int = 0


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
                err.print(
                    "[yellow]Сбросы звонков не отправляются:[/] их сообщает шлюз телефонии "
                    "или старший смены (войдите под такой учётной записью или укажите --token)"
                )
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
    and written messages with the centre's topic mix; arrivals are a Poisson process.
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
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)

    with _client(token, server) as client:
        topics = client.topics()
        codes = {t.code for t in topics if t.active}
        scenarios = available_scenarios(codes)
        if not scenarios:
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
            + "; Ctrl+C — остановить.",
            style="dim",
        )
        generator = Generator(
            seed=seed,
            scenarios=scenarios,
            known=known,
            top_codes={t.code for t in topics if t.active and t.parent_code is None},
        )
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
