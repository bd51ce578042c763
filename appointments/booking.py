"""Booking an appointment: hold a free slot, text the patient a one-time code, book the
slot when the code comes back (verify_otp), and expire holds nobody confirmed.

Every function that changes state owns its transaction, refuses a bad request with a
BookingError whose message the receptionist can read out, writes an AppointmentEvent
naming who did it, and writes its messages to the outbox in the same transaction
(appointments.notify; the worker sends them).

Decisions worth knowing:
- A resend (send_otp) extends the hold to now + SLOT_HOLD_MINUTES, so a new code is never
  outlived by its slot. It is bounded: at most OTP_MAX_SENDS_PER_DAY codes go to one
  mobile a day, so a hold lives at most about SLOT_HOLD_MINUTES x that many minutes.
- The one-time code exists only in memory and in the SMS. The database keeps a keyed
  HMAC of it (bound to the appointment and mobile); events, errors and logs never see it.
"""

import datetime
import hmac
import math
import re
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_noop, ngettext

from appointments import notify, slots
from appointments.errors import SLOT_NOT_FREE, BookingError, require_actor, require_status
from appointments.history import lock_appointment, record_event
from appointments.models import Appointment, AppointmentEvent, OtpChallenge, Patient
from appointments.patients import clean_email, clean_patient_details, find_or_register_patient
from hospital.clock import day_bounds, local_today
from hospital.models import Doctor
from webhooks import events as webhook_events

OTP_DIGITS = 6


# --- Holding a slot -----------------------------------------------------------------------


def hold_slot(
    *,
    doctor: Doctor,
    day: datetime.date,
    start: datetime.time,
    patient_name: str,
    mobile: str,
    reason: str,
    email: str = "",
    actor,
    now=None,
) -> Appointment:
    """Hold a free slot for SLOT_HOLD_MINUTES and text the patient a code that confirms
    it (verify_otp)."""
    now = now or timezone.now()
    require_actor(actor)
    name, mobile, reason = clean_patient_details(patient_name, mobile, reason)
    email = clean_email(email)
    with transaction.atomic(durable=True):
        check_desk_limits(actor, now, holding=True)
        plan = slots.doctor_day(doctor, day, now=now)
        if plan is None:
            raise BookingError(
                gettext("That doctor is no longer on the list. Please search again.")
            )
        if plan.why == "off_duty":
            raise BookingError(
                gettext("%(doctor)s is not on duty; choose another doctor.")
                % {"doctor": plan.doctor.name}
            )
        slot = plan.slot_at(start)
        if slot is None:
            raise BookingError(gettext(SLOT_NOT_FREE))
        patient = find_or_register_patient(mobile, name, email)
        check_daily_limit(mobile, now)
        appointment = Appointment(
            patient=patient,
            doctor=plan.doctor,
            date=day,
            start=slot.start,
            end=slot.end,
            reason=reason,
            status=Appointment.Status.HELD,
            hold_expires_at=now + datetime.timedelta(minutes=settings.SLOT_HOLD_MINUTES),
            created_by=actor,
            created_at=now,
        )
        slots.take_slot(appointment, now=now, actor=actor)
        record_event(
            appointment,
            AppointmentEvent.Kind.HELD,
            actor,
            now,
            changes={"date": day.isoformat(), "start": f"{slot.start:%H:%M}"},
        )
        _send_code(appointment, mobile, actor, now)
    return appointment


