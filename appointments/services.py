"""Reception's domain operations: free slots, holding a slot, confirming it with a one-time
code sent to the patient's mobile, and expiring holds nobody confirmed.

Like queues.services: every function that changes state owns its transaction, refuses a
bad request with a BookingError whose message the receptionist can read out, writes an
AppointmentEvent naming who did it, and sends messages only after commit (through
appointments.notify).

Decisions worth knowing:
- A returning patient is found by mobile. The stored name is kept (it is the name on the
  hospital's records; a retyped name must not silently rename them) unless it is empty;
  an email given now replaces the stored one (the confirmation goes where they asked).
- A resend (send_otp) extends the hold to now + SLOT_HOLD_MINUTES, so a new code is never
  outlived by its slot. It is bounded: at most OTP_MAX_SENDS_PER_DAY codes go to one
  mobile a day, so a hold lives at most about SLOT_HOLD_MINUTES x that many minutes.
- The one-time code exists only in memory and in the SMS. The database keeps a keyed
  HMAC of it (bound to the appointment and mobile); events, errors and logs never see it.
"""

import datetime
import functools
import hmac
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from appointments import holding, notify
from appointments.models import (
    Appointment,
    AppointmentEvent,
    DoctorLeave,
    DoctorSchedule,
    OtpChallenge,
    Patient,
)
from hospital.models import Doctor
from hospital.phones import InvalidMobile, normalize_mobile
from hospital.sql import insert, insert_fields, insert_params, insert_sql

MAX_NAME_LENGTH = Patient._meta.get_field("name").max_length
MAX_REASON_LENGTH = Appointment._meta.get_field("reason").max_length
MAX_EMAIL_LENGTH = Patient._meta.get_field("email").max_length
OTP_DIGITS = 6
SLOT_TAKEN = "That slot was just taken. Please choose another."
SLOT_NOT_FREE = "That slot is not free. Please choose another from the list."


class BookingError(Exception):
    """A request reception refuses; the message is shown to the receptionist as it is."""


# --- Slots --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    start: datetime.time
    end: datetime.time

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}"


