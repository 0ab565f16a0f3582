"""Statements of the citizen read paths (history, phone lookup), built once.

Building a SQLAlchemy statement costs more than running a cached one: these are built at
import with bound parameters, and every request only binds its values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, ScalarSelect, Select, bindparam, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from ekc_core.enums import OPEN_APPEAL_STATUSES, CallbackStatus
from ekc_server.models import Appeal, CallbackTask, Citizen, CitizenPhone, Contact, UTCDateTime
from ekc_server.services.appeals import overdue_clause

PHONES = (
    select(CitizenPhone.e164)
    .where(col(CitizenPhone.citizen_id) == bindparam("citizen_id"))
    .order_by(col(CitizenPhone.position), col(CitizenPhone.id))
)
HISTORY_CONTACTS = (
    select(Contact)
    .where(col(Contact.citizen_id) == bindparam("citizen_id"))
    .order_by(col(Contact.queued_at).desc(), col(Contact.id).desc())
    .limit(bindparam("rows"))
)
HISTORY_APPEALS = (
    select(Appeal)
    .where(col(Appeal.citizen_id) == bindparam("citizen_id"))
    .order_by(col(Appeal.registered_at).desc(), col(Appeal.id).desc())
    .limit(bindparam("rows"))
)


def _count(
    model: type[Contact] | type[Appeal] | type[CallbackTask], *where: ColumnElement[bool]
) -> ScalarSelect[int]:
    return (
        sa_select(func.count())
        .select_from(model)
        .where(col(model.citizen_id) == bindparam("citizen_id"), *where)
        .scalar_subquery()
    )


# `now` as a bound parameter where the clause takes a datetime: the statement is built once
_NOW = cast(datetime, bindparam("now", type_=UTCDateTime()))
#: the card and its five counters in one round trip
HISTORY_HEAD = sa_select(
    Citizen,
    _count(Contact),
    _count(Appeal),
    _count(Appeal, col(Appeal.status).in_([s.value for s in OPEN_APPEAL_STATUSES])),
    _count(Appeal, overdue_clause(_NOW)),
    _count(CallbackTask, col(CallbackTask.status) == CallbackStatus.open.value),
).where(col(Citizen.id) == bindparam("citizen_id"))


#: open appeals of the citizen on the row, for search results
_OPEN_APPEALS = (
    sa_select(func.count())
    .select_from(Appeal)
    .where(
        col(Appeal.citizen_id) == col(Citizen.id),
        col(Appeal.status).in_([s.value for s in OPEN_APPEAL_STATUSES]),
    )
    .correlate(Citizen)
    .scalar_subquery()
)


def _search_query(include_merged: bool) -> Select[tuple[Citizen, int]]:
    query = sa_select(Citizen, _OPEN_APPEALS)
    return query if include_merged else query.where(col(Citizen.merged_into_id).is_(None))


PHONES_OF = (
    select(CitizenPhone.citizen_id, CitizenPhone.e164)
    .where(col(CitizenPhone.citizen_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(CitizenPhone.position), col(CitizenPhone.id))
)
#: by phone alone, built once: {include_merged: statement}
BY_PHONE = {
    merged: _search_query(merged)
    .where(
        col(Citizen.id).in_(
            select(CitizenPhone.citizen_id).where(col(CitizenPhone.e164) == bindparam("e164"))
        )
    )
    .order_by(col(Citizen.name_key), col(Citizen.id))
    .limit(bindparam("limit"))
    for merged in (False, True)
}


def by_name(
    e164: str | None, name_words: list[str], include_merged: bool, email: str | None = None
) -> Select[tuple[Citizen, int]]:
    """Name words (prefixes of any word of the name, in any order), maybe with a phone
    and an e-mail (folded, see ekc_core.addresses)."""
    query = _search_query(include_merged)
    if email is not None:
        query = query.where(func.lower(col(Citizen.email)) == email)
    if e164 is not None:
        query = query.where(
            col(Citizen.id).in_(select(CitizenPhone.citizen_id).where(CitizenPhone.e164 == e164))
        )
    for word in name_words:
        query = query.where(
            or_(
                col(Citizen.name_key).startswith(word, autoescape=True),
                col(Citizen.name_key).contains(" " + word, autoescape=True),
            )
        )
    order: list[Any] = []
    if name_words:
        # the first word as the whole surname first, then as its beginning, then elsewhere
        first = name_words[0]
        order.append(
            case(
                (col(Citizen.name_key).startswith(first + " ", autoescape=True), 0),
                (col(Citizen.name_key) == first, 0),
                (col(Citizen.name_key).startswith(first, autoescape=True), 1),
                else_=2,
            )
        )
    return query.order_by(*order, col(Citizen.name_key), col(Citizen.id))
