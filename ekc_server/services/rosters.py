"""Rosters: build the month's problem from the database, generate with CP-SAT, check any
roster with the shared rule set, change single days, publish.

The rule set lives in `ekc_roster`; this module only loads and saves.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from ekc_core.enums import AuditAction, Role
from ekc_core.localtime import CENTRE_TZ
from ekc_core.workforce import (
    CoverageGap,
    RosterAssignRequest,
    RosterCheck,
    RosterGenerateRequest,
    RosterImport,
    RosterPublic,
    RosterRules,
    RosterShiftPublic,
    RosterSwapRequest,
    RosterViolation,
)
from ekc_roster.calendar import ProductionCalendar
from ekc_roster.checker import CheckResult, check, opened_gaps
from ekc_roster.model import (
    Assignment,
    Problem,
    RosterInfeasibleError,
)
from ekc_roster.rules import impossible_requirement
from ekc_server.deps import Principal
from ekc_server.errors import (
    ConflictError,
    FieldErrorsError,
    ForbiddenError,
    InvalidFieldError,
    StaleVersionError,
)
from ekc_server.models import (
    Roster,
    RosterShift,
    ShiftTemplate,
)
from ekc_server.services import audit
from ekc_server.services.roster_problem import (
    _require_roster,
    _roster,
    _shifts,
    check_stored,
    load_problem,
)
from ekc_server.services.shifts import template_public


def _public(
    session: Session,
    roster: Roster,
    problem: Problem,
    shifts: list[Assignment],
    result: CheckResult,
    warnings: list[str] | None = None,
    opened: list[CoverageGap] | None = None,
) -> RosterPublic:
    used = {s.template_code for s in shifts}
    templates = [
        t
        for t in session.exec(select(ShiftTemplate)).all()
        if t.active or t.code in used  # a disabled kind still shown where the roster has it
    ]
    return RosterPublic(
        id=roster.id or 0,
        month=roster.month,
        status=roster.status,
        version=roster.version,
        rules=RosterRules.model_validate(roster.rules),
        solver=roster.solver,
        shifts=[
            RosterShiftPublic(username=s.username, on_date=s.on_date, template_code=s.template_code)
            for s in shifts
        ],
        templates=[
            template_public(t) for t in sorted(templates, key=lambda t: (t.starts_at, t.code))
        ],
        people=result.people,
        required=list(problem.required or [0] * (problem.days * 24)),
        covered=result.covered,
        violations=result.violations,
        gaps=result.gaps,
        group_gaps=result.group_gaps,
        warnings=[*(warnings or []), *_surplus_warning(problem, result)],
        opened_gaps=opened or [],
        days_off=[d for d in problem.month_dates if not problem.calendar.is_working_day(d)],
        holidays=[d for d in problem.month_dates if problem.is_holiday(d)],
        updated_at=roster.updated_at,
        published_at=roster.published_at,
    )


def _surplus_warning(problem: Problem, result: CheckResult) -> list[str]:
    """Everyone works their norm: a staff much larger than the requirement shows up as
    hours on shift beyond it, mostly at night (12-hour shifts with twice their length of
    rest leave no other way to work a full month)."""
    required = sum(problem.required or [])
    covered = sum(result.covered)
    if not required or covered < 1.5 * required:
        return []
    ratio = f"{covered / required:.1f}".replace(".", ",")
    return [
        f"на сменах {covered} операторо-часов при потребности {required} (в {ratio} раза "
        "больше): штат больше потребности, каждый работает свою норму; часы сверх "
        "потребности — резерв для письменных каналов и обзвона"
    ]


def _calendar_warnings(problem: Problem) -> list[str]:
    note = problem.calendar.status_warning(problem.year)
    return [note] if note else []


def generate_roster(
    *,
    session: Session,
    calendar: ProductionCalendar,
    principal: Principal,
    month: str,
    request: RosterGenerateRequest,
) -> RosterPublic:
    existing = _roster(session, month)
    if existing is not None and existing.status == "published":
        raise ConflictError(
            f"график на {month} уже опубликован; меняйте его по дням (roster assign)"
        )
    if existing is not None and not request.replace:
        raise ConflictError(
            f"черновик графика на {month} уже есть; чтобы построить заново: --replace"
        )
    problem, usernames = load_problem(
        session=session, calendar=calendar, month=month, rules=request.rules, need_requirement=True
    )
    blockers = impossible_requirement(problem)
    if blockers:
        raise FieldErrorsError(
            [(["requirement"], f"потребность невыполнима: {line}") for line in blockers]
        )
    # CP-SAT (and numpy/pandas behind it) is loaded on the first generation, not at start-up
    from ekc_roster.solver import generate

    try:
        outcome = generate(problem, time_limit=request.time_limit_seconds, seed=request.seed)
    except RosterInfeasibleError as exc:
        raise InvalidFieldError(str(exc), field="month", location="path") from exc
    ids = {u: i for i, u in usernames.items()}
    now = datetime.now(UTC)
    if existing is None:
        roster = Roster(month=month, created_by_id=principal.staff_id)
    else:
        roster = existing
        session.exec(delete(RosterShift).where(col(RosterShift.roster_id) == roster.id))
        roster.version += 1
    roster.rules = request.rules.model_dump()
    roster.solver = outcome.report()
    roster.updated_at = now
    session.add(roster)
    _flush_new(session, month)
    assert roster.id is not None
    _audit(session, principal, AuditAction.save_roster, month, phase=outcome.phase)
    session.add_all(
        RosterShift(
            roster_id=roster.id,
            staff_id=ids[a.username],
            on_date=a.on_date,
            template_code=a.template_code,
        )
        for a in outcome.assignments
    )
    session.commit()
    return _public(
        session,
        roster,
        problem,
        outcome.assignments,
        outcome.result,
        _calendar_warnings(problem) + outcome.notes,
    )


def _audit(
    session: Session, principal: Principal, action: AuditAction, month: str, **details: Any
) -> None:
    """Who built, changed or published which month's roster (labour disputes ask)."""
    audit.record(
        session=session,
        principal=principal,
        action=action,
        citizen_id=None,
        details={"month": month, **details},
    )