def local_today(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localdate(now or timezone.now())


def _session_slots(schedule: DoctorSchedule, day: datetime.date) -> list[Slot]:
    """The bookable slots of one session: whole slots only, without the last
    `emergency_slots`, which stay free for urgent cases."""
    step = datetime.timedelta(minutes=schedule.slot_minutes)
    begin = datetime.datetime.combine(day, schedule.start)
    end = datetime.datetime.combine(day, schedule.end)
    slots = []
    while begin + step <= end:
        slots.append(Slot(begin.time(), (begin + step).time()))
        begin += step
    return slots[: max(0, len(slots) - schedule.emergency_slots)]


def _day_slots(schedules, day: datetime.date) -> list[Slot]:
    slots = {s.start: s for schedule in schedules for s in _session_slots(schedule, day)}
    return [slots[start] for start in sorted(slots)]


def _taking_slots(now: datetime.datetime) -> Q:
    """Appointments that occupy their slot at `now`: held (and the hold still runs),
    booked, checked in or completed. A lapsed hold no longer counts, even before
    expire_holds has marked it EXPIRED."""
    lapsed = Q(status=Appointment.Status.HELD, hold_expires_at__lte=now)
    return Q(status__in=Appointment.SLOT_TAKING) & ~lapsed


def _closed(on_duty: bool, day: datetime.date, now, on_leave: bool) -> str:
    """Why nobody can be booked with this doctor on `day` at all ("" if they can)."""
    if not on_duty:
        return "off_duty"
    if day < timezone.localtime(now).date():
        return "past"
    if on_leave:
        return "leave"
    return ""


def _started(start: datetime.time, day: datetime.date, now) -> bool:
    # A slot that starts now has started: it is past.
    local_now = timezone.localtime(now)
    return day < local_now.date() or (day == local_now.date() and start <= local_now.time())


def _free(doctor, day, now, schedules, on_leave: bool, taken) -> tuple[list[Slot], str]:
    """Free slots from already-loaded rows, and why there are none ("" when there are).
    The rules for a whole day: free_slots, the availability board and search use it;
    hold_slot applies the same rules to its one slot (_bookable_slot, _closed, _started)."""
    why = _closed(doctor.on_duty, day, now, on_leave)
    if why:
        return [], why
    slots = _day_slots([s for s in schedules if s.weekday == day.weekday()], day)
    if not slots:
        return [], "no_session"
    upcoming = [slot for slot in slots if not _started(slot.start, day, now)]
    if not upcoming:
        return [], "over"
    free = [slot for slot in upcoming if slot.start not in taken]
    return free, "" if free else "full"


def _bookable_slot(sessions, day: datetime.date, start: datetime.time) -> Slot | None:
    """The slot of `day` that begins at `start`, if one of that weekday's `sessions`
    has it among its bookable slots: _day_slots for one slot, by arithmetic instead of
    listing every slot of the day (when sessions overlap, the later one's slot wins, as
    there)."""
    found = None
    when = datetime.datetime.combine(day, start)
    for session in sessions:
        step = datetime.timedelta(minutes=session.slot_minutes)
        begin = datetime.datetime.combine(day, session.start)
        if when < begin:
            continue
        index, rest = divmod(when - begin, step)
        whole = (datetime.datetime.combine(day, session.end) - begin) // step
        if not rest and index < whole - session.emergency_slots:
            found = Slot(start, (when + step).time())
    return found


def free_slots(doctor: Doctor, day: datetime.date, *, now=None) -> list[Slot]:
    """The slots of `doctor` on `day` a patient can be booked into now."""
    now = now or timezone.now()
    schedules = DoctorSchedule.objects.filter(doctor=doctor, weekday=day.weekday())
    on_leave = _leave_on(day).filter(doctor=doctor).exists()
    taken = set(
        Appointment.objects.filter(_taking_slots(now), doctor=doctor, date=day).values_list(
            "start", flat=True
        )
    )
    return _free(doctor, day, now, list(schedules), on_leave, taken)[0]


def _leave_on(day: datetime.date) -> QuerySet[DoctorLeave]:
    return DoctorLeave.objects.filter(start_date__lte=day, end_date__gte=day)


def _free_by_doctor(doctors: QuerySet, day: datetime.date, now) -> list[tuple[Doctor, list, str]]:
    """free slots for many doctors in four queries (doctors, schedules, leave, taken)."""
    doctors = list(
        doctors.select_related("department").prefetch_related(
            Prefetch("schedules", queryset=DoctorSchedule.objects.filter(weekday=day.weekday())),
            Prefetch("leaves", queryset=_leave_on(day)),
        )
    )
    taken: dict[int, set] = {}
    rows = Appointment.objects.filter(
        _taking_slots(now), date=day, doctor__in=[d.pk for d in doctors]
    ).values_list("doctor_id", "start")
    for doctor_id, start in rows:
        taken.setdefault(doctor_id, set()).add(start)
    result = []
    for doctor in doctors:
        slots, why = _free(
            doctor,
            day,
            now,
            doctor.schedules.all(),
            bool(doctor.leaves.all()),
            taken.get(doctor.pk, set()),
        )
        result.append((doctor, slots, why))
    return result


@dataclass(frozen=True)
class Availability:
    doctor: Doctor
    state: str  # "available" | "full" | "off"
    label: str
    free_count: int


def _availability_label(why: str, count: int, day: datetime.date, today: datetime.date):
    when = "today" if day == today else "that day"
    if why == "":
        return "available", f"Available — {count} free slot{'' if count == 1 else 's'}"
    return {
        "full": ("full", f"Fully booked {when}"),
        "off_duty": ("off", "Off duty"),
        "leave": ("off", "On leave"),
        "no_session": ("off", f"No OPD session {when}"),
        "over": ("off", "OPD over for today"),
        "past": ("off", "Date has passed"),
    }[why]


def doctor_availability(*, day=None, now=None) -> list[Availability]:
    """Every doctor's state on `day` (default today), by department then name."""
    now = now or timezone.now()
    today = local_today(now)
    day = day or today
    doctors = Doctor.objects.order_by("department__name", "name")
    board = []
    for doctor, slots, why in _free_by_doctor(doctors, day, now):
        state, label = _availability_label(why, len(slots), day, today)
        board.append(Availability(doctor, state, label, len(slots)))
    return board


@dataclass(frozen=True)
class DoctorMatch:
    doctor: Doctor
    free_count: int


# "Dr. Rao", "dr rao", "Dr.Rao" -> "rao"; "Drake" stays "Drake".
DR_PREFIX = re.compile(r"^\s*dr(\.\s*|\s+)", re.IGNORECASE)


def search_doctors(
    query: str, *, day=None, available_only=False, now=None, limit=10
) -> list[DoctorMatch]:
    """Doctors whose name (with or without "Dr."), specialization or department matches
    `query`, case-insensitively; names that start with it first. An empty query matches
    every doctor."""
    now = now or timezone.now()
    day = day or local_today(now)
    query = " ".join((query or "").split())[:100]
    bare = DR_PREFIX.sub("", query)
    doctors = Doctor.objects.all()
    if bare:
        doctors = doctors.filter(
            Q(name__icontains=query)
            | Q(name__icontains=bare)
            | Q(specialization__icontains=bare)
            | Q(department__name__icontains=bare)
        )

    def rank(doctor: Doctor) -> tuple:
        name = doctor.name.lower()
        starts = name.startswith(bare.lower()) or DR_PREFIX.sub("", name).startswith(bare.lower())
        return (0 if starts else 1, name)

    matches = [
        DoctorMatch(doctor, len(slots))
        for doctor, slots, _ in _free_by_doctor(doctors, day, now)
        if slots or not available_only
    ]
    matches.sort(key=lambda match: rank(match.doctor))
    return matches[:limit]


def appointments_on(day: datetime.date) -> QuerySet[Appointment]:
    return (
        Appointment.objects.select_related("patient", "doctor", "doctor__department")
        .filter(date=day)
        .exclude(status=Appointment.Status.EXPIRED)
        .order_by("start", "doctor__name")
    )


# --- Validation ---------------------------------------------------------------------------


def _require_actor(actor) -> None:
    # Which role may book is the view's decision (hospital.roles); the service only
    # insists that a signed-in person is named on every event.
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise BookingError("Sign in to book appointments.")


def _clean_text(raw: str, what: str, limit: int) -> str:
    text = " ".join((raw or "").split())
    if not text:
        raise BookingError(f"Enter the {what}.")
    if len(text) > limit:
        raise BookingError(f"The {what} is too long (at most {limit} characters).")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise BookingError(f"The {what} contains characters that cannot be printed.")
    return text


def _clean_email(raw: str) -> str:
    email = (raw or "").strip()
    if not email:
        return ""
    if len(email) > MAX_EMAIL_LENGTH:
        raise BookingError("That email address is too long.")
    try:
        validate_email(email)
    except ValidationError:
        raise BookingError("Enter a valid email address, or leave it empty.") from None
    return email


def _clean_mobile(raw: str) -> str:
    try:
        mobile = normalize_mobile(raw)
    except InvalidMobile as exc:
        raise BookingError(str(exc)) from None
    if not mobile:
        raise BookingError("Enter the patient's mobile number; the code is sent there.")
    return mobile


# --- Holding a slot -----------------------------------------------------------------------


def clean_patient_details(patient_name: str, mobile: str, reason: str) -> tuple[str, str, str]:
    """The patient's name, mobile (E.164) and reason for the visit, as every booking path
    (held, walk-in, waiting list) stores them; a BookingError says what is wrong."""
    return (
        _clean_text(patient_name, "patient's name", MAX_NAME_LENGTH),
        _clean_mobile(mobile),
        _clean_text(reason, "reason for the visit", MAX_REASON_LENGTH),
    )


def _event(appointment, kind, actor, now, *, reason: str = "", changes=None):
    return AppointmentEvent(
        appointment=appointment,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        at=now,
        reason=reason[:200],
        changes=changes or {},
    )


def _record(appointment, kind, actor, now, **details) -> AppointmentEvent:
    event = _event(appointment, kind, actor, now, **details)
    event.save()
    return event


def _expire(lapsed, now, actor=None) -> int:
    """Mark lapsed holds EXPIRED, each with an event, and void their codes. Each row is
    a compare-and-swap on status, so two callers never expire (or log) one hold twice."""
    expired = 0
    for appointment in lapsed:
        won = Appointment.objects.filter(pk=appointment.pk, status=Appointment.Status.HELD).update(
            status=Appointment.Status.EXPIRED
        )
        if won:
            expired += 1
            _record(appointment, AppointmentEvent.Kind.EXPIRED, actor, now)
            appointment.otps.filter(status=OtpChallenge.Status.ACTIVE).update(
                status=OtpChallenge.Status.VOIDED
            )
    return expired


def expire_holds(*, now=None) -> int:
    """Expire every hold whose time is up; returns how many. Slots are free again
    without this (free_slots and hold_slot ignore lapsed holds); it tidies the day list
    and the history."""
    now = now or timezone.now()
    with transaction.atomic():
        lapsed = Appointment.objects.filter(
            status=Appointment.Status.HELD, hold_expires_at__lte=now
        )
        return _expire(lapsed, now)


def _day_bounds(now) -> tuple[datetime.datetime, datetime.datetime]:
    today = local_today(now)
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def _check_daily_limit(mobile: str, now) -> None:
    start, end = _day_bounds(now)
    ops = connection.ops
    with connection.cursor() as cursor:
        # Ready-made, like the rest of a hold: every returning patient's hold asks it.
        cursor.execute(
            _codes_sent_sql(),
            [mobile, ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)],
        )
        (sent,) = cursor.fetchone()
    if sent >= settings.OTP_MAX_SENDS_PER_DAY:
        raise BookingError(
            f"This mobile has already been sent {sent} codes today, the most we send in a "
            "day. Please try again tomorrow."
        )


