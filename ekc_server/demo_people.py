"""Demo people: the centre's staff (with the demo logins) and the citizens who contact it.

Names, phones and e-mails are drawn from the word lists in `data/demo/`; every phone number
is a valid Russian number (checked with `phonenumbers`) and no two people share one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers

from ekc_core.enums import Role
from ekc_server.models import Office
from ekc_server.security import hash_password
from ekc_server.services.citizens import name_key

#: demo logins printed by `make run`; passwords are for the demo database only
DEMO_PASSWORDS = {Role.admin: "admin122", Role.shift_lead: "lead122", Role.operator: "oper122"}
DEMO_LOGINS = (
    ("admin", Role.admin),
    ("lead1", Role.shift_lead),
    ("operator1", Role.operator),
)
#: operators of the demo centre (operator1 … operator50)
DEMO_OPERATORS = 50

MOBILE_PREFIXES = ["902", "904", "908", "914", "924", "950", "952", "964", "983", "999"]
_MOBILE_SET = frozenset(MOBILE_PREFIXES)
#: area codes of the remote offices' work phones (the centre's own is Irkutsk, 3952)
_OFFICE_AREA_CODES = {
    "mfc_bodaibo": "39561",
    "mfc_erbogachen": "39567",
    "mfc_kirensk": "39568",
    "mfc_mama": "39569",
}
_SKILL_GROUPS = [
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
# fmt: off
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}
# fmt: on


def lines_of(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights=weights, k=1)[0]


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


def _valid_number(rng: random.Random, prefix: str, digits: int) -> str:
    for _ in range(50):
        number = "+7" + prefix + "".join(str(rng.randint(0, 9)) for _ in range(digits))
        if number[2 + len(prefix)] in "01":  # local numbers do not start with 0/1
            continue
        if prefix in _MOBILE_SET and digits == 7:
            return number  # every 9XX number of the mobile codes above is valid (checked)
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number
    raise RuntimeError(f"no valid number for prefix {prefix}")


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


class Names:
    """Russian full names drawn from the demo word lists (55 % women)."""

    def __init__(self, rng: random.Random, demo: Path) -> None:
        self.rng = rng
        self.male_first = lines_of(demo / "first_names_male.txt")
        self.female_first = lines_of(demo / "first_names_female.txt")
        self.surnames = lines_of(demo / "surnames_male.txt")
        self.male_patr = lines_of(demo / "patronymics_male.txt")
        self.female_patr = lines_of(demo / "patronymics_female.txt")

    def person(self) -> tuple[str, str, str]:
        rng = self.rng
        if rng.random() < 0.55:
            return (
                _female_surname(rng.choice(self.surnames)),
                rng.choice(self.female_first),
                rng.choice(self.female_patr),
            )
        return rng.choice(self.surnames), rng.choice(self.male_first), rng.choice(self.male_patr)


class Numbers:
    """Unique valid phone numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def new(self, prefix: str, digits: int) -> str:
        while True:
            number = _valid_number(self.rng, prefix, digits)
            if number not in self.used:
                self.used.add(number)
                return number

    def mobile(self) -> str:
        return self.new(self.rng.choice(MOBILE_PREFIXES), 7)


@dataclass
class StaffRows:
    rows: list[dict[str, Any]]
    operator_ids: list[int]
    lead_ids: list[int]
    #: operator id → (username, employment_rate, week_hours, night_work)
    operators: dict[int, dict[str, Any]] = field(default_factory=dict)