def _flush_new(session: Session, month: str) -> None:
    """Insert the month's roster row; another lead saving the same month at the same moment
    (the unique month) is a conflict, not a server error."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(
            f"график на {month} только что сохранил другой пользователь; посмотрите его: "
            f"ekc-admin roster show --month {month}"
        ) from exc


def read_roster(
    *, session: Session, calendar: ProductionCalendar, principal: Principal, month: str
) -> RosterPublic:
    roster = _require_roster(session, month)
    if roster.status != "published" and principal.role not in (Role.shift_lead, Role.admin):
        raise ForbiddenError("черновик графика видят только старшие смены и администраторы")
    problem, shifts, result = check_stored(session=session, calendar=calendar, roster=roster)
    return _public(session, roster, problem, shifts, result, _calendar_warnings(problem))


def check_roster(
    *,
    session: Session,
    calendar: ProductionCalendar,
    month: str,
    roster_import: RosterImport | None,
) -> RosterCheck:
    """The saved roster, or the one sent (a hand-made file), checked against the rules."""
    if roster_import is None:
        roster = _require_roster(session, month)
        rules = RosterRules.model_validate(roster.rules)
        problem, _ = load_problem(
            session=session, calendar=calendar, month=month, rules=rules, need_requirement=False
        )
        shifts = _shifts(session, roster)
    else:
        problem, _ = load_problem(
            session=session,
            calendar=calendar,
            month=month,
            rules=roster_import.rules,
            need_requirement=False,
        )
        shifts = _imported(problem, roster_import)
    result = check(problem, shifts)
    return RosterCheck(violations=result.violations, gaps=result.gaps, group_gaps=result.group_gaps)


def _imported(problem: Problem, roster_import: RosterImport) -> list[Assignment]:
    problems: list[tuple[list[str | int], str]] = []
    seen: set[tuple[str, date]] = set()
    result = []
    for i, s in enumerate(roster_import.shifts):
        loc: list[str | int] = ["shifts", i]
        if not problem.first <= s.on_date <= problem.last:
            problems.append(([*loc, "on_date"], f"{s.on_date} не в месяце графика"))
        if (s.username, s.on_date) in seen:
            problems.append(
                ([*loc, "on_date"], f"{s.username}: вторая смена на {s.on_date:%d.%m.%Y}")
            )
        seen.add((s.username, s.on_date))
        result.append(Assignment(s.username, s.on_date, s.template_code))
    if problems:
        raise FieldErrorsError(problems)
    return sorted(result)


def import_roster(
    *,
    session: Session,
    calendar: ProductionCalendar,
    principal: Principal,
    month: str,
    roster_import: RosterImport,
) -> RosterPublic:
    """A hand-made roster saved as the month's draft; refused when it breaks a rule, unless
    forced (the violations stay visible in `roster check`)."""
    existing = _roster(session, month)
    if existing is not None and existing.status == "published":
        raise ConflictError(
            f"график на {month} уже опубликован; меняйте его по дням (roster assign)"
        )
    problem, usernames = load_problem(
        session=session,
        calendar=calendar,
        month=month,
        rules=roster_import.rules,
        need_requirement=False,
    )
    shifts = _imported(problem, roster_import)
    result = check(problem, shifts)
    unknown = [v for v in result.violations if v.rule in ("unknown_template", "unknown_staff")]
    if unknown or (result.violations and not roster_import.force):
        raise _violations_error(unknown or result.violations)
    roster = existing or Roster(month=month, created_by_id=principal.staff_id)
    if existing is not None:
        session.exec(delete(RosterShift).where(col(RosterShift.roster_id) == roster.id))
        roster.version += 1
    roster.rules = roster_import.rules.model_dump()
    roster.solver = {"phase": "import", "shifts": len(shifts)}
    roster.updated_at = datetime.now(UTC)
    session.add(roster)
    _flush_new(session, month)
    ids = {u: i for i, u in usernames.items()}
    _audit(
        session,
        principal,
        AuditAction.save_roster,
        month,
        phase="import",
        forced=roster_import.force,
    )
    session.add_all(
        RosterShift(
            roster_id=roster.id or 0,
            staff_id=ids[a.username],
            on_date=a.on_date,
            template_code=a.template_code,
        )
        for a in shifts
    )
    session.commit()
    return _public(session, roster, problem, shifts, result, _calendar_warnings(problem))


class RosterRulesBrokenError(FieldErrorsError):
    """A change that would break the labour-code rules (422, one detail per violation)."""

    code = "roster_rules"


def _violation_problems(violations: list[RosterViolation]) -> list[tuple[list[str | int], str]]:
    """One 422 detail per violation: where (person, date, rule) and the whole sentence."""
    return [
        (
            [v.username, v.on_date.isoformat(), v.rule],
            f"{v.username} {v.on_date:%d.%m.%Y}: {v.message} ({v.article})",
        )
        for v in violations
    ]


def _violations_error(violations: list[RosterViolation]) -> RosterRulesBrokenError:
    return RosterRulesBrokenError(_violation_problems(violations))


def _change(
    *,
    session: Session,
    calendar: ProductionCalendar,
    principal: Principal,
    month: str,
    version: int | None,
    force: bool,
    edit: dict[tuple[str, date], str | None],
) -> RosterPublic:
    """Apply day edits (username, date) → template code or None (day off), re-check, save."""
    roster = _require_roster(session, month)
    if version is not None and version != roster.version:
        raise StaleVersionError(
            f"график изменился (версия {roster.version}, а правка сделана к {version}); "
            "посмотрите его заново: ekc-admin roster show"
        )
    rules = RosterRules.model_validate(roster.rules)
    problem, usernames = load_problem(
        session=session, calendar=calendar, month=month, rules=rules, need_requirement=False
    )
    ids = {u: i for i, u in usernames.items()}
    for (username, day), code in edit.items():
        if username not in ids:
            raise InvalidFieldError(f"{username}: нет среди активных операторов", field="username")
        if not problem.first <= day <= problem.last:
            raise InvalidFieldError(f"{day:%d.%m.%Y} не в месяце {month}", field="on_date")
        if code is not None and code not in problem.templates:
            raise InvalidFieldError(
                f"нет действующего шаблона смены «{code}» (см. ekc-admin shifts templates)",
                field="template_code",
            )
    before = _shifts(session, roster)
    current = {(a.username, a.on_date): a.template_code for a in before}
    if all(current.get(key) == code for key, code in edit.items()):
        raise InvalidFieldError("график уже такой: менять нечего", field="on_date")
    after = [a for a in before if (a.username, a.on_date) not in edit]
    after += [Assignment(u, d, c) for (u, d), c in edit.items() if c is not None]
    old = check(problem, before)
    new = check(problem, after)
    old_keys = {(v.username, v.on_date, v.rule) for v in old.violations}
    added = [v for v in new.violations if (v.username, v.on_date, v.rule) not in old_keys]
    if added and not force:
        raise _violations_error(added)
    opened = opened_gaps(problem, old.covered, new.covered)
    for (username, day), code in edit.items():
        row = session.exec(
            select(RosterShift).where(
                RosterShift.roster_id == roster.id,
                RosterShift.staff_id == ids[username],
                RosterShift.on_date == day,
            )
        ).first()
        if row is not None and code is None:
            session.delete(row)
        elif row is not None and code is not None:
            row.template_code = code
            session.add(row)
        elif code is not None:
            session.add(
                RosterShift(
                    roster_id=roster.id or 0,
                    staff_id=ids[username],
                    on_date=day,
                    template_code=code,
                )
            )
    roster.version += 1
    roster.updated_at = datetime.now(UTC)
    session.add(roster)
    _audit(
        session,
        principal,
        AuditAction.change_roster,
        month,
        edits=[[u, d.isoformat(), c] for (u, d), c in edit.items()],
        violations=[v.rule for v in added],
        opened_gaps=[g.text() for g in opened],
    )
    session.commit()
    warnings = [
        f"правка нарушает ТК РФ: {v.username} {v.on_date:%d.%m}: {v.message} ({v.article})"
        for v in added
    ]
    warnings += [f"правка открывает нехватку: {g.text()}" for g in opened]
    if roster.status == "published":
        warnings.append(
            "график уже опубликован: сообщите сотрудникам об изменении под подпись (ст.103 ТК РФ)"
        )
    return _public(session, roster, problem, sorted(after), new, warnings, opened)


def swap(
    *,
    session: Session,
    calendar: ProductionCalendar,
    principal: Principal,
    month: str,
    request: RosterSwapRequest,
) -> RosterPublic:
    if request.first == request.second:
        raise InvalidFieldError(
            "меняться сменами можно только с другим сотрудником", field="second"
        )
    roster = _require_roster(session, month)
    current = {(a.username, a.on_date): a.template_code for a in _shifts(session, roster)}
    a = current.get((request.first, request.on_date))
    b = current.get((request.second, request.on_date))
    if a is None and b is None:
        raise InvalidFieldError(
            f"{request.on_date:%d.%m.%Y} у обоих выходной: менять нечего", field="on_date"
        )
    return _change(
        session=session,
        calendar=calendar,
        principal=principal,
        month=month,
        version=request.version,
        force=request.force,
        edit={(request.first, request.on_date): b, (request.second, request.on_date): a},
    )


def assign(
    *,
    session: Session,
    calendar: ProductionCalendar,
    principal: Principal,
    month: str,
    request: RosterAssignRequest,
) -> RosterPublic:
    return _change(
        session=session,
        calendar=calendar,
        principal=principal,
        month=month,
        version=request.version,
        force=request.force,
        edit={(request.username, request.on_date): request.template_code},
    )


def publish(
    *, session: Session, calendar: ProductionCalendar, principal: Principal, month: str, force: bool
) -> RosterPublic:
    roster = _require_roster(session, month)
    if roster.status == "published":
        raise ConflictError(
            f"график на {month} уже опубликован {roster.published_at:%d.%m.%Y}"
            if roster.published_at
            else f"график на {month} уже опубликован"
        )
    problem, shifts, result = check_stored(session=session, calendar=calendar, roster=roster)
    if (result.violations or result.gaps) and not force:
        problems = _violation_problems(result.violations)
        problems += [(["gaps", g.on_date.isoformat()], g.text()) for g in result.gaps]
        raise RosterRulesBrokenError(problems)
    warnings = _calendar_warnings(problem) + notice_warning(problem.first)
    roster.status = "published"
    roster.published_at = datetime.now(UTC)
    roster.published_by_id = principal.staff_id
    roster.version += 1
    session.add(roster)
    _audit(session, principal, AuditAction.publish_roster, month, forced=force)
    session.commit()
    return _public(session, roster, problem, shifts, result, warnings)


def notice_warning(first_day: date, today: date | None = None) -> list[str]:
    """ст.103: a shift roster is brought to the staff at least a month before it takes effect."""
    today = today or datetime.now(CENTRE_TZ).date()
    month_before = _month_earlier(first_day)
    if today > month_before:
        days = (first_day - today).days
        when = f"через {days} дн." if days > 0 else "уже начался"
        return [
            f"график на {first_day:%m.%Y} ({when}) публикуется позже чем за месяц до начала: "
            f"по ст.103 ТК РФ его доводят до работников не позднее {month_before:%d.%m.%Y}"
        ]
    return []


def _month_earlier(day: date) -> date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return date(year, month, min(day.day, monthrange(year, month)[1]))