@functools.cache
def _codes_sent_sql() -> str:
    table = connection.ops.quote_name(OtpChallenge._meta.db_table)
    # The (mobile, created_at) index answers it.
    return (
        f"SELECT COUNT(*) FROM {table} WHERE mobile = %s AND created_at >= %s AND created_at < %s"
    )


def _code_hmac(appointment: Appointment, mobile: str, code: str) -> str:
    # Bound to the appointment's public id, which exists before its row does, so a
    # hold can write the appointment and its code in one statement (appointments.holding).
    return salted_hmac(
        "opdq.otp", f"{appointment.public_id}:{mobile}:{code}", algorithm="sha256"
    ).hexdigest()


def _new_code(appointment: Appointment, mobile: str, now) -> tuple[OtpChallenge, str]:
    """A fresh code for `appointment` and the row that keeps only its HMAC."""
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    challenge = OtpChallenge(
        appointment=appointment,
        mobile=mobile,
        code_hmac=_code_hmac(appointment, mobile, code),
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=settings.OTP_TTL_MINUTES),
    )
    return challenge, code


def _text_code_on_commit(appointment: Appointment, mobile: str, code: str) -> None:
    body = (
        f"{code} is your OPD Queue code to confirm your appointment. "
        f"It is valid for {settings.OTP_TTL_MINUTES} minutes. Do not share it."
    )
    transaction.on_commit(
        lambda: notify.send_sms(mobile, body, purpose="otp", appointment=appointment, secret=True)
    )


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
    _require_actor(actor)
    name, mobile, reason = clean_patient_details(patient_name, mobile, reason)
    email = _clean_email(email)

    # Checked before the write transaction (see appointments.holding): the database
    # decides the race for the slot itself when the row goes in.
    state = holding.read_slot(doctor.pk, day, start, now)
    if state is None:
        raise BookingError("That doctor is no longer on the list. Please search again.")
    if not state.on_duty:
        raise BookingError(f"{state.doctor_name} is not on duty; choose another doctor.")
    slot = _bookable_slot(state.sessions, day, start)
    if (
        slot is None
        or state.busy
        or _closed(state.on_duty, day, now, state.on_leave)
        or _started(start, day, now)
    ):
        raise BookingError(SLOT_NOT_FREE)

    appointment = Appointment(
        doctor=doctor,
        date=day,
        start=slot.start,
        end=slot.end,
        reason=reason,
        status=Appointment.Status.HELD,
        hold_expires_at=now + datetime.timedelta(minutes=settings.SLOT_HOLD_MINUTES),
        created_by=actor,
        created_at=now,
    )
    with transaction.atomic():
        if state.lapsed:
            # A lapsed hold still sits in the unique index until it is marked EXPIRED;
            # do that here, in this transaction, so the slot can be taken again.
            _expire(
                Appointment.objects.filter(
                    doctor=doctor, date=day, start=start, status=Appointment.Status.HELD,
                    hold_expires_at__lte=now,
                ).only("pk"),
                now,
                actor,
            )  # fmt: skip
        patient, new = _patient_for(mobile, name, email)
        if not new:  # a patient registered just now has had no codes
            _check_daily_limit(mobile, now)
        appointment.patient = patient
        challenge, code = _new_code(appointment, mobile, now)
        events = [
            _event(
                appointment,
                AppointmentEvent.Kind.HELD,
                actor,
                now,
                changes={"date": day.isoformat(), "start": f"{slot.start:%H:%M}"},
            ),
            _event(appointment, AppointmentEvent.Kind.OTP_SENT, actor, now),
        ]
        if not holding.insert_hold(appointment, challenge, events):
            raise BookingError(SLOT_TAKEN)
        _text_code_on_commit(appointment, mobile, code)
    return appointment


