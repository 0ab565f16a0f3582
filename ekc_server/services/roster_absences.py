"""What a new absence does to the rosters already made for its days: the shifts it falls on
and the coverage gaps that taking them off would open (said at once, not at the next check).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from ekc_core.workforce import (
    AbsenceCreated,
    AbsenceKind,
    CoverageGap,
    RosterShiftPublic,
)
from ekc_roster.calendar import ProductionCalendar
from ekc_roster.checker import check, opened_gaps
from ekc_server.services.roster_problem import _roster, check_stored
from ekc_server.services.shifts import ABSENCE_NAMES


def _months(start: date, end: date) -> list[str]:
    """Months whose shifts can run into [start, end]: a night shift of the day before too."""
    day = (start - timedelta(days=1)).replace(day=1)
    months = []
    while day <= end:
        months.append(f"{day.year:04d}-{day.month:02d}")
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def absence_impact(
    *, session: Session, calendar: ProductionCalendar, absence: AbsenceCreated
) -> AbsenceCreated:
    """`absence` (already saved) with the shifts of existing rosters it falls on, the gaps
    taking them off would open, and a warning per roster naming both."""
    kind = ABSENCE_NAMES.get(AbsenceKind(absence.kind), "отсутствие")
    warnings: list[str] = []
    hit: list[RosterShiftPublic] = []
    opened: list[CoverageGap] = []
    for month in _months(absence.start_date, absence.end_date):
        roster = _roster(session, month)
        if roster is None:
            continue
        problem, shifts, result = check_stored(session=session, calendar=calendar, roster=roster)
        clash = {
            (v.username, v.on_date)
            for v in result.violations
            if v.rule == "absence" and v.username == absence.username
        }
        mine = [a for a in shifts if (a.username, a.on_date) in clash]
        if not mine:
            continue
        without = check(problem, [a for a in shifts if (a.username, a.on_date) not in clash])
        gaps = opened_gaps(problem, result.covered, without.covered)
        status = "опубликован" if roster.status == "published" else "черновик"
        listed = ", ".join(f"{a.on_date:%d.%m} «{a.template_code}»" for a in mine)
        first = mine[0]
        warnings.append(
            f"график на {month} ({status}): {kind} приходится на смены {absence.username} "
            f"{listed} — снимите или передайте их: ekc-admin roster assign "
            f"{absence.username} {first.on_date.isoformat()} - (или roster swap)"
        )
        warnings += [f"без этих смен нехватка: {g.text()}" for g in gaps]
        if roster.status == "published":
            warnings.append(
                "график уже опубликован: об изменении сообщите сотрудникам под подпись "
                "(ст.103 ТК РФ)"
            )
        hit += [
            RosterShiftPublic(username=a.username, on_date=a.on_date, template_code=a.template_code)
            for a in mine
        ]
        opened += gaps
    return absence.model_copy(update={"warnings": warnings, "shifts": hit, "opened_gaps": opened})
