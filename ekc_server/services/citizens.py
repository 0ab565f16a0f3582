"""Citizens: lookup by phone or name, create, update, merge, anonymise, history."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from ekc_core.addresses import address_key, looks_like_email
from ekc_core.enums import AuditAction, CallbackStatus
from ekc_core.phones import InvalidPhoneError, mask_phone, normalize_phone
from ekc_core.schemas import (
    NO_IDENTITY,
    CitizenCreate,
    CitizenHistory,
    CitizenListItem,
    CitizenPublic,
    CitizenUpdate,
    HistoryItem,
    Page,
)
from ekc_server.deps import Principal
from ekc_server.errors import ConflictError, InvalidFieldError, NotFoundError, StaleVersionError
from ekc_server.models import (
    Appeal,
    AuditLog,
    CallbackTask,
    Citizen,
    CitizenPhone,
    Contact,
)
from ekc_server.services import audit, idempotency
from ekc_server.services import citizen_queries as q
from ekc_server.services.appeals import appeal_public
from ekc_server.services.contacts import contact_public
from ekc_server.services.reference import code_maps


def name_key(*parts: str) -> str:
    """Search key of a name: lower case, ё→е, single spaces."""
    text = " ".join(p.strip() for p in parts if p and p.strip())
    return " ".join(text.lower().replace("ё", "е").split())


def _phones(session: Session, citizen_id: int) -> list[str]:
    return list(session.exec(q.PHONES, params={"citizen_id": citizen_id}).all())


def citizen_public(session: Session, citizen: Citizen) -> CitizenPublic:
    assert citizen.id is not None
    return CitizenPublic(
        id=citizen.id,
        last_name=citizen.last_name,
        first_name=citizen.first_name,
        middle_name=citizen.middle_name,
        full_name=citizen.display_name,
        phones=_phones(session, citizen.id),
        email=citizen.email,
        messenger_id=citizen.messenger_id,
        settlement=citizen.settlement,
        address=citizen.address,
        consent_personal_data=citizen.consent_personal_data,
        consent_disclosure=citizen.consent_disclosure,
        merged_into_id=citizen.merged_into_id,
        anonymised=citizen.anonymised_at is not None,
        version=citizen.version,
        created_at=citizen.created_at,
        updated_at=citizen.updated_at,
    )


def get_citizen(*, session: Session, citizen_id: int) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFoundError(f"гражданин {citizen_id} не найден")
    return citizen


def read_citizen(*, session: Session, principal: Principal, citizen_id: int) -> CitizenPublic:
    citizen = get_citizen(session=session, citizen_id=citizen_id)
    card = citizen_public(session, citizen)
    audit.record(
        session=session, principal=principal, action=AuditAction.view_citizen, citizen_id=citizen_id
    )
    session.commit()
    return card


def search(
    *,
    session: Session,
    phone: str | None,
    name: str | None,
    limit: int,
    include_merged: bool = False,
    email: str | None = None,
) -> list[CitizenListItem]:
    """Citizens by phone (written any way), e-mail (any case) and/or by name words
    (prefixes, any order)."""
    if not phone and not name and not email:
        raise InvalidFieldError(
            "укажите телефон, e-mail или имя для поиска", field="phone", location="query"
        )
    email_key: str | None = None
    if email:
        if not looks_like_email(email):
            raise InvalidFieldError(
                f"«{email}» — не адрес электронной почты", field="email", location="query"
            )
        email_key = address_key(email)
    e164: str | None = None
    if phone:
        try:
            e164 = normalize_phone(phone)
        except InvalidPhoneError as exc:  # says which number and why
            raise InvalidFieldError(str(exc), field="phone", location="query") from exc
    name_words = name_key(name).split() if name else []
    if e164 is not None and not name_words and email_key is None:  # by number: the hot path
        rows = session.execute(q.BY_PHONE[include_merged], {"e164": e164, "limit": limit}).all()
    else:
        query = q.by_name(e164, name_words, include_merged, email_key)
        rows = session.execute(query.limit(limit)).all()
    phones: dict[int, list[str]] = {}
    if rows:
        ids = [c.id for c, _ in rows]
        for cid, number in session.exec(q.PHONES_OF, params={"ids": ids}).all():
            phones.setdefault(cid, []).append(number)
    result = []
    for c, open_appeals in rows:
        assert c.id is not None
        result.append(
            CitizenListItem(
                id=c.id,
                full_name=c.display_name,
                phones_masked=[mask_phone(p) for p in phones.get(c.id, [])],
                settlement=c.settlement,
                merged_into_id=c.merged_into_id,
                open_appeals=open_appeals,
            )
        )
    return result


def _set_phones(session: Session, citizen_id: int, phones: list[str]) -> None:
    existing = session.exec(select(CitizenPhone).where(CitizenPhone.citizen_id == citizen_id)).all()
    for row in existing:
        session.delete(row)
    session.flush()
    seen: set[str] = set()
    for position, e164 in enumerate(phones):
        if e164 in seen:
            continue
        seen.add(e164)
        session.add(CitizenPhone(citizen_id=citizen_id, e164=e164, position=position))


def create(*, session: Session, principal: Principal, data: CitizenCreate) -> CitizenPublic:
    """Create a citizen (not committed; the caller commits, possibly with an idempotency key)."""
    citizen = Citizen(**data.model_dump(exclude={"phones"}))
    citizen.name_key = name_key(citizen.last_name, citizen.first_name, citizen.middle_name)
    session.add(citizen)
    session.flush()
    assert citizen.id is not None
    _set_phones(session, citizen.id, data.phones)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.create_citizen,
        citizen_id=citizen.id,
    )
    session.flush()
    return citizen_public(session, citizen)


def update_citizen(
    *, session: Session, principal: Principal, citizen_id: int, data: CitizenUpdate
) -> CitizenPublic:
    citizen = get_citizen(session=session, citizen_id=citizen_id)
    if citizen.version != data.version:
        raise StaleVersionError(
            f"карточка изменена другим пользователем (версия {citizen.version}, "
            f"у вас {data.version}); обновите и повторите",
            field="version",
        )
    if citizen.merged_into_id is not None:
        raise ConflictError(f"запись объединена с {citizen.merged_into_id}; правьте её")
    if citizen.anonymised_at is not None:
        raise ConflictError("данные гражданина обезличены; изменение невозможно")
    changes = data.model_dump(exclude_unset=True, exclude={"version", "phones"})
    citizen.sqlmodel_update(changes)
    citizen.name_key = name_key(citizen.last_name, citizen.first_name, citizen.middle_name)
    if data.phones is not None:
        assert citizen.id is not None
        _set_phones(session, citizen.id, data.phones)
        changes["phones"] = len(data.phones)
    session.flush()
    assert citizen.id is not None
    if not (
        citizen.last_name.strip()
        or citizen.first_name.strip()
        or citizen.email
        or citizen.messenger_id
        or _phones(session, citizen.id)
    ):
        session.rollback()
        raise InvalidFieldError(NO_IDENTITY, field="last_name")
    # compare-and-set on the version so that two concurrent writers cannot both win
    result = session.execute(
        update(Citizen)
        .where(col(Citizen.id) == citizen_id, col(Citizen.version) == data.version)
        .values(version=data.version + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise StaleVersionError(
            "карточка изменена другим пользователем; обновите и повторите", field="version"
        )
    citizen.version = data.version + 1
    citizen.updated_at = datetime.now(UTC)
    session.add(citizen)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.update_citizen,
        citizen_id=citizen_id,
        details={"fields": sorted(changes)},
    )
    session.commit()
    return citizen_public(session, citizen)


def lock_citizens(session: Session, ids: list[int]) -> None:
    """Take the write locks on these citizen rows before reading them.

    Concurrent merges or anonymisations of the same records then run one after the other
    and each sees the state the previous one left (two opposite merges cannot both win).
    PostgreSQL: row locks in id order; SQLite: a first write takes the database lock.
    """
    ordered = sorted(set(ids))
    if session.get_bind().dialect.name == "postgresql":
        session.exec(
            select(Citizen.id)
            .where(col(Citizen.id).in_(ordered))
            .order_by(col(Citizen.id))
            .with_for_update()
        ).all()
    else:
        session.execute(
            update(Citizen).where(col(Citizen.id).in_(ordered)).values(version=Citizen.version)
        )
    session.expire_all()  # re-read what the lock now protects


def merge(
    *, session: Session, principal: Principal, target_id: int, source_id: int
) -> CitizenPublic:
    """Move every phone, contact, appeal and callback of `source` to `target`; one transaction."""
    if target_id == source_id:
        raise ConflictError("нельзя объединить запись саму с собой", field="source_id")
    get_citizen(session=session, citizen_id=target_id)  # 404 before taking any lock
    get_citizen(session=session, citizen_id=source_id)
    lock_citizens(session, [target_id, source_id])
    target = get_citizen(session=session, citizen_id=target_id)
    source = get_citizen(session=session, citizen_id=source_id)
    for who, c in (("целевая", target), ("исходная", source)):
        if c.merged_into_id is not None:
            raise ConflictError(f"{who} запись {c.id} уже объединена с {c.merged_into_id}")
    if target.anonymised_at is not None:  # merging would bring personal data back
        raise ConflictError(f"целевая запись {target_id} обезличена; объединяйте в другую")
    target_phones = _phones(session, target_id)
    for row in session.exec(select(CitizenPhone).where(CitizenPhone.citizen_id == source_id)):
        if row.e164 in target_phones:
            session.delete(row)
        else:
            row.citizen_id = target_id
            row.position = len(target_phones)
            target_phones.append(row.e164)
            session.add(row)
    moved = {}
    # records merged into the source earlier now point at the target directly
    session.execute(
        update(Citizen)
        .where(col(Citizen.merged_into_id) == source_id)
        .values(merged_into_id=target_id)
    )
    for model in (Contact, Appeal, CallbackTask):
        result = session.execute(
            update(model).where(col(model.citizen_id) == source_id).values(citizen_id=target_id)
        )
        moved[model.__tablename__] = result.rowcount  # type: ignore[attr-defined]
    for field in (
        "last_name",
        "first_name",
        "middle_name",
        "email",
        "messenger_id",
        "settlement",
        "address",
    ):
        if not getattr(target, field) and getattr(source, field):
            setattr(target, field, getattr(source, field))
    target.consent_personal_data = target.consent_personal_data or source.consent_personal_data
    target.consent_disclosure = target.consent_disclosure or source.consent_disclosure
    target.name_key = name_key(target.last_name, target.first_name, target.middle_name)
    now = datetime.now(UTC)
    target.version += 1
    target.updated_at = now
    source.merged_into_id = target_id
    source.version += 1
    source.updated_at = now
    session.add(target)
    session.add(source)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.merge_citizen,
        citizen_id=target_id,
        details={"source_id": source_id, "moved": moved},
    )
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.merge_citizen,
        citizen_id=source_id,
        details={"merged_into_id": target_id},
    )
    session.commit()
    return citizen_public(session, target)


def anonymise(*, session: Session, principal: Principal, citizen_id: int) -> CitizenPublic:
    """Remove personal data; contacts and appeals stay (their numbers and texts are cleared).

    Records merged into this one are the same person and are anonymised with it; open
    callbacks to the person are cancelled (there is no number left to call).
    """
    get_citizen(session=session, citizen_id=citizen_id)
    merged = list(
        session.exec(select(Citizen.id).where(col(Citizen.merged_into_id) == citizen_id)).all()
    )
    lock_citizens(session, [citizen_id, *[m for m in merged if m is not None]])
    citizen = get_citizen(session=session, citizen_id=citizen_id)
    if citizen.anonymised_at is not None:
        raise ConflictError("данные гражданина уже обезличены")
    for other in session.exec(
        select(Citizen).where(
            col(Citizen.merged_into_id) == citizen_id, col(Citizen.anonymised_at).is_(None)
        )
    ).all():
        assert other.id is not None
        _anonymise_one(session, other)
    _anonymise_one(session, citizen)
    assert citizen.id is not None
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.anonymise_citizen,
        citizen_id=citizen_id,
        details={"with_merged": merged},
    )
    session.commit()
    return citizen_public(session, citizen)


def _anonymise_one(session: Session, citizen: Citizen) -> None:
    citizen_id = citizen.id
    assert citizen_id is not None
    for field in ("last_name", "first_name", "middle_name", "name_key"):
        setattr(citizen, field, "")
    citizen.email = citizen.messenger_id = citizen.settlement = citizen.address = None
    citizen.consent_personal_data = citizen.consent_disclosure = False
    now = datetime.now(UTC)
    citizen.anonymised_at = now
    citizen.version += 1
    citizen.updated_at = now
    session.add(citizen)
    _set_phones(session, citizen_id, [])
    session.execute(
        update(Contact)
        .where(col(Contact.citizen_id) == citizen_id)
        .values(caller_number=None, sender=None, text=None, handoff=None)
    )
    session.execute(
        update(CallbackTask).where(col(CallbackTask.citizen_id) == citizen_id).values(phone="")
    )
    session.execute(
        update(CallbackTask)
        .where(
            col(CallbackTask.citizen_id) == citizen_id,
            col(CallbackTask.status) == CallbackStatus.open.value,
        )
        .values(
            status=CallbackStatus.cancelled.value,
            completed_at=now,
            result_note="Отменено: данные гражданина обезличены",
        )
    )
    session.flush()
    idempotency.scrub_citizen(
        session=session,
        citizen_id=citizen_id,
        card=citizen_public(session, citizen).model_dump(mode="json"),
    )


def history(
    *, session: Session, principal: Principal, citizen_id: int, offset: int, limit: int
) -> CitizenHistory:
    """Contacts and appeals of a citizen across all channels, newest first; audited."""
    now = datetime.now(UTC)
    head = session.execute(q.HISTORY_HEAD, {"citizen_id": citizen_id, "now": now}).first()
    if head is None:
        raise NotFoundError(f"гражданин {citizen_id} не найден")
    citizen, total_contacts, total_appeals, open_appeals, overdue_appeals, open_callbacks = head
    topic_codes, agency_codes = code_maps(session=session)

    params = {"citizen_id": citizen_id, "rows": offset + limit}
    contacts = session.exec(q.HISTORY_CONTACTS, params=params).all()
    appeals = session.exec(q.HISTORY_APPEALS, params=params).all()
    # newest first (contacts before appeals at the same instant); only the page is rendered
    rows: list[tuple[datetime, Contact | Appeal]] = [(c.queued_at, c) for c in contacts]
    rows += [(a.registered_at, a) for a in appeals]
    rows.sort(key=lambda r: r[0], reverse=True)
    page_items = [
        HistoryItem(kind="contact", at=at, contact=contact_public(row, topic_codes=topic_codes))
        if isinstance(row, Contact)
        else HistoryItem(
            kind="appeal",
            at=at,
            appeal=appeal_public(row, topic_codes=topic_codes, agency_codes=agency_codes, now=now),
        )
        for at, row in rows[offset : offset + limit]
    ]

    total = total_contacts + total_appeals
    card = citizen_public(session, citizen)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.view_history,
        citizen_id=citizen_id,
        details={"offset": offset, "limit": limit},
    )
    session.commit()
    return CitizenHistory(
        citizen=card,
        open_appeals=open_appeals,
        overdue_appeals=overdue_appeals,
        open_callbacks=open_callbacks,
        page=Page[HistoryItem](
            items=page_items,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=offset + limit if offset + limit < total else None,
        ),
    )


def audit_entries(
    *,
    session: Session,
    citizen_id: int | None,
    staff_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int,
) -> list[AuditLog]:
    query = select(AuditLog)
    if citizen_id is not None:
        query = query.where(AuditLog.citizen_id == citizen_id)
    if staff_id is not None:
        query = query.where(AuditLog.staff_id == staff_id)
    if since is not None:
        query = query.where(col(AuditLog.at) >= since)
    if until is not None:
        query = query.where(col(AuditLog.at) < until)
    query = query.order_by(col(AuditLog.id).desc()).offset(offset).limit(limit)
    return list(session.exec(query).all())