def _patient_for(mobile: str, name: str, email: str) -> tuple[Patient, bool]:
    """The patient with this mobile (True if registered just now), in one statement: an
    upsert on the unique mobile, so two desks registering one patient at once both get
    the one row. The stored name is kept unless it is empty; an email given now replaces
    the stored one. The row stays locked to the end of the transaction (PostgreSQL locks
    an upserted row, SQLite the database), so the daily code count checked next is not
    raced."""
    patient = Patient(name=name, mobile=mobile, email=email)
    fields = insert_fields(Patient)
    params = insert_params(patient, fields)
    created_at = params[fields.index(Patient._meta.get_field("created_at"))]
    with connection.cursor() as cursor:
        cursor.execute(_patient_upsert_sql(), [*params, created_at])
        pk, stored_name, stored_email, new = cursor.fetchone()
    patient = Patient.from_db(
        connection.alias, ["id", "name", "mobile", "email"], [pk, stored_name, mobile, stored_email]
    )
    return patient, bool(new)


@functools.cache
def _patient_upsert_sql() -> str:
    qn = connection.ops.quote_name
    table = qn(Patient._meta.db_table)
    name, mobile, email, created_at = (
        qn(Patient._meta.get_field(f).column) for f in ("name", "mobile", "email", "created_at")
    )
    # A row registered by this statement carries the created_at it was given; an
    # existing patient's is older. That tells the caller which it was, on both databases.
    return (
        f"{insert_sql(Patient)} ON CONFLICT ({mobile}) DO UPDATE SET "
        f"{name} = CASE WHEN {table}.{name} = '' THEN excluded.{name} ELSE {table}.{name} END, "
        f"{email} = CASE WHEN excluded.{email} <> '' THEN excluded.{email} "
        f"ELSE {table}.{email} END "
        f"RETURNING {qn(Patient._meta.pk.column)}, {name}, {email}, {created_at} = %s"
    )


