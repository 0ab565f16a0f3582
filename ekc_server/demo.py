"""Deterministic generator of realistic demo data (`ekc-server db seed --demo`).

The same seed and the same `today` give the same rows. Volumes follow the centre's own
figures: 45 % of incoming calls on contract service, medicine / social support / ЖКХ 75 % of
the rest, ~10 % of incoming calls abandoned, outgoing calls ~45 % of all calls, written
channels answered in minutes, about one appeal per 15 contacts, a few overdue.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import yaml
from sqlalchemy import bindparam, func, insert, text, update
from sqlmodel import Session, select

from ekc_core.deadlines import DeadlineTerms, compute_deadlines
from ekc_core.enums import (
    AppealEventType,
    AppealKind,
    AppealStatus,
    CallbackResult,
    CallbackStatus,
    Channel,
    ContactOutcome,
    ContactStatus,
    Direction,
    Role,
)
from ekc_core.localtime import CENTRE_TZ
from ekc_core.reference_data import INBOUND_TOPIC_WEIGHTS
from ekc_server.models import (
    Agency,
    Appeal,
    AppealCounter,
    AppealEvent,
    CallbackTask,
    Citizen,
    CitizenPhone,
    Contact,
    DeadlineRule,
    Office,
    Staff,
    Topic,
)
from ekc_server.security import hash_password
from ekc_server.services.citizens import name_key

#: demo logins printed by `make run`; passwords are for the demo database only
DEMO_PASSWORDS = {Role.admin: "admin122", Role.shift_lead: "lead122", Role.operator: "oper122"}
DEMO_LOGINS = (
    ("admin", Role.admin),
    ("lead1", Role.shift_lead),
    ("operator1", Role.operator),
)

_INBOUND_TOPIC_WEIGHTS = INBOUND_TOPIC_WEIGHTS
# calls per hour of day (local time), relative
_HOUR_PROFILE = [
    1,
    0.6,
    0.4,
    0.3,
    0.3,
    0.5,
    1.2,
    3,
    6.5,
    9,
    9.5,
    9,
    8,
    8.5,
    9,
    8.5,
    7.5,
    6,
    4.5,
    3.5,
    3,
    2.5,
    2,
    1.4,
]
_WEEKDAY_PROFILE = [1.15, 1.1, 1.05, 1.0, 0.95, 0.6, 0.5]  # Monday first
_WRITTEN_CHANNELS = [
    (Channel.social, 35),
    (Channel.pos, 25),
    (Channel.governor_chat, 15),
    (Channel.web_chat, 15),
    (Channel.email, 10),
]
_MOBILE_PREFIXES = ["902", "904", "908", "914", "924", "950", "952", "964", "983", "999"]
_EMOTIONS = ["спокойствие", "тревога", "раздражение", "растерянность", "гнев", "грусть"]


@dataclass
class DemoCounts:
    staff: int = 0
    citizens: int = 0
    contacts: int = 0
    appeals: int = 0
    events: int = 0
    callbacks: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _female_surname(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ин", "ын", "ёв")):
        return surname + "а"
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith("ой"):
        return surname[:-2] + "ая"
    if surname.endswith("ий"):
        return surname[:-2] + "яя" if surname.endswith(("ний",)) else surname[:-2] + "ая"
    return surname


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights=weights, k=1)[0]


def _valid_number(rng: random.Random, prefix: str, digits: int) -> str:
    for _ in range(50):
        number = "+7" + prefix + "".join(str(rng.randint(0, 9)) for _ in range(digits))
        if number[2 + len(prefix)] in "01":  # local numbers do not start with 0/1
            continue
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number
    raise RuntimeError(f"no valid number for prefix {prefix}")


#: area codes of the remote offices' work phones (the centre's own is Irkutsk, 3952)
_OFFICE_AREA_CODES = {
    "mfc_bodaibo": "39561",
    "mfc_erbogachen": "39567",
    "mfc_kirensk": "39568",
    "mfc_mama": "39569",
}
# fmt: off
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}
# fmt: on


def _translit(text: str) -> str:
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())


def _work_details(rng: random.Random, username: str, role: Role) -> dict[str, Any]:
    """Employment terms of a demo person: most operators full time, some at 0.5 or 0.75,
    a few not on nights (ст.96), a couple on a 36-hour week (ст.92)."""
    if role != Role.operator:
        return {"employment_rate": 1.0, "week_hours": 40.0, "night_work": True}
    index = int(username.removeprefix("operator"))
    rate = 0.5 if index % 9 == 4 else 0.75 if index % 11 == 7 else 1.0
    return {
        "employment_rate": rate,
        "week_hours": 36.0 if index in (12, 38) else 40.0,
        "night_work": rng.random() >= 0.12,
    }


_OCCUPIED = ((Citizen, "граждане"), (Contact, "контакты"), (Staff, "сотрудники"))


def _occupied_by(session: Session) -> str | None:
    """What already fills the database (citizens, contacts or staff), if anything."""
    for model, what in _OCCUPIED:
        if session.exec(select(func.count()).select_from(model)).one():
            return what
    return None


def has_demo_data(*, session: Session) -> bool:
    """True when demo data cannot be loaded because the database is not empty."""
    return _occupied_by(session) is not None


def seed_demo(
    *,
    session: Session,
    data_dir: Path,
    citizens: int = 2000,
    contacts: int = 20000,
    days: int = 90,
    seed: int = 122,
    today: date | None = None,
) -> DemoCounts:
    """Insert demo staff, citizens, contacts, appeals with events, and callbacks. Not committed.

    Refuses (ValueError) when the database already has staff, citizens or contacts: the
    demo rows carry their own ids and logins, which would collide with existing ones.
    """
    what = _occupied_by(session)
    if what is not None:
        raise ValueError(f"в базе уже есть {what}: демо-данные загружаются только в пустую базу")
    rng = random.Random(seed)
    today = today or datetime.now(CENTRE_TZ).date()
    now = datetime.now(UTC)
    demo = data_dir / "demo"
    counts = DemoCounts()

    topics = session.exec(select(Topic).where(Topic.active)).all()
    if not topics:
        raise ValueError("справочники не загружены: сначала ekc-server db seed")
    top_by_code = {t.code: t for t in topics if t.parent_id is None}
    children: dict[int, list[Topic]] = {}
    for t in topics:
        if t.parent_id is not None:
            children.setdefault(t.parent_id, []).append(t)
    top_by_id = {t.id: t for t in top_by_code.values()}
    offices = {o.code: o for o in session.exec(select(Office)).all()}
    agencies = session.exec(select(Agency).where(Agency.active)).all()
    rules = {
        AppealKind(r.kind): DeadlineTerms(
            r.register_days, r.forward_days, r.answer_days, r.max_extension_days
        )
        for r in session.exec(select(DeadlineRule)).all()
    }
    texts = yaml.safe_load((demo / "summaries.yaml").read_text(encoding="utf-8"))
    summaries: dict[str, list[str]] = texts["summaries"]
    replies: dict[str, list[str]] = texts["agency_replies"]

    # --- staff --------------------------------------------------------------------------
    hashes = {role: hash_password(pw) for role, pw in DEMO_PASSWORDS.items()}
    groups = [
        "svo",
        "medicine",
        "social",
        "housing",
        "transport",
        "emergency",
        "psych",
        "general",
        "mfc",
    ]
    staff_rows: list[dict[str, Any]] = []
    male_first = _lines(demo / "first_names_male.txt")
    female_first = _lines(demo / "first_names_female.txt")
    surnames = _lines(demo / "surnames_male.txt")
    male_patr = _lines(demo / "patronymics_male.txt")
    female_patr = _lines(demo / "patronymics_female.txt")

    def person_name() -> tuple[str, str, str]:
        if rng.random() < 0.55:
            return (
                _female_surname(rng.choice(surnames)),
                rng.choice(female_first),
                rng.choice(female_patr),
            )
        return rng.choice(surnames), rng.choice(male_first), rng.choice(male_patr)

    remote_codes = [c for c, o in offices.items() if o.remote]
    centre = offices.get("ekc_irkutsk") or next(iter(offices.values()))
    # employment terms, phones and e-mails draw on their own generator: the citizens and
    # contacts stay the same as before these details existed
    staff_rng = random.Random(seed + 96)
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    plan = [("admin", Role.admin, 1), ("admin2", Role.admin, 1)]
    plan += [(f"lead{i}", Role.shift_lead, 1) for i in range(1, 5)]
    plan += [(f"operator{i}", Role.operator, 1) for i in range(1, 51)]
    for username, role, _ in plan:
        last, first, middle = person_name()
        if role == Role.operator:
            skills = ["svo", *rng.sample(groups[1:], k=rng.randint(2, 4))]
            index = int(username.removeprefix("operator"))
            office = (
                offices[remote_codes[index % len(remote_codes)]]
                if (remote_codes and index > 44)
                else centre
            )
        else:
            skills = groups
            office = centre
        mailbox = f"{_translit(last)}.{_translit(first[0])}{_translit(middle[0])}"
        while mailbox in used_emails:
            mailbox += str(staff_rng.randint(1, 9))
        used_emails.add(mailbox)
        area = _OFFICE_AREA_CODES.get(office.code, "3952")
        phone = _valid_number(staff_rng, area, 10 - len(area))
        while phone in used_phones:
            phone = _valid_number(staff_rng, area, 10 - len(area))
        used_phones.add(phone)
        staff_rows.append(
            {
                "id": len(staff_rows) + 1,
                "username": username,
                "full_name": f"{last} {first} {middle}",
                "role": role.value,
                "office_id": office.id,
                "skills": skills,
                "password_hash": hashes[role],
                "active": True,
                "created_at": now - timedelta(days=days + 30),
                "updated_at": now - timedelta(days=days + 30),
                "phone": phone,
                "email": f"{mailbox}@ekc122.ru",
                **_work_details(staff_rng, username, role),
            }
        )
    staff_rows.append(
        {
            "id": len(staff_rows) + 1,
            "username": "telephony",
            "full_name": "Шлюз телефонии",
            "role": Role.gateway.value,
            "office_id": centre.id,
            "skills": [],
            "password_hash": None,
            "active": True,
            "created_at": now - timedelta(days=days + 30),
            "updated_at": now - timedelta(days=days + 30),
            "phone": None,
            "email": None,
            "employment_rate": 1.0,
            "week_hours": 40.0,
            "night_work": True,
        }
    )
    operator_ids = [r["id"] for r in staff_rows if r["role"] == Role.operator.value]
    lead_ids = [r["id"] for r in staff_rows if r["role"] == Role.shift_lead.value]
    counts.staff = len(staff_rows)
    counts.logins = [(u, DEMO_PASSWORDS[r], r.value) for u, r in DEMO_LOGINS]

    # --- citizens -----------------------------------------------------------------------
    settlements = []
    for ln in _lines(demo / "settlements.tsv"):
        name, _district, code, weight = ln.split("\t")
        settlements.append(((name, code), float(weight)))
    streets = _lines(demo / "streets.txt")
    citizen_rows: list[dict[str, Any]] = []
    phone_rows: list[dict[str, Any]] = []
    citizen_phone: dict[int, str] = {}
    used_numbers: set[str] = set()

    def new_number(prefix: str, digits: int) -> str:
        while True:
            number = _valid_number(rng, prefix, digits)
            if number not in used_numbers:
                used_numbers.add(number)
                return number

    translit = str.maketrans(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "abvgdeejziiklmnoprstufhccss_y_eui"
    )
    for cid in range(1, citizens + 1):
        last, first, middle = person_name()
        if rng.random() < 0.04:
            middle = ""  # not everybody gives a patronymic
        ((settlement, area),) = rng.choices(
            [s for s, _ in settlements], weights=[w for _, w in settlements], k=1
        )
        created = now - timedelta(days=days + rng.randint(0, 400))
        email = None
        if rng.random() < 0.3:
            mailbox = (first[0] + "." + last).lower().translate(translit).replace("_", "")
            email = f"{mailbox}{rng.randint(1, 99)}@{rng.choice(['mail.ru', 'yandex.ru', 'bk.ru'])}"
        citizen_rows.append(
            {
                "id": cid,
                "last_name": last,
                "first_name": first,
                "middle_name": middle,
                "name_key": name_key(last, first, middle),
                "email": email,
                "settlement": settlement,
                "address": f"{rng.choice(streets)}, д. {rng.randint(1, 150)}"
                + (f", кв. {rng.randint(1, 120)}" if rng.random() < 0.7 else ""),
                "consent_personal_data": rng.random() < 0.93,
                "consent_disclosure": rng.random() < 0.8,
                "merged_into_id": None,
                "anonymised_at": None,
                "version": 1,
                "created_at": created,
                "updated_at": created,
            }
        )
        mobile = new_number(rng.choice(_MOBILE_PREFIXES), 7)
        phone_rows.append({"citizen_id": cid, "e164": mobile, "position": 0})
        citizen_phone[cid] = mobile
        if rng.random() < 0.25:
            landline = new_number(area, 10 - len(area))
            phone_rows.append({"citizen_id": cid, "e164": landline, "position": 1})
    # a few duplicates: the same person registered twice, to be merged by a shift lead
    for i in range(min(8, citizens // 100)):
        original = citizen_rows[i * 7]
        dup_id = len(citizen_rows) + 1
        dup = {**original, "id": dup_id, "middle_name": "", "email": None, "address": None}
        dup["name_key"] = name_key(dup["last_name"], dup["first_name"])
        citizen_rows.append(dup)
        number = new_number(rng.choice(_MOBILE_PREFIXES), 7)
        phone_rows.append({"citizen_id": dup_id, "e164": number, "position": 0})
        citizen_phone[dup_id] = number
    counts.citizens = len(citizen_rows)

    # --- contacts, appeals, events, callbacks -------------------------------------------
    start_day = today - timedelta(days=days - 1)
    day_weights = [_WEEKDAY_PROFILE[(start_day + timedelta(d)).weekday()] for d in range(days)]
    slot_weights = [dw * hw for dw in day_weights for hw in _HOUR_PROFILE]
    n_citizens = len(citizen_rows)
    # how often each citizen gets in touch: log-normal, so a few call several times a month
    citizen_weights = [rng.lognormvariate(0, 0.55) for _ in range(n_citizens)]
    citizen_order = list(range(1, n_citizens + 1))

    top_inbound = [
        (top_by_code[c], w) for c, w in _INBOUND_TOPIC_WEIGHTS.items() if c in top_by_code
    ]

    def pick_topic() -> Topic:
        top: Topic = _weighted(rng, top_inbound)
        subs = children.get(top.id or 0) or [top]
        return rng.choice(subs)

    contact_rows: list[dict[str, Any]] = []
    appeal_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    callback_rows: list[dict[str, Any]] = []
    now_local = datetime.now(CENTRE_TZ)
    slots = rng.choices(range(len(slot_weights)), weights=slot_weights, k=contacts)
    slots.sort()
    for slot in slots:
        day, hour = divmod(slot, 24)
        local = datetime.combine(start_day + timedelta(days=day), time(hour), CENTRE_TZ)
        local += timedelta(seconds=rng.randint(0, 3599))
        if local > now_local - timedelta(minutes=30):
            continue  # nothing from the future or still in progress
        queued_at = local.astimezone(UTC)
        cid = citizen_order[rng.choices(range(n_citizens), weights=citizen_weights, k=1)[0]]
        known = rng.random() < 0.88
        roll = rng.random()
        if roll < 0.52:
            channel, direction = Channel.phone, Direction.inbound
        elif roll < 0.85:
            channel, direction = Channel.phone, Direction.outbound
        elif roll < 0.98:
            channel, direction = _weighted(rng, _WRITTEN_CHANNELS), Direction.inbound
        else:
            channel, direction = Channel.video, Direction.inbound
        topic = pick_topic()
        top = top_by_id.get(topic.parent_id) or topic
        operator = rng.choice(operator_ids)
        row: dict[str, Any] = {
            "id": len(contact_rows) + 1,
            "channel": channel.value,
            "line": ("117" if rng.random() < 0.12 else "122") if channel == Channel.phone else None,
            "direction": direction.value,
            "caller_number": None,
            "sender": None,
            "citizen_id": cid if known or direction == Direction.outbound else None,
            "operator_id": operator,
            "office_id": None,
            "topic_id": topic.id,
            "outcome": None,
            "summary": None,
            "text": None,
            "abandoned": False,
            "external_id": None,
            "handoff": None,
            "appeal_id": None,
            "callback_id": None,
            "queued_at": queued_at,
            "answered_at": None,
            "ended_at": None,
            "wrapup_ended_at": None,
            "status": ContactStatus.done.value,
        }
        if channel == Channel.phone:
            row["caller_number"] = (
                citizen_phone[cid]
                if row["citizen_id"]
                else new_number(rng.choice(_MOBILE_PREFIXES), 7)
            )
        elif channel == Channel.email:
            row["sender"] = f"citizen{cid}@mail.ru"
        elif channel == Channel.pos:
            row["external_id"] = f"POS-{today.year}-{rng.randint(10**6, 10**7 - 1)}"
        else:
            row["sender"] = f"id{rng.randint(10**6, 10**9)}"
        if channel == Channel.phone and direction == Direction.inbound and rng.random() < 0.10:
            wait = rng.expovariate(1 / 45)
            row.update(
                status=ContactStatus.abandoned.value,
                abandoned=True,
                operator_id=None,
                topic_id=None,
                ended_at=queued_at + timedelta(seconds=wait + 3),
            )
            contact_rows.append(row)
            continue
        if channel == Channel.phone and direction == Direction.inbound:
            wait = rng.expovariate(1 / 12)
        elif channel == Channel.phone:
            wait = 0.0
        else:
            wait = rng.expovariate(1 / 240)  # written: answered within minutes
        talk = max(40.0, rng.lognormvariate(math.log(200), 0.5))
        acw = rng.uniform(20, 100)
        row["answered_at"] = queued_at + timedelta(seconds=wait)
        row["ended_at"] = row["answered_at"] + timedelta(seconds=talk)
        row["wrapup_ended_at"] = row["ended_at"] + timedelta(seconds=acw)
        row["summary"] = rng.choice(summaries.get(top.code) or summaries["mfc"])
        if channel != Channel.phone:
            row["text"] = row["summary"]
        if channel == Channel.phone and direction == Direction.inbound and rng.random() < 0.7:
            row["handoff"] = {
                "transcript": f"Гражданин: {row['summary']}. Ассистент: соединяю с оператором.",
                "detected_topic": top.name,
                "detected_emotion": rng.choice(_EMOTIONS),
            }
        outcome = _weighted(
            rng,
            [
                (ContactOutcome.consultation, 80),
                (ContactOutcome.appeal_registered, 7),
                (ContactOutcome.forwarded, 4),
                (ContactOutcome.callback_needed, 5),
                (ContactOutcome.transferred, 4),
            ],
        )
        if row["citizen_id"] is None and outcome != ContactOutcome.consultation:
            outcome = ContactOutcome.consultation
        if direction == Direction.outbound and outcome == ContactOutcome.callback_needed:
            outcome = ContactOutcome.consultation
        row["outcome"] = outcome.value
        contact_rows.append(row)

        if outcome in (ContactOutcome.appeal_registered, ContactOutcome.forwarded):
            if channel == Channel.pos:
                kind = AppealKind.pos_message
            elif top.code == "psych":
                kind = AppealKind.psych_help
            elif top.code == "emergency":
                kind = AppealKind.emergency
            else:
                kind = _weighted(rng, [(AppealKind.appeal_59fz, 80), (AppealKind.complaint, 20)])
            appeal = _make_appeal(
                rng=rng,
                row=row,
                kind=kind,
                topic=topic,
                top=top,
                terms=rules[kind],
                agencies=agencies,
                operator=operator,
                lead_ids=lead_ids,
                now=now,
                appeal_id=len(appeal_rows) + 1,
                replies=replies.get(top.code) or [],
                events=event_rows,
            )
            appeal_rows.append(appeal)
            row["appeal_id"] = appeal["id"]
            due = None
            if appeal["status"] == AppealStatus.resolved.value:
                due = appeal["resolved_at"] + timedelta(hours=rng.uniform(2, 26))
            elif (
                appeal["status"] != AppealStatus.closed.value
                and appeal["complex"]
                and (rng.random() < 0.3)
            ):  # an interim call to tell the citizen where things stand
                due = now + timedelta(hours=rng.uniform(-6, 30))
            if due is not None:
                task = _callback(
                    len(callback_rows) + 1,
                    row,
                    citizen_phone,
                    due,
                    operator,
                    f"Сообщить результат по обращению {appeal['number']}",
                    appeal["id"],
                    now,
                )
                if due < now - timedelta(hours=12) and rng.random() < 0.9:
                    _complete(rng, task, due)
                callback_rows.append(task)
        elif outcome == ContactOutcome.callback_needed:
            due = row["wrapup_ended_at"] + timedelta(hours=rng.uniform(2, 30))
            task = _callback(
                len(callback_rows) + 1,
                row,
                citizen_phone,
                due,
                operator,
                "Перезвонить с ответом: " + row["summary"],
                None,
                now,
            )
            if due < now - timedelta(hours=6) and rng.random() < 0.97:
                _complete(rng, task, due)
            callback_rows.append(task)

    counts.contacts = len(contact_rows)
    counts.appeals = len(appeal_rows)
    counts.events = len(event_rows)
    counts.callbacks = len(callback_rows)

    # appeal numbers: sequential per local year in registration order
    per_year: dict[int, int] = {}
    for appeal in sorted(appeal_rows, key=lambda a: (a["registered_at"], a["id"])):
        year = appeal["registered_at"].astimezone(CENTRE_TZ).year
        per_year[year] = per_year.get(year, 0) + 1
        appeal["number"] = f"122-{year}-{per_year[year]:06d}"
    for task in callback_rows:
        if task["reason"].startswith("Сообщить результат"):
            number = appeal_rows[task["appeal_id"] - 1]["number"]
            task["reason"] = f"Сообщить результат по обращению {number}"

    appeal_links = [(r["id"], r["appeal_id"]) for r in contact_rows if r["appeal_id"]]
    for r in contact_rows:
        r["appeal_id"] = None  # set after appeals exist (the foreign keys point both ways)
    session.execute(insert(Staff), staff_rows)
    session.execute(insert(Citizen), citizen_rows)
    session.execute(insert(CitizenPhone), phone_rows)
    _chunked(session, Contact, contact_rows)
    _chunked(session, Appeal, appeal_rows)
    _chunked(session, AppealEvent, event_rows)
    _chunked(session, CallbackTask, callback_rows)
    if appeal_links:
        table = Contact.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.id == bindparam("cid")).values(appeal_id=bindparam("aid")),
            [{"cid": c, "aid": a} for c, a in appeal_links],
        )
    for year, last_seq in per_year.items():
        existing = session.get(AppealCounter, year)
        if existing is None:
            session.add(AppealCounter(year=year, last_seq=last_seq))
        else:
            existing.last_seq = max(existing.last_seq, last_seq)
            session.add(existing)
    session.flush()
    _reset_sequences(session)
    return counts


def _chunked(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 5000):
        session.execute(insert(model), rows[i : i + 5000])


def _reset_sequences(session: Session) -> None:
    """After inserting explicit ids, move PostgreSQL sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in (
        "staff",
        "citizen",
        "citizen_phone",
        "contact",
        "appeal",
        "appeal_event",
        "callback_task",
    ):
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )


def _complete(rng: random.Random, task: dict[str, Any], due: datetime) -> None:
    at = due + timedelta(minutes=rng.randint(0, 90))
    result = _weighted(
        rng,
        [
            (CallbackResult.reached, 90),
            (CallbackResult.declined, 5),
            (CallbackResult.wrong_number, 5),
        ],
    )
    task.update(
        status=CallbackStatus.done.value,
        attempts=rng.randint(1, 2),
        last_attempt_at=at,
        completed_at=at,
        result=result.value,
        result_note="Информация доведена до гражданина" if result == CallbackResult.reached else "",
    )


def _callback(
    task_id: int,
    row: dict[str, Any],
    phones: dict[int, str],
    due: datetime,
    operator: int,
    reason: str,
    appeal_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": task_id,
        "citizen_id": row["citizen_id"],
        "phone": phones[row["citizen_id"]],
        "appeal_id": appeal_id,
        "contact_id": row["id"],
        "reason": reason,
        "due_at": due,
        "assignee_id": operator,
        "group_code": None,
        "status": CallbackStatus.open.value,
        "attempts": 0,
        "last_attempt_at": None,
        "result": None,
        "result_note": None,
        "completed_at": None,
        "created_by_id": operator,
        "created_at": min(row["wrapup_ended_at"], now),
    }


