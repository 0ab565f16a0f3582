"""The centre's own clock: Irkutsk time (UTC+8, no DST). Days, shifts, deadlines and the
demo's hours of the day are all counted in it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

CENTRE_TZ = ZoneInfo("Asia/Irkutsk")
