"""The backend's "now" for routing decisions (issue 14), as a seam tests can move.

The offers poll, the reasons it gives and the claim rule depend on how long a contact has
waited. They take the time from `app.state.clock` (the system clock in UTC unless a test
puts another callable there), so a test can step through minutes of overflow without
sleeping. Times recorded on contacts (answered, ended) stay on the system clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def get_clock(request: Request) -> Clock:
    clock: Clock = getattr(request.app.state, "clock", system_clock)
    return clock


ClockDep = Annotated[Clock, Depends(get_clock)]