def expire_holds(*, now=None) -> int:
    """Expire every hold whose time is up; returns how many. Slots are free again
    without this (booking ignores lapsed holds); it tidies the day list and the history."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        return slots.expire_lapsed_holds(Appointment.objects.all(), now)


def check_desk_limits(actor, now, *, holding: bool = False) -> None:
    """BookingError when one desk user has too many slots on hold (with `holding`) or
    has had codes texted too often in the last hour: one session, or a stolen one, must
    not empty a doctor's day or text random mobiles. Call inside the write transaction:
    the user's row lock makes two clicks of one desk count one after the other."""
    # FOR NO KEY UPDATE: it queues this desk's own bookings without blocking the foreign
    # key checks other transactions make on the same user row (a plain FOR UPDATE did,
    # and deadlocked a reschedule racing a hold on PostgreSQL).
    list(get_user_model().objects.select_for_update(no_key=True).filter(pk=actor.pk).only("pk"))
    if holding:
        held = Appointment.objects.filter(
            created_by=actor, status=Appointment.Status.HELD, hold_expires_at__gt=now
        ).count()
        if held >= settings.DESK_MAX_OPEN_HOLDS:
            raise BookingError(
                gettext(
                    "You already have %(held)s slots on hold waiting for a code, the most "
                    "one desk may hold at once. Confirm or cancel one of them first (a hold "
                    "also lapses after %(minutes)s minutes)."
                )
                % {"held": held, "minutes": settings.SLOT_HOLD_MINUTES}
            )
    texted = AppointmentEvent.objects.filter(
        actor=actor,
        kind=AppointmentEvent.Kind.OTP_SENT,
        at__gt=now - datetime.timedelta(hours=1),
    ).count()
    if texted >= settings.DESK_MAX_CODES_PER_HOUR:
        raise BookingError(
            gettext(
                "You have had %(count)s codes texted in the last hour, the most one desk may "
                "send. Please wait a while, or ask another receptionist."
            )
            % {"count": texted}
        )


# --- Codes --------------------------------------------------------------------------------


def check_daily_limit(mobile: str, now) -> None:
    """BookingError when `mobile` has had its codes for today. The caller holds the
    patient's row lock (find_or_register_patient), so two desks cannot both pass."""
    start, end = day_bounds(local_today(now))
    # The (mobile, created_at) index answers it.
    sent = OtpChallenge.objects.filter(
        mobile=mobile, created_at__gte=start, created_at__lt=end
    ).count()
    if sent >= settings.OTP_MAX_SENDS_PER_DAY:
        raise BookingError(
            gettext(
                "This mobile has already been sent %(count)s codes today, the most we send "
                "in a day. Please try again tomorrow."
            )
            % {"count": sent}
        )


def _code_hmac(appointment: Appointment, mobile: str, code: str) -> str:
    return salted_hmac(
        "opdq.otp", f"{appointment.public_id}:{mobile}:{code}", algorithm="sha256"
    ).hexdigest()


def _send_code(appointment: Appointment, mobile: str, actor, now) -> None:
    """A fresh code for `appointment`: the row that keeps only its HMAC, the OTP_SENT
    event, and the SMS after commit."""
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    OtpChallenge.objects.create(
        appointment=appointment,
        mobile=mobile,
        code_hmac=_code_hmac(appointment, mobile, code),
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=settings.OTP_TTL_MINUTES),
    )
    record_event(appointment, AppointmentEvent.Kind.OTP_SENT, actor, now)
    body = (
        f"{code} is your OPD Queue code to confirm your appointment. "
        f"It is valid for {settings.OTP_TTL_MINUTES} minutes. Do not share it."
    )
    # Secret: the outbox clears the text once it is sent, and gives up on it once the code
    # has expired (appointments.models.Notification).
    notify.queue_sms(
        mobile, body, purpose="otp", appointment=appointment, secret=True,
        expires_in=datetime.timedelta(minutes=settings.OTP_TTL_MINUTES),
    )  # fmt: skip


def _check_still_held(appointment: Appointment, now) -> None:
    status = appointment.status
    if status == Appointment.Status.BOOKED:
        raise BookingError(gettext("This appointment is already confirmed."))
    if status == Appointment.Status.EXPIRED or (
        status == Appointment.Status.HELD and appointment.hold_expires_at <= now
    ):
        raise BookingError(
            gettext("The hold on this slot has expired. Please choose a slot and book again.")
        )
    require_status(
        appointment, (Appointment.Status.HELD,), gettext_noop("it no longer needs a code")
    )