# --- Codes --------------------------------------------------------------------------------


def _lock(appointment: Appointment) -> Appointment:
    # Serialises everything done to one appointment (resend, verify, two tabs): the
    # checks below and the writes that follow see each other's result.
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "doctor", "doctor__department")
        .get(pk=appointment.pk)
    )


def status_refusal(appointment: Appointment, allowed, only: str) -> str:
    """Why `appointment` cannot have this done to it in its status, in words ("" when
    its status is `allowed`); `only` ends the sentence, e.g. "only a booked appointment
    can be rescheduled"."""
    if appointment.status in allowed:
        return ""
    return f"This appointment is {appointment.get_status_display().lower()}; {only}."


def require_status(appointment: Appointment, allowed, only: str) -> None:
    """BookingError(status_refusal(...)) unless `appointment`'s status is `allowed`."""
    refusal = status_refusal(appointment, allowed, only)
    if refusal:
        raise BookingError(refusal)


def _check_still_held(appointment: Appointment, now) -> None:
    status = appointment.status
    if status == Appointment.Status.BOOKED:
        raise BookingError("This appointment is already confirmed.")
    if status == Appointment.Status.EXPIRED or (
        status == Appointment.Status.HELD and appointment.hold_expires_at <= now
    ):
        raise BookingError(
            "The hold on this slot has expired. Please choose a slot and book again."
        )
    require_status(appointment, (Appointment.Status.HELD,), "it no longer needs a code")


def _latest_send(appointment: Appointment):
    return (
        OtpChallenge.objects.filter(appointment=appointment)
        .order_by("-created_at", "-pk")
        .values_list("created_at", flat=True)
        .first()
    )


