"""Changes to a booked appointment at the desk: find it, reschedule it, cancel it, check
the patient in (which gives them a token in the live queue), or mark a no-show.

Like appointments.booking: each function owns its transaction and locks the appointment
row first, refuses with a BookingError a person can read, writes an AppointmentEvent
naming who did it and why, and writes the patient's messages to the outbox in the same
transaction (the worker sends them).
"""

import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import dateformat, timezone
from django.utils.translation import gettext, gettext_noop

from appointments import notify, slots
from appointments.errors import SLOT_NOT_FREE, BookingError, require_actor, require_status
from appointments.history import MAX_EVENT_REASON_LENGTH, lock_appointment, record_event
from appointments.models import Appointment, AppointmentEvent, DoctorSchedule, OtpChallenge
from appointments.patients import language_of
from hospital.clock import at_local, day_bounds, local_today
from hospital.languages import localized
from hospital.models import Doctor
from hospital.text import InvalidText, clean_note, clean_text
from queues.models import Token, Visit
from queues.services import QueueError, issue_token
from webhooks import events as webhook_events

MAX_CANCEL_REASON_LENGTH = MAX_EVENT_REASON_LENGTH
# Stored and sent as they are here (English); the cancel page shows them translated.
CANCEL_REASONS = [
    gettext_noop("Patient asked to cancel"),
    gettext_noop("Doctor unavailable"),
    gettext_noop("Booked by mistake"),
    gettext_noop("Duplicate booking"),
]
FIND_LIMIT = 100
BOOKED = (Appointment.Status.BOOKED,)
ONLY_BOOKED_RESCHEDULED = gettext_noop("only a booked appointment can be rescheduled")


# --- Finding ------------------------------------------------------------------------------


def find_appointments(query: str, *, limit: int = FIND_LIMIT) -> QuerySet[Appointment]:
    """Appointments on any date whose patient's name or mobile matches `query`, or whose
    date is `query` (YYYY-MM-DD); newest first. Lapsed holds are left out."""
    query = " ".join((query or "").split())[:100]
    appointments = (
        Appointment.objects.select_related("patient", "doctor", "doctor__department")
        .exclude(status=Appointment.Status.EXPIRED)
        .order_by("-date", "-start", "doctor__name")
    )
    if not query:
        return appointments.none()
    match = Q(patient__name__icontains=query)
    digits = "".join(c for c in query if c.isdigit())
    if len(digits) >= 3:
        match |= Q(patient__mobile__contains=digits)
    try:
        match |= Q(date=datetime.date.fromisoformat(query))
    except ValueError:
        pass
    return appointments.filter(match)[:limit]


def _where(appointment: Appointment) -> dict:
    return {
        "date": appointment.date.isoformat(),
        "start": f"{appointment.start:%H:%M}",
        "doctor": appointment.doctor.name,
    }


def _queue_messages(appointment: Appointment, purpose: str, subject: str, text: str) -> None:
    """The patient's SMS (and email), written to the outbox in the caller's transaction."""
    patient = appointment.patient
    notify.queue_sms(patient.mobile, text, purpose=purpose, appointment=appointment)
    if patient.email:
        notify.queue_email(
            patient.email,
            subject,
            f"Dear {patient.name},\n\n{text}\n\nOPD Queue",
            purpose=purpose,
            appointment=appointment,
        )


# --- Rescheduling -------------------------------------------------------------------------