def _make_appeal(
    *,
    rng: random.Random,
    row: dict[str, Any],
    kind: AppealKind,
    topic: Topic,
    top: Topic,
    terms: DeadlineTerms,
    agencies: Sequence[Agency],
    operator: int,
    lead_ids: list[int],
    now: datetime,
    appeal_id: int,
    replies: list[str],
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    """One appeal and its events, advanced as far as its age allows."""
    registered = row["wrapup_ended_at"] - timedelta(seconds=10)
    dues = compute_deadlines(
        terms,
        received_at=row["queued_at"],
        registered_at=registered,
        answer_days_override=topic.pos_answer_days if kind == AppealKind.pos_message else None,
    )
    agency_id = topic.default_agency_id or top.default_agency_id or rng.choice(agencies).id
    age_days = (now - registered).total_seconds() / 86400
    complex_ = kind in (AppealKind.appeal_59fz, AppealKind.complaint) and rng.random() < 0.6
    appeal: dict[str, Any] = {
        "id": appeal_id,
        "number": "",
        "citizen_id": row["citizen_id"],
        "contact_id": row["id"],
        "kind": kind.value,
        "topic_id": topic.id,
        "summary": row["summary"],
        "description": f"{row['summary']}. Со слов заявителя, вопрос не решён.",
        "status": AppealStatus.registered.value,
        "complex": complex_,
        "agency_id": agency_id,
        "received_at": row["queued_at"],
        "registered_at": registered,
        "register_due": dues.register_due,
        "forward_due": dues.forward_due,
        "answer_due": dues.answer_due,
        "extension_days": 0,
        "forwarded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "assignee_id": operator if complex_ else None,
        "created_by_id": operator,
        "version": 1,
        "updated_at": registered,
    }

    def event(
        kind_: AppealEventType,
        at: datetime,
        actor: int | None,
        text_: str = "",
        data: dict[str, Any] | None = None,
        agency: int | None = None,
    ) -> None:
        events.append(
            {
                "id": len(events) + 1,
                "appeal_id": appeal_id,
                "type": kind_.value,
                "at": at,
                "actor_id": actor,
                "text": text_,
                "agency_id": agency,
                "data": data or {},
            }
        )
        appeal["updated_at"] = at
        appeal["version"] += 1

    event(AppealEventType.created, registered, operator, row["summary"], {"kind": kind.value})
    appeal["version"] = 1
    stuck = rng.random() < 0.04  # some appeals get stuck and go overdue
    # forwarded within a day or two
    if age_days > 0.2 and (not stuck or rng.random() < 0.5):
        at = registered + timedelta(hours=min(age_days * 24 * 0.5, rng.uniform(1, 40)))
        appeal.update(status=AppealStatus.forwarded.value, forwarded_at=at)
        event(
            AppealEventType.forwarded,
            at,
            operator,
            "Направлено в ведомство",
            agency=agency_id,
            data={"from": "registered", "to": "forwarded"},
        )
    else:
        return appeal
    reply_after = rng.uniform(2, 25)
    if stuck:
        reply_after = 1000.0
    if age_days > reply_after and replies:
        at = registered + timedelta(days=reply_after)
        appeal["status"] = AppealStatus.in_progress.value
        event(
            AppealEventType.agency_reply,
            at,
            None,
            rng.choice(replies),
            agency=agency_id,
            data={"from": "forwarded", "to": "in_progress"},
        )
        if complex_ and rng.random() < 0.1 and appeal["answer_due"] is not None:
            ext = 30
            old = appeal["answer_due"]
            appeal["answer_due"] = old + timedelta(days=ext)
            appeal["extension_days"] = ext
            event(
                AppealEventType.extended,
                at + timedelta(hours=2),
                rng.choice(lead_ids),
                "Срок продлён: требуется выезд специалистов",
                {
                    "days": ext,
                    "old_answer_due": old.isoformat(),
                    "new_answer_due": appeal["answer_due"].isoformat(),
                },
            )
        if age_days > reply_after + 1.5:
            done = at + timedelta(days=rng.uniform(0.2, 1.5))
            appeal.update(status=AppealStatus.resolved.value, resolved_at=done)
            event(
                AppealEventType.resolved,
                done,
                operator,
                "Вопрос решён ведомством",
                data={"from": "in_progress", "to": "resolved"},
            )
            if age_days > reply_after + 4 and rng.random() < 0.85:
                closed = done + timedelta(days=rng.uniform(0.5, 2))
                event(
                    AppealEventType.callback_made,
                    closed - timedelta(minutes=5),
                    operator,
                    "Гражданину сообщён результат, претензий нет",
                )
                appeal.update(status=AppealStatus.closed.value, closed_at=closed)
                event(
                    AppealEventType.closed,
                    closed,
                    operator,
                    "",
                    data={"from": "resolved", "to": "closed"},
                )
    return appeal