def seconds_until_resend(appointment: Appointment, *, now=None) -> int:
    """Seconds until send_otp will accept a new code for this appointment (0: now)."""
    now = now or timezone.now()
    last = (
        OtpChallenge.objects.filter(appointment=appointment)
        .order_by("-created_at", "-pk")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return 0
    left = settings.OTP_RESEND_SECONDS - (now - last).total_seconds()
    return max(0, math.ceil(left))


def send_otp(appointment: Appointment, *, actor, now=None) -> None:
    """Send a new code (the old one stops working) and extend the hold."""
    now = now or timezone.now()
    require_actor(actor)
    with transaction.atomic(durable=True):
        check_desk_limits(actor, now)
        appointment = lock_appointment(appointment)
        _check_still_held(appointment, now)
        wait = seconds_until_resend(appointment, now=now)
        if wait:
            raise BookingError(
                ngettext(
                    "You can send a new code in %(count)s second.",
                    "You can send a new code in %(count)s seconds.",
                    wait,
                )
                % {"count": wait}
            )
        # The patient's row lock keeps the daily count honest across their other holds.
        patient = Patient.objects.select_for_update().get(pk=appointment.patient_id)
        check_daily_limit(patient.mobile, now)
        appointment.hold_expires_at = now + datetime.timedelta(minutes=settings.SLOT_HOLD_MINUTES)
        appointment.save(update_fields=["hold_expires_at"])
        appointment.otps.filter(status=OtpChallenge.Status.ACTIVE).update(
            status=OtpChallenge.Status.VOIDED
        )
        _send_code(appointment, patient.mobile, actor, now)


def _clean_code(raw: str) -> str:
    code = re.sub(r"[\s-]", "", raw or "")
    if not re.fullmatch(rf"\d{{{OTP_DIGITS}}}", code):
        raise BookingError(
            gettext("Enter the %(digits)s-digit code from the SMS.") % {"digits": OTP_DIGITS}
        )
    return code


def verify_otp(appointment: Appointment, code: str, *, actor, now=None) -> Appointment:
    """Book the held appointment when `code` is the one texted to the patient.

    A wrong code is counted (and the code voided after OTP_MAX_ATTEMPTS) in a transaction
    that commits before the BookingError is raised, so the error cannot undo the count;
    hence durable: inside a caller's transaction the count would roll back with it."""
    now = now or timezone.now()
    require_actor(actor)
    code = _clean_code(code)
    refusal = None
    with transaction.atomic(durable=True):
        appointment = lock_appointment(appointment)
        _check_still_held(appointment, now)
        challenge = (
            OtpChallenge.objects.filter(appointment=appointment, status=OtpChallenge.Status.ACTIVE)
            .order_by("-created_at", "-pk")
            .first()
        )
        if challenge is None:
            raise BookingError(
                gettext("There is no active code for this booking. Send a new code.")
            )
        if challenge.expires_at <= now:
            raise BookingError(gettext("That code has expired. Send a new code."))
        expected = _code_hmac(appointment, challenge.mobile, code)
        if not hmac.compare_digest(expected, challenge.code_hmac):
            challenge.attempts += 1
            left = settings.OTP_MAX_ATTEMPTS - challenge.attempts
            if left <= 0:
                challenge.status = OtpChallenge.Status.VOIDED
                refusal = gettext("Too many wrong codes. Send a new code.")
            else:
                refusal = ngettext(
                    "That code is not right. %(count)s attempt left.",
                    "That code is not right. %(count)s attempts left.",
                    left,
                ) % {"count": left}
            challenge.save(update_fields=["attempts", "status"])
            record_event(
                appointment,
                AppointmentEvent.Kind.OTP_FAILED,
                actor,
                now,
                changes={"attempts": challenge.attempts},
            )
        else:
            challenge.status = OtpChallenge.Status.USED
            challenge.save(update_fields=["status"])
            appointment.status = Appointment.Status.BOOKED
            appointment.booked_at = now
            appointment.hold_expires_at = None
            appointment.save(update_fields=["status", "booked_at", "hold_expires_at"])
            record_event(appointment, AppointmentEvent.Kind.BOOKED, actor, now)
            webhook_events.appointment_booked(appointment, now=now)
            _queue_confirmation(appointment)
    if refusal:
        raise BookingError(refusal)
    return appointment


def _queue_confirmation(appointment: Appointment) -> None:
    patient, doctor = appointment.patient, appointment.doctor
    when = notify.format_when(appointment.date, appointment.start)
    text = (
        f"Your appointment with {doctor.name} ({doctor.department.name}, room {doctor.room}) "
        f"on {when} is confirmed. Please bring this message to the reception desk."
    )
    notify.queue_sms(patient.mobile, text, purpose="confirmation", appointment=appointment)
    if patient.email:
        notify.queue_email(
            patient.email,
            f"Appointment confirmed: {doctor.name}, {when}",
            f"Dear {patient.name},\n\n{text}\n\nOPD Queue",
            purpose="confirmation",
            appointment=appointment,
        )