def reschedule_appointment(
    appointment: Appointment,
    *,
    day: datetime.date,
    start: datetime.time,
    doctor: Doctor | None = None,
    reason: str = "",
    actor,
    now=None,
) -> Appointment:
    """Move a booked appointment to a free slot (same doctor, or another doctor of the
    same department). The same row moves, in one transaction: the old slot is freed only
    if the new one was taken, and the database's one-per-slot constraint has the last word."""
    now = now or timezone.now()
    require_actor(actor)
    reason = clean_note(reason, MAX_CANCEL_REASON_LENGTH)
    with transaction.atomic(durable=True):
        appointment = lock_appointment(appointment)
        require_status(appointment, BOOKED, ONLY_BOOKED_RESCHEDULED)
        doctor = doctor or appointment.doctor
        if doctor.department_id != appointment.doctor.department_id:
            raise BookingError(
                gettext(
                    "%(doctor)s is not in %(department)s; choose a doctor of the same department."
                )
                % {"doctor": doctor.name, "department": localized(appointment.doctor.department)}
            )
        if doctor.pk == appointment.doctor_id and (day, start) == (
            appointment.date,
            appointment.start,
        ):
            raise BookingError(gettext("That is the appointment's current slot. Choose another."))
        plan = slots.doctor_day(doctor, day, now=now)
        slot = plan.slot_at(start) if plan else None
        if slot is None:
            raise BookingError(gettext(SLOT_NOT_FREE))
        before = _where(appointment)
        appointment.doctor, appointment.date = plan.doctor, day
        appointment.start, appointment.end = slot.start, slot.end
        # Lost to another desk: only take_slot's savepoint rolls back, and the old slot
        # stays booked.
        slots.take_slot(
            appointment, now=now, actor=actor, fields=["doctor", "date", "start", "end"]
        )
        record_event(
            appointment,
            AppointmentEvent.Kind.RESCHEDULED,
            actor,
            now,
            reason=reason,
            changes={"from": before, "to": _where(appointment)},
        )
        webhook_events.appointment_rescheduled(appointment, before, now=now)
        department = doctor.department
        when = notify.format_when(day, slot.start)
        _queue_messages(
            appointment,
            "rescheduled",
            f"Appointment moved: {doctor.name}, {when}",
            f"Your appointment has been moved to {when} with {doctor.name} "
            f"({department.name}, room {doctor.room}). Please bring this message to the "
            "reception desk.",
        )
    return appointment


# --- Cancelling ---------------------------------------------------------------------------


def cancel_appointment(appointment: Appointment, *, reason: str, actor, now=None) -> Appointment:
    """Cancel a held or booked appointment; its slot is free again at once."""
    now = now or timezone.now()
    require_actor(actor)
    try:
        reason = clean_text(reason, gettext_noop("reason for cancelling"), MAX_CANCEL_REASON_LENGTH)
    except InvalidText as exc:
        raise BookingError(str(exc)) from None
    with transaction.atomic(durable=True):
        appointment = lock_appointment(appointment)
        require_status(
            appointment,
            (Appointment.Status.HELD, Appointment.Status.BOOKED),
            gettext_noop("only a held or booked appointment can be cancelled"),
        )
        was = appointment.status
        appointment.status = Appointment.Status.CANCELLED
        appointment.hold_expires_at = None
        appointment.save(update_fields=["status", "hold_expires_at"])
        appointment.otps.filter(status=OtpChallenge.Status.ACTIVE).update(
            status=OtpChallenge.Status.VOIDED
        )
        record_event(
            appointment,
            AppointmentEvent.Kind.CANCELLED,
            actor,
            now,
            reason=reason,
            changes={"status": {"from": was, "to": Appointment.Status.CANCELLED}},
        )
        webhook_events.appointment_cancelled(appointment, was=was, now=now)
        doctor = appointment.doctor
        when = notify.format_when(appointment.date, appointment.start)
        _queue_messages(
            appointment,
            "cancellation",
            f"Appointment cancelled: {doctor.name}, {when}",
            f"Your appointment with {doctor.name} ({doctor.department.name}) on {when} "
            f"has been cancelled. Reason: {reason}. Call the hospital to book again.",
        )
    return appointment


# --- Check-in -----------------------------------------------------------------------------