def seconds_until_resend(appointment: Appointment, *, now=None) -> int:
    """Seconds until send_otp will accept a new code for this appointment (0: now)."""
    now = now or timezone.now()
    last = _latest_send(appointment)
    if last is None:
        return 0
    left = settings.OTP_RESEND_SECONDS - (now - last).total_seconds()
    return max(0, math.ceil(left))


def send_otp(appointment: Appointment, *, actor, now=None) -> None:
    """Send a new code (the old one stops working) and extend the hold."""
    now = now or timezone.now()
    _require_actor(actor)
    with transaction.atomic():
        appointment = _lock(appointment)
        _check_still_held(appointment, now)
        wait = seconds_until_resend(appointment, now=now)
        if wait:
            raise BookingError(
                f"You can send a new code in {wait} second{'' if wait == 1 else 's'}."
            )
        patient = Patient.objects.select_for_update().get(pk=appointment.patient_id)
        _check_daily_limit(patient.mobile, now)
        appointment.hold_expires_at = now + datetime.timedelta(minutes=settings.SLOT_HOLD_MINUTES)
        appointment.save(update_fields=["hold_expires_at"])
        # A new code voids the old one.
        appointment.otps.filter(status=OtpChallenge.Status.ACTIVE).update(
            status=OtpChallenge.Status.VOIDED
        )
        challenge, code = _new_code(appointment, patient.mobile, now)
        insert([challenge])
        _record(appointment, AppointmentEvent.Kind.OTP_SENT, actor, now)
        _text_code_on_commit(appointment, patient.mobile, code)


def _clean_code(raw: str) -> str:
    code = re.sub(r"[\s-]", "", raw or "")
    if not re.fullmatch(rf"\d{{{OTP_DIGITS}}}", code):
        raise BookingError(f"Enter the {OTP_DIGITS}-digit code from the SMS.")
    return code


def verify_otp(appointment: Appointment, code: str, *, actor, now=None) -> Appointment:
    """Book the held appointment when `code` is the one texted to the patient.

    A wrong code is counted (and the code voided after OTP_MAX_ATTEMPTS) in a transaction
    that commits before the BookingError is raised, so an error cannot undo the count.
    Do not call this inside an outer transaction (the count would roll back with it)."""
    now = now or timezone.now()
    _require_actor(actor)
    code = _clean_code(code)
    refusal = None
    with transaction.atomic():
        appointment = _lock(appointment)
        _check_still_held(appointment, now)
        challenge = (
            OtpChallenge.objects.filter(appointment=appointment, status=OtpChallenge.Status.ACTIVE)
            .order_by("-created_at", "-pk")
            .first()
        )
        if challenge is None:
            raise BookingError("There is no active code for this booking. Send a new code.")
        if challenge.expires_at <= now:
            raise BookingError("That code has expired. Send a new code.")
        expected = _code_hmac(appointment, challenge.mobile, code)
        if not hmac.compare_digest(expected, challenge.code_hmac):
            challenge.attempts += 1
            left = settings.OTP_MAX_ATTEMPTS - challenge.attempts
            if left <= 0:
                challenge.status = OtpChallenge.Status.VOIDED
                refusal = "Too many wrong codes. Send a new code."
            else:
                refusal = f"That code is not right. {left} attempt{'' if left == 1 else 's'} left."
            challenge.save(update_fields=["attempts", "status"])
            _record(
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
            _record(appointment, AppointmentEvent.Kind.BOOKED, actor, now)
            _confirm_on_commit(appointment)
    if refusal:
        raise BookingError(refusal)
    return appointment


def _confirm_on_commit(appointment: Appointment) -> None:
    patient, doctor = appointment.patient, appointment.doctor
    when = notify.format_when(appointment.date, appointment.start)
    text = (
        f"Your appointment with {doctor.name} ({doctor.department.name}, room {doctor.room}) "
        f"on {when} is confirmed. Please bring this message to the reception desk."
    )

    def send():
        notify.send_sms(patient.mobile, text, purpose="confirmation", appointment=appointment)
        if patient.email:
            notify.send_email(
                patient.email,
                f"Appointment confirmed: {doctor.name}, {when}",
                f"Dear {patient.name},\n\n{text}\n\nOPD Queue",
                purpose="confirmation",
                appointment=appointment,
            )

    transaction.on_commit(send)
