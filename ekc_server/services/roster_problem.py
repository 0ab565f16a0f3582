"""The month's rostering problem as the database has it: staff (with their operator
groups), shift kinds, absences, wishes, the stored requirement (pooled and per group) and the
end of the previous month's roster; and a stored roster checked against it."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from ekc_core.enums import Role
from ekc_core.workforce import RosterRules
from ekc_roster.calendar import CalendarMissingError, ProductionCalendar
from ekc_roster.checker import CheckResult, check
from ekc_roster.model import (
    LOOKBACK_DAYS,
    Absence,
    Assignment,
    Person,
    Preference,
    Problem,
    RosterInputError,
    Template,
)
from ekc_server.errors import InvalidFieldError, NotFoundError
from ekc_server.models import (
    Roster,
    RosterShift,
    ShiftTemplate,
    Staff,
    StaffAbsence,
    StaffingRequirement,
    StaffPreference,
)
from ekc_server.services.routing import table_in_force
from ekc_server.services.shifts import month_range

#: who is rostered against the phone requirement
ROSTERED_ROLES = (Role.operator.value,)


def _calendar_for(cal: ProductionCalendar, month: str) -> ProductionCalendar:
    year = int(month[:4])
    try:
        cal.year(year)
    except CalendarMissingError as exc:
        raise InvalidFieldError(str(exc), field="month", location="path") from exc
    return cal


def _templates(session: Session) -> dict[str, Template]:
    rows = session.exec(select(ShiftTemplate).where(col(ShiftTemplate.active).is_(True))).all()
    return {t.code: Template.of(t.code, t.starts_at, t.ends_at, t.break_minutes) for t in rows}


def _people(session: Session) -> list[Staff]:
    return list(
        session.exec(
            select(Staff)
            .where(col(Staff.active).is_(True), col(Staff.role).in_(ROSTERED_ROLES))
            .order_by(col(Staff.full_name), col(Staff.username))
        ).all()
    )


def _roster(session: Session, month: str) -> Roster | None:
    return session.exec(select(Roster).where(Roster.month == month)).first()


def _require_roster(session: Session, month: str) -> Roster:
    roster = _roster(session, month)
    if roster is None:
        raise NotFoundError(
            f"графика на {month} нет; постройте его: ekc-admin roster generate --month {month}"
        )
    return roster


def _previous_month(month: str) -> str:
    first, _ = month_range(month)
    prev = first - timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def load_problem(
    *,
    session: Session,
    calendar: ProductionCalendar,
    month: str,
    rules: RosterRules,
    need_requirement: bool,
) -> tuple[Problem, dict[int, str]]:
    """The month's problem and the staff ids → usernames of everyone it mentions."""
    cal = _calendar_for(calendar, month)
    first, last = month_range(month)
    staff = _people(session)
    usernames = {s.id or 0: s.username for s in staff}
    requirement = session.get(StaffingRequirement, month)
    if requirement is None and need_requirement:
        raise InvalidFieldError(
            f"нет потребности в операторах на {month}; рассчитайте её: "
            f"ekc-admin staffing requirements --month {month}",
            field="month",
            location="path",
        )
    horizon = first - timedelta(days=LOOKBACK_DAYS)
    absences = [
        Absence(usernames[a.staff_id], a.start_date, a.end_date, a.kind)
        for a in session.exec(
            select(StaffAbsence).where(
                col(StaffAbsence.staff_id).in_(list(usernames)),
                col(StaffAbsence.end_date) >= horizon,
                col(StaffAbsence.start_date) <= last,
            )
        ).all()
    ]
    preferences = [
        Preference(usernames[w.staff_id], w.kind, w.on_date, w.weekday, w.template_code)
        for w in session.exec(
            select(StaffPreference).where(col(StaffPreference.staff_id).in_(list(usernames)))
        ).all()
        if w.on_date is None or first <= w.on_date <= last
    ]
    before: list[Assignment] = []
    previous = _roster(session, _previous_month(month))
    if previous is not None:
        rows = session.exec(
            select(RosterShift, Staff.username)
            .join(Staff, col(Staff.id) == RosterShift.staff_id)
            .where(RosterShift.roster_id == previous.id, col(RosterShift.on_date) >= horizon)
        ).all()
        before = [
            Assignment(u, r.on_date, r.template_code) for r, u in rows if u in usernames.values()
        ]
    # each operator group's own requirement, when the stored one has them; staff belong to
    # the groups of the routing table in force that their skills name (none: general)
    by_group = list(requirement.params.get("groups") or []) if requirement is not None else []
    table = table_in_force(session) if by_group else None
    try:
        problem = Problem(
            year=first.year,
            month=first.month,
            people=[
                Person(
                    s.username,
                    s.full_name,
                    s.employment_rate,
                    s.week_hours,
                    s.night_work,
                    table.member_groups(s.skills) if table is not None else frozenset(),
                )
                for s in staff
            ],
            templates=_templates(session),
            calendar=cal,
            rules=rules,
            required=list(requirement.hourly) if requirement is not None else None,
            absences=absences,
            preferences=preferences,
            before=before,
            previous_known=previous is not None,
            group_required={g["code"]: list(g["hourly"]) for g in by_group} or None,
            group_names={g["code"]: g["name"] for g in by_group},
            group_merged={
                g["code"]: list(g["merged_into"]) for g in by_group if g.get("merged_into")
            },
        )
    except RosterInputError as exc:
        raise InvalidFieldError(str(exc), field="month", location="path") from exc
    return problem, usernames


def _shifts(session: Session, roster: Roster) -> list[Assignment]:
    rows = session.exec(
        select(RosterShift, Staff.username)
        .join(Staff, col(Staff.id) == RosterShift.staff_id)
        .where(RosterShift.roster_id == roster.id)
    ).all()
    return sorted(Assignment(u, r.on_date, r.template_code) for r, u in rows)


def check_stored(
    *, session: Session, calendar: ProductionCalendar, roster: Roster
) -> tuple[Problem, list[Assignment], CheckResult]:
    """A stored roster checked against its month: the problem, its shifts and the result
    (rules and coverage of the stored requirement for every hour)."""
    problem, _ = load_problem(
        session=session,
        calendar=calendar,
        month=roster.month,
        rules=RosterRules.model_validate(roster.rules),
        need_requirement=False,
    )
    shifts = _shifts(session, roster)
    return problem, shifts, check(problem, shifts)