def make_staff(
    *,
    rng: random.Random,
    names: Names,
    offices: dict[str, Office],
    seed: int,
    created: datetime,
) -> StaffRows:
    """Two admins, four shift leads, fifty operators (a few in the remote MFCs) and the
    telephony gateway account."""
    hashes = {role: hash_password(pw) for role, pw in DEMO_PASSWORDS.items()}
    remote_codes = [c for c, o in offices.items() if o.remote]
    centre = offices.get("ekc_irkutsk") or next(iter(offices.values()))
    # employment terms, phones and e-mails draw on their own generator: the citizens and
    # contacts stay the same as before these details existed
    staff_rng = random.Random(seed + 96)
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    plan = [("admin", Role.admin), ("admin2", Role.admin)]
    plan += [(f"lead{i}", Role.shift_lead) for i in range(1, 5)]
    plan += [(f"operator{i}", Role.operator) for i in range(1, DEMO_OPERATORS + 1)]
    rows: list[dict[str, Any]] = []
    for username, role in plan:
        last, first, middle = names.person()
        if role == Role.operator:
            skills = ["svo", *rng.sample(_SKILL_GROUPS[1:], k=rng.randint(2, 4))]
            index = int(username.removeprefix("operator"))
            office = (
                offices[remote_codes[index % len(remote_codes)]]
                if (remote_codes and index > 44)
                else centre
            )
        else:
            skills = list(_SKILL_GROUPS)
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
        rows.append(
            {
                "id": len(rows) + 1,
                "username": username,
                "full_name": f"{last} {first} {middle}",
                "role": role.value,
                "office_id": office.id,
                "skills": skills,
                "password_hash": hashes[role],
                "active": True,
                "created_at": created,
                "updated_at": created,
                "phone": phone,
                "email": f"{mailbox}@ekc122.ru",
                **_work_details(staff_rng, username, role),
            }
        )
    rows.append(
        {
            "id": len(rows) + 1,
            "username": "telephony",
            "full_name": "Шлюз телефонии",
            "role": Role.gateway.value,
            "office_id": centre.id,
            "skills": [],
            "password_hash": None,
            "active": True,
            "created_at": created,
            "updated_at": created,
            "phone": None,
            "email": None,
            "employment_rate": 1.0,
            "week_hours": 40.0,
            "night_work": True,
        }
    )
    operators = {r["id"]: r for r in rows if r["role"] == Role.operator.value}
    return StaffRows(
        rows=rows,
        operator_ids=list(operators),
        lead_ids=[r["id"] for r in rows if r["role"] == Role.shift_lead.value],
        operators=operators,
    )


@dataclass
class CitizenRows:
    rows: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    #: citizen id → main (mobile) number
    main_phone: dict[int, str]


def make_citizens(
    *,
    rng: random.Random,
    names: Names,
    numbers: Numbers,
    demo: Path,
    count: int,
    now: datetime,
    days: int,
) -> CitizenRows:
    """`count` citizens (and a few duplicates of them, to be merged by a shift lead)."""
    settlements = []
    for ln in lines_of(demo / "settlements.tsv"):
        name, _district, code, weight = ln.split("\t")
        settlements.append(((name, code), float(weight)))
    streets = lines_of(demo / "streets.txt")
    rows: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    main_phone: dict[int, str] = {}
    translit = str.maketrans(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "abvgdeejziiklmnoprstufhccss_y_eui"
    )
    places = [s for s, _ in settlements]
    place_weights = [w for _, w in settlements]
    for cid in range(1, count + 1):
        last, first, middle = names.person()
        if rng.random() < 0.04:
            middle = ""  # not everybody gives a patronymic
        ((settlement, area),) = rng.choices(places, weights=place_weights, k=1)
        created = now - timedelta(days=days + rng.randint(0, 400))
        email = None
        if rng.random() < 0.3:
            mailbox = (first[0] + "." + last).lower().translate(translit).replace("_", "")
            email = f"{mailbox}{rng.randint(1, 99)}@{rng.choice(['mail.ru', 'yandex.ru', 'bk.ru'])}"
        rows.append(
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
        mobile = numbers.mobile()
        phones.append({"citizen_id": cid, "e164": mobile, "position": 0})
        main_phone[cid] = mobile
        if rng.random() < 0.25:
            landline = numbers.new(area, 10 - len(area))
            phones.append({"citizen_id": cid, "e164": landline, "position": 1})
    # a few duplicates: the same person registered twice, to be merged by a shift lead
    for i in range(min(8, count // 100)):
        original = rows[i * 7]
        dup_id = len(rows) + 1
        dup = {**original, "id": dup_id, "middle_name": "", "email": None, "address": None}
        dup["name_key"] = name_key(dup["last_name"], dup["first_name"])
        rows.append(dup)
        number = numbers.mobile()
        phones.append({"citizen_id": dup_id, "e164": number, "position": 0})
        main_phone[dup_id] = number
    return CitizenRows(rows=rows, phones=phones, main_phone=main_phone)