def check_in(appointment: Appointment, *, actor, now=None) -> tuple[Token, bool]:
    """The patient has arrived: give them a token in their doctor's department queue,
    for their doctor only (an emergency appointment's token is an emergency), in the same
    transaction that marks the appointment CHECKED_IN. Returns (token, created): a second
    click returns the first token, it never makes a second one.

    Not durable: a walk-in is booked and checked in in one transaction (walkins)."""
    now = now or timezone.now()
    require_actor(actor)
    with transaction.atomic():
        # The row lock serialises two clicks (or two desks): the second waits here and
        # then sees CHECKED_IN. Token.appointment being one-to-one backs this up.
        appointment = lock_appointment(appointment)
        if appointment.status == Appointment.Status.CHECKED_IN:
            return Token.objects.select_related("department").get(appointment=appointment), False
        require_status(
            appointment, BOOKED, gettext_noop("only a booked appointment can be checked in")
        )
        today = local_today(now)
        if appointment.date != today:
            raise BookingError(
                gettext(
                    "This appointment is for %(day)s; a patient can be checked in only on the day."
                )
                % {"day": dateformat.format(appointment.date, "D d M Y")}
            )
        doctor = appointment.doctor
        try:
            token = issue_token(
                doctor.department,
                appointment.patient.name,
                # Registered patients may have no mobile (None).
                mobile=appointment.patient.mobile or "",
                language=language_of(appointment.patient),
                service_date=today,
                priority=Token.Priority.EMERGENCY
                if appointment.is_emergency
                else Token.Priority.NORMAL,
                actor=actor,
                now=now,
                assigned_doctor=doctor,
                appointment=appointment,
                source=Visit.Source.WALK_IN if appointment.is_walk_in else Visit.Source.BOOKED,
                patient=appointment.patient,
            )
        except QueueError as exc:  # e.g. the department does not give tokens that day
            raise BookingError(str(exc)) from None
        appointment.status = Appointment.Status.CHECKED_IN
        appointment.save(update_fields=["status"])
        record_event(
            appointment,
            AppointmentEvent.Kind.CHECKED_IN,
            actor,
            now,
            changes={"token": token.display_number},
        )
    return token, True


# --- No-show ------------------------------------------------------------------------------


def session_end(appointment: Appointment) -> datetime.datetime:
    """When the OPD session holding the appointment's slot ends (aware, local): from the
    doctor's schedule for that weekday, or the slot's own end when no session holds it."""
    schedule = (
        DoctorSchedule.objects.filter(
            doctor_id=appointment.doctor_id,
            weekday=appointment.date.weekday(),
            start__lte=appointment.start,
            end__gt=appointment.start,
        )
        .order_by("-end")
        .first()
    )
    end = schedule.end if schedule else appointment.end
    return at_local(appointment.date, end)


def may_mark_no_show(appointment: Appointment, now=None) -> bool:
    return appointment.status == Appointment.Status.BOOKED and (
        now or timezone.now()
    ) >= session_end(appointment)


def mark_no_show(appointment: Appointment, *, actor, reason: str = "", now=None) -> Appointment:
    """A booked patient who was not checked in by the end of their session."""
    now = now or timezone.now()
    require_actor(actor)
    with transaction.atomic(durable=True):
        appointment = lock_appointment(appointment)
        require_status(
            appointment,
            BOOKED,
            gettext_noop("only a booked appointment can be marked as a no-show"),
        )
        ends = session_end(appointment)
        if now < ends:
            raise BookingError(
                gettext(
                    "The session ends at %(time)s on %(day)s; mark a no-show only after it "
                    "has ended."
                )
                % {
                    "time": f"{timezone.localtime(ends):%H:%M}",
                    "day": dateformat.format(appointment.date, "d M"),
                }
            )
        appointment.status = Appointment.Status.NO_SHOW
        appointment.save(update_fields=["status"])
        record_event(
            appointment,
            AppointmentEvent.Kind.NO_SHOW,
            actor,
            now,
            reason=clean_note(reason, MAX_CANCEL_REASON_LENGTH),
        )
        webhook_events.appointment_no_show(appointment, now=now)
    return appointment


# --- The cancellations log ----------------------------------------------------------------


def cancellations_on(day: datetime.date) -> QuerySet[AppointmentEvent]:
    """The cancellations made on `day` (local), newest first."""
    begin, end = day_bounds(day)
    return (
        AppointmentEvent.objects.filter(
            kind=AppointmentEvent.Kind.CANCELLED, at__gte=begin, at__lt=end
        )
        .select_related("appointment__patient", "appointment__doctor__department", "actor")
        .order_by("-at", "-pk")
    )
