"""The hospital's local day. Tokens are numbered, slots cut and reports counted per local
day, in settings.TIME_ZONE; every module asks here instead of doing its own arithmetic."""

import datetime

from django.utils import timezone


def local_today(now: datetime.datetime | None = None) -> datetime.date:
    """The hospital's date at `now` (default: the current time)."""
    return timezone.localdate(now or timezone.now())


def day_start(day: datetime.date) -> datetime.datetime:
    """Local midnight at the start of `day`, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of the local `day`. The end is the next day's own midnight, not
    start + 24 h, so a day on which the clocks change is 23 or 25 hours long."""
    return day_start(day), day_start(day + datetime.timedelta(days=1))


def at_local(day: datetime.date, time: datetime.time) -> datetime.datetime:
    """`time` on `day` on the hospital's wall clock, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, time))
