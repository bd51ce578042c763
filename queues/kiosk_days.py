"""Which day a department's token is for, said plainly in the patient's language.

A department closed today gives tokens for its next open day; the kiosk and the
take-a-token page say so ("Closed today — tokens for Monday") instead of quietly
changing the date. Days are the hospital's (settings.TIME_ZONE), never the browser's.
"""

import datetime

from django.utils import formats
from django.utils.translation import gettext as _

from hospital.models import Department
from queues.services import bookable_dates


def first_token_day(department: Department, today: datetime.date) -> datetime.date | None:
    """Today if the department is open today, else its next open day within its booking
    window; None if it has none (closed all week, or a window too short)."""
    days = bookable_dates(department, today)
    return days[0] if days else None


def day_name(day: datetime.date, today: datetime.date) -> str:
    """ "today", "tomorrow", "Monday" (within a week) or "Monday 30 November", in the
    active language."""
    if day == today:
        # Translators: as in "Closed today — tokens for today" (never shown that way).
        return _("today")
    if day == today + datetime.timedelta(days=1):
        # Translators: as in "Closed today — tokens for tomorrow".
        return _("tomorrow")
    if (day - today).days < 7:
        return formats.date_format(day, "l")
    return formats.date_format(day, "l j F")


def closed_today_text(department: Department, today: datetime.date) -> str:
    """What to tell a patient choosing `department` today; "" when it is open today."""
    if department.is_open_on(today):
        return ""
    day = first_token_day(department, today)
    if day is None:
        return _("Closed today — no tokens can be taken now.")
    # Translators: %(day)s is "tomorrow" or a weekday, e.g. "Closed today — tokens for Monday".
    return _("Closed today — tokens for %(day)s") % {"day": day_name(day, today)}
