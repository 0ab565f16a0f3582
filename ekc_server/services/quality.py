"""Quality checklists (forms, versioned) and the reviews leads score contacts with.

A form is identified by its code; every change is a new version and only the newest
version of a code may be active (reviews are scored against it; older reviews keep pointing
at the version they used). The score of a review is `ekc_core.quality.review_score`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ekc_core.enums import ContactStatus
from ekc_core.localtime import CENTRE_TZ
from ekc_core.quality import (
    QualityFormChange,
    QualityFormCreate,
    QualityFormImport,
    QualityFormImportResult,
    QualityFormPublic,
    QualityItem,
    QualityReviewCreate,
    QualityReviewList,
    QualityReviewPublic,
    QualityScore,
    load_forms_file,
    review_score,
)
from ekc_server.deps import Principal
from ekc_server.errors import (
    ConflictError,
    FieldErrorsError,
    InvalidFieldError,
    NotFoundError,
)
from ekc_server.models import Contact, QualityForm, QualityReview, Staff
from ekc_server.services.contacts import get_contact
from ekc_server.write_time import WriteTime

FORMS_FILE = Path("reference") / "quality_forms.yaml"


class AlreadyReviewedError(ConflictError):
    code = "already_reviewed"


# --- forms ----------------------------------------------------------------------------------


def _usernames(session: Session) -> dict[int | None, str]:
    return dict(session.exec(select(Staff.id, Staff.username)).all())


def form_public(form: QualityForm, names: dict[int | None, str]) -> QualityFormPublic:
    assert form.id is not None
    return QualityFormPublic(
        id=form.id,
        code=form.code,
        version=form.version,
        name=form.name,
        items=[QualityItem.model_validate(i) for i in form.items],
        active=form.active,
        created_at=form.created_at,
        created_by=names.get(form.created_by_id) if form.created_by_id else None,
    )


def _versions(session: Session, code: str) -> list[QualityForm]:
    """Every version of a form, newest first."""
    return list(
        session.exec(
            select(QualityForm)
            .where(QualityForm.code == code)
            .order_by(col(QualityForm.version).desc())
        ).all()
    )


def _content(name: str, items: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    return name, [QualityItem.model_validate(i).model_dump(mode="json") for i in items]


def _apply(session: Session, data: QualityFormCreate, staff_id: int | None) -> QualityFormChange:
    versions = _versions(session, data.code)
    items = [i.model_dump(mode="json") for i in data.items]
    latest = versions[0] if versions else None
    if latest is not None and _content(latest.name, latest.items) == _content(data.name, items):
        if latest.active:
            return QualityFormChange(code=data.code, version=latest.version, change="unchanged")
        latest.active = True
        session.add(latest)
        return QualityFormChange(code=data.code, version=latest.version, change="reactivated")
    for old in versions:
        if old.active:
            old.active = False
            session.add(old)
    version = latest.version + 1 if latest else 1
    session.add(
        QualityForm(
            code=data.code,
            version=version,
            name=data.name,
            items=items,
            active=True,
            created_by_id=staff_id,
        )
    )
    return QualityFormChange(
        code=data.code, version=version, change="updated" if latest else "created"
    )


def import_forms(
    *, session: Session, data: QualityFormImport, staff_id: int | None, dry_run: bool
) -> QualityFormImportResult:
    """Write every form of one file or none: a changed form becomes a new version, an
    unchanged one is left alone (an inactive one switched on again). Commits (or, with
    `dry_run`, rolls back and only says what would change)."""
    changes = [_apply(session, form, staff_id) for form in data.forms]
    if dry_run:
        session.rollback()
        return QualityFormImportResult(dry_run=True, forms=changes)
    try:
        session.commit()
    except IntegrityError as exc:  # another import of the same form at the same moment
        session.rollback()
        raise ConflictError("формы в это же время меняет другой импорт; повторите") from exc
    return QualityFormImportResult(dry_run=False, forms=changes)


def list_forms(*, session: Session, include_inactive: bool) -> list[QualityFormPublic]:
    """The newest version of each form (switched-off forms only with `include_inactive`)."""
    newest = (
        select(QualityForm.code, func.max(QualityForm.version).label("version"))
        .group_by(col(QualityForm.code))
        .subquery()
    )
    query = (
        select(QualityForm)
        .join(
            newest,
            (col(QualityForm.code) == newest.c.code)
            & (col(QualityForm.version) == newest.c.version),
        )
        .order_by(col(QualityForm.code))
    )
    if not include_inactive:
        query = query.where(col(QualityForm.active).is_(True))
    names = _usernames(session)
    return [form_public(f, names) for f in session.exec(query).all()]


def get_form(*, session: Session, code: str, version: int | None) -> QualityFormPublic:
    versions = _versions(session, code)
    if not versions:
        raise NotFoundError(f"форма оценки «{code}» не найдена")
    if version is None:
        return form_public(versions[0], _usernames(session))
    for form in versions:
        if form.version == version:
            return form_public(form, _usernames(session))
    raise NotFoundError(f"у формы «{code}» нет версии {version}")


def deactivate_form(*, session: Session, code: str) -> QualityFormPublic:
    """Switch a form off: no new reviews against it (its reviews stay). Idempotent."""
    versions = _versions(session, code)
    if not versions:
        raise NotFoundError(f"форма оценки «{code}» не найдена")
    for form in versions:
        if form.active:
            form.active = False
            session.add(form)
    session.commit()
    return form_public(versions[0], _usernames(session))


def seed_forms(*, session: Session, data_dir: Path) -> int:
    """Add the shipped default forms (`reference/quality_forms.yaml`) the database does not
    have yet; forms already there are left alone (an admin may have changed them). Does not
    commit. Returns how many forms the file holds."""
    path = data_dir / FORMS_FILE
    if not path.exists():
        return 0
    shipped = load_forms_file(path)
    known = set(session.exec(select(QualityForm.code)).all())
    for form in shipped.forms:
        if form.code not in known:
            _apply(session, form, None)
    session.flush()
    return len(shipped.forms)


# --- reviews --------------------------------------------------------------------------------


def _review_form(session: Session, code: str | None) -> QualityForm:
    if code is None:
        active = session.exec(select(QualityForm).where(col(QualityForm.active).is_(True))).all()
        if len(active) == 1:
            return active[0]
        codes = ", ".join(sorted(f.code for f in active)) or "нет ни одной"
        raise InvalidFieldError(
            f"укажите форму оценки (form_code); действующие: {codes}", field="form_code"
        )
    versions = _versions(session, code)
    if not versions:
        raise InvalidFieldError(f"неизвестная форма оценки «{code}»", field="form_code")
    if not versions[0].active:
        raise InvalidFieldError(
            f"форма оценки «{code}» отключена: по ней не оценивают", field="form_code"
        )
    return versions[0]


def create_review(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    data: QualityReviewCreate,
    at: WriteTime,
) -> QualityReviewPublic:
    """Score one contact against a form; does not commit (the route's idempotency does)."""
    contact = get_contact(session=session, contact_id=contact_id)
    if contact.answered_at is None or contact.status == ContactStatus.abandoned.value:
        raise ConflictError(
            f"контакт {contact_id} не был принят оператором: оценивать нечего",
            field="contact_id",
        )
    if contact.status == ContactStatus.active.value:
        raise ConflictError(
            f"контакт {contact_id} ещё идёт: оцените его после завершения", field="contact_id"
        )
    if contact.operator_id is None:
        raise ConflictError(f"у контакта {contact_id} нет оператора", field="contact_id")
    form = _review_form(session, data.form_code)
    items = [QualityItem.model_validate(i) for i in form.items]
    codes = {i.code for i in items}
    problems: list[tuple[list[str | int], str]] = [
        (["answers", code], f"нет пункта «{code}» в форме «{form.code}»")
        for code in data.answers
        if code not in codes
    ]
    problems += [
        (["answers", i.code], f"нет ответа на пункт «{i.text}» (да / нет / н/п)")
        for i in items
        if i.code not in data.answers
    ]
    if problems:
        raise FieldErrorsError(problems)
    score = review_score(items, data.answers)
    if score is None:
        raise InvalidFieldError(
            "все пункты отмечены «не применимо»: оценивать нечего", field="answers"
        )
    earlier = session.exec(
        select(QualityReview.id).where(QualityReview.contact_id == contact_id)
    ).first()
    if earlier is not None:
        raise AlreadyReviewedError(
            f"контакт {contact_id} уже оценён (оценка №{earlier})", field="contact_id"
        )
    assert form.id is not None
    review = QualityReview(
        contact_id=contact_id,
        form_id=form.id,
        operator_id=contact.operator_id,
        reviewer_id=principal.staff_id,
        answers=dict(data.answers),
        score=score,
        comment=data.comment,
        reviewed_at=at.occurred_at,
        recorded_at=at.received_at,
    )
    session.add(review)
    session.flush()
    names = _usernames(session)
    return _review_public(review, form, contact.queued_at, names)


def _review_public(
    review: QualityReview, form: QualityForm, contact_at: datetime, names: dict[int | None, str]
) -> QualityReviewPublic:
    assert review.id is not None
    return QualityReviewPublic(
        id=review.id,
        contact_id=review.contact_id,
        contact_at=contact_at,
        form_code=form.code,
        form_version=form.version,
        operator=names.get(review.operator_id) if review.operator_id else None,
        reviewer=names.get(review.reviewer_id) if review.reviewer_id else None,
        answers=review.answers,
        score=review.score,
        comment=review.comment,
        reviewed_at=review.reviewed_at,
    )


def local_day_start(day: date) -> datetime:
    """Midnight of a local (Irkutsk) day, in UTC."""
    return datetime.combine(day, time(0), CENTRE_TZ).astimezone(UTC)


def list_reviews(
    *,
    session: Session,
    operator: str | None,
    date_from: date | None,
    date_to: date | None,
    offset: int,
    limit: int,
) -> QualityReviewList:
    """Reviews of the contacts of the period (the local day a contact came in, `date_to`
    included: the KPI reports count a review in its contact's period too), newest contact
    first, with the indicator per operator and for the centre over all of them."""
    if date_from and date_to and date_to < date_from:
        raise InvalidFieldError("конец периода раньше начала", field="to", location="query")
    conditions: list[Any] = []
    if operator is not None:
        staff_id = session.exec(select(Staff.id).where(Staff.username == operator)).first()
        if staff_id is None:
            raise InvalidFieldError(
                f"неизвестный сотрудник «{operator}»", field="operator", location="query"
            )
        conditions.append(col(QualityReview.operator_id) == staff_id)
    if date_from is not None:
        conditions.append(col(Contact.queued_at) >= local_day_start(date_from))
    if date_to is not None:
        end = local_day_start(date_to + timedelta(days=1))
        conditions.append(col(Contact.queued_at) < end)
    of_contact = col(Contact.id) == col(QualityReview.contact_id)
    rows = session.exec(
        select(QualityReview, QualityForm, Contact.queued_at)
        .join(Contact, of_contact)
        .join(QualityForm, col(QualityForm.id) == col(QualityReview.form_id))
        .where(*conditions)
        .order_by(col(Contact.queued_at).desc(), col(QualityReview.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    staff = {s.id: s for s in session.exec(select(Staff)).all()}
    names = {i: s.username for i, s in staff.items()}
    per_operator = session.exec(
        select(QualityReview.operator_id, func.count(), func.avg(QualityReview.score))
        .join(Contact, of_contact)
        .where(*conditions)
        .group_by(col(QualityReview.operator_id))
    ).all()
    operators = [
        QualityScore(
            operator=names.get(op_id) if op_id else None,
            full_name=staff[op_id].full_name if op_id in staff else None,
            reviews=int(n),
            score=float(avg) if avg is not None else None,
        )
        for op_id, n, avg in per_operator
    ]
    operators.sort(key=lambda s: (s.operator or "",))
    count, avg = session.exec(
        select(func.count(), func.avg(QualityReview.score))
        .select_from(QualityReview)
        .join(Contact, of_contact)
        .where(*conditions)
    ).one()
    return QualityReviewList(
        items=[_review_public(r, f, at, names) for r, f, at in rows],
        total=int(count),
        offset=offset,
        limit=limit,
        operators=operators,
        centre=QualityScore(
            operator=None, reviews=int(count), score=float(avg) if avg is not None else None
        ),
    )
