"""Appointment reminders by SMS: the evening before, and two hours before the slot.

The worker runs send_reminders every five minutes (migration 0010). Each reminder is
written at most once per appointment (a database constraint on the outbox), so a run
that overlaps another, or a worker that catches up after being down, sends no second one.
Only booked appointments are reminded: not cancelled, expired, checked-in or walk-in ones
(the patient is already at the desk), and not a number that opted out of SMS.

A reminder is only sent while it is still true: the evening one from DAY_BEFORE_AT until
midnight on the day before, the other from two hours before the slot until it starts. An
appointment booked after a reminder's moment skips it (the confirmation has just told the
patient). The text is in the language the patient last chose at a kiosk, if any.
"""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from appointments import notify
from appointments.models import Appointment, Notification
from appointments.patients import language_of
from hospital.clock import at_local, local_today
from hospital.languages import localized
from queues.messages import signature

# The day-before reminder goes out from this local time (after the day's OPD, before
# the patient's evening plans).
DAY_BEFORE_AT = datetime.time(17, 0)
SOON_BEFORE = datetime.timedelta(hours=2)


def send_reminders(*, now=None) -> int:
    """Write every reminder that is due now; returns how many. The worker sends them."""
    now = now or timezone.now()
    today = local_today(now)
    written = 0
    booked = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, is_walk_in=False, patient__mobile__isnull=False
    ).select_related("patient", "doctor__department")
    evening = at_local(today, DAY_BEFORE_AT)
    if now >= evening:
        tomorrow = today + datetime.timedelta(days=1)
        booked_before = Q(booked_at__lt=evening) | Q(booked_at__isnull=True)
        for appointment in booked.filter(booked_before, date=tomorrow):
            written += _remind(appointment, Notification.REMINDER_DAY_BEFORE)
    for appointment in booked.filter(date=today):
        starts = at_local(appointment.date, appointment.start)
        moment = starts - SOON_BEFORE
        booked_before = appointment.booked_at is None or appointment.booked_at < moment
        if moment <= now < starts and booked_before:
            written += _remind(appointment, Notification.REMINDER_SOON)
    return written


def _remind(appointment: Appointment, purpose: str) -> bool:
    language = language_of(appointment.patient)
    with translation.override(language):
        body = reminder_text(appointment, purpose)
    with transaction.atomic():
        queued = notify.queue_sms(
            appointment.patient.mobile,
            body,
            purpose=purpose,
            appointment=appointment,
            language=language,
        )
    return queued is not None


def reminder_text(appointment: Appointment, purpose: str) -> str:
    doctor = appointment.doctor
    values = {
        "doctor": doctor.name,
        "department": localized(doctor.department, "name"),
        "place": doctor.place,
        "date": appointment.date.strftime("%d-%m-%Y"),
        "time": appointment.start.strftime("%H:%M"),
    }
    if purpose == Notification.REMINDER_DAY_BEFORE:
        # Translators: an SMS the evening before an appointment; place is e.g. "Room 4".
        text = gettext(
            "Reminder: your appointment with %(doctor)s, %(department)s, %(place)s, is "
            "tomorrow %(date)s at %(time)s."
        )
    else:
        # Translators: an SMS two hours before an appointment; place is e.g. "Room 4".
        text = gettext(
            "Reminder: your appointment with %(doctor)s, %(department)s, %(place)s, is "
            "today at %(time)s. Please check in at the reception desk."
        )
    return f"{text % values} {signature()}"
