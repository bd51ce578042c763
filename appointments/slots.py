"""Slots: a doctor's weekly sessions cut into slots, which of them are free, and the
one way an appointment takes a slot. Booking, walk-ins, the waiting list, reschedules,
the availability board, doctor search and the daily report all ask here.

- A session is cut into whole slots of `slot_minutes`; its last `emergency_slots` are
  kept for emergencies. Where two sessions of a day overlap, the later session's slot
  wins.
- A slot is taken while an appointment in it is held (and the hold still runs), booked,
  checked in or completed. A lapsed hold no longer takes its slot, even before it is
  marked EXPIRED.
- Booking (and rescheduling) offers only regular slots that have not started. A walk-in
  may also take the slot running now (not yet ended), and an emergency a kept slot.
- Whatever was checked, the database has the last word: the one_active_appointment_per_slot
  constraint refuses a second appointment in a slot, and take_slot turns that refusal into
  "That slot was just taken".
"""

import datetime
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from appointments.errors import SLOT_TAKEN, BookingError
from appointments.history import record_event
from appointments.models import (
    Appointment,
    AppointmentEvent,
    DoctorLeave,
    DoctorSchedule,
    OtpChallenge,
)
from hospital.clock import local_today
from hospital.models import Doctor


@dataclass(frozen=True)
class Slot:
    start: datetime.time
    end: datetime.time
    # One of the last `emergency_slots` of its session.
    kept_for_emergencies: bool = False

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}"


# --- Cutting sessions into slots ----------------------------------------------------------


def session_slots(schedule: DoctorSchedule, day: datetime.date) -> list[Slot]:
    """Every whole slot of one session on `day`, the last `emergency_slots` marked as
    kept for emergencies."""
    step = datetime.timedelta(minutes=schedule.slot_minutes)
    begin = datetime.datetime.combine(day, schedule.start)
    finish = datetime.datetime.combine(day, schedule.end)
    times = []
    while begin + step <= finish:
        times.append((begin.time(), (begin + step).time()))
        begin += step
    regular = max(0, len(times) - schedule.emergency_slots)
    return [Slot(start, end, i >= regular) for i, (start, end) in enumerate(times)]


def day_slots(schedules, day: datetime.date) -> list[Slot]:
    """The slots of `day` from those of `schedules` held on its weekday, in time order;
    where sessions overlap, the later session's slot wins."""
    sessions = sorted(
        (s for s in schedules if s.weekday == day.weekday()), key=lambda s: (s.start, s.pk or 0)
    )
    slots = {slot.start: slot for session in sessions for slot in session_slots(session, day)}
    return [slots[start] for start in sorted(slots)]


def _shared_day_slots(schedules, day: datetime.date, cuts: dict) -> list[Slot]:
    """day_slots, each distinct set of sessions cut only once (kept in `cuts`): a
    hospital's doctors mostly keep the same hours, and the board lists every doctor.
    Slots are frozen and callers filter the list into new ones, so it can be shared."""
    sessions = sorted(
        (s for s in schedules if s.weekday == day.weekday()), key=lambda s: (s.start, s.pk or 0)
    )
    key = tuple((s.start, s.end, s.slot_minutes, s.emergency_slots) for s in sessions)
    if key not in cuts:
        cuts[key] = day_slots(sessions, day)
    return cuts[key]


# --- Which slots are free -----------------------------------------------------------------


def taking_slots(now: datetime.datetime) -> Q:
    """Appointments that occupy their slot at `now`: held (and the hold still runs),
    booked, checked in or completed."""
    lapsed = Q(status=Appointment.Status.HELD, hold_expires_at__lte=now)
    return Q(status__in=Appointment.SLOT_TAKING) & ~lapsed


def leave_on(day: datetime.date) -> QuerySet[DoctorLeave]:
    return DoctorLeave.objects.filter(start_date__lte=day, end_date__gte=day)


@dataclass(frozen=True)
class DoctorDay:
    """A doctor's free slots on one day, and why there are none ("" when there are):
    "off_duty", "past", "leave", "no_session", "over" or "full"."""

    doctor: Doctor
    day: datetime.date
    free: list[Slot]
    why: str

    def slot_at(self, start: datetime.time) -> Slot | None:
        return next((slot for slot in self.free if slot.start == start), None)


def _plan(doctor, day, now, slots: list[Slot], on_leave: bool, taken, walk_in: bool) -> DoctorDay:
    """`slots`: the doctor's slots of `day` (day_slots)."""
    local_now = timezone.localtime(now)
    if not doctor.on_duty:
        return DoctorDay(doctor, day, [], "off_duty")
    if day < local_now.date():
        return DoctorDay(doctor, day, [], "past")
    if on_leave:
        return DoctorDay(doctor, day, [], "leave")
    if not walk_in:
        slots = [slot for slot in slots if not slot.kept_for_emergencies]
    if not slots:
        return DoctorDay(doctor, day, [], "no_session")
    if day == local_now.date():
        # A slot that starts now has started; for a walk-in (the patient is here) the
        # slot running now is still good until it ends.
        if walk_in:
            slots = [slot for slot in slots if slot.end > local_now.time()]
        else:
            slots = [slot for slot in slots if slot.start > local_now.time()]
        if not slots:
            return DoctorDay(doctor, day, [], "over")
    free = [slot for slot in slots if slot.start not in taken]
    return DoctorDay(doctor, day, free, "" if free else "full")


def doctor_days(
    doctors: QuerySet[Doctor], day: datetime.date, *, now=None, walk_in=False
) -> list[DoctorDay]:
    """The free slots of each of `doctors` on `day`, in four queries (doctors, schedules,
    leave, taken slots). `walk_in`: the slots a walk-in may take (the one running now,
    and those kept for emergencies, marked); else those a booking may."""
    now = now or timezone.now()
    doctors = list(
        doctors.select_related("department").prefetch_related(
            Prefetch("schedules", queryset=DoctorSchedule.objects.filter(weekday=day.weekday())),
            Prefetch("leaves", queryset=leave_on(day)),
        )
    )
    taken: dict[int, set] = {}
    rows = Appointment.objects.filter(
        taking_slots(now), date=day, doctor__in=[d.pk for d in doctors]
    ).values_list("doctor_id", "start")
    for doctor_id, start in rows:
        taken.setdefault(doctor_id, set()).add(start)

    cuts: dict[tuple, list[Slot]] = {}
    return [
        _plan(
            doctor,
            day,
            now,
            _shared_day_slots(doctor.schedules.all(), day, cuts),
            bool(doctor.leaves.all()),
            taken.get(doctor.pk, set()),
            walk_in,
        )
        for doctor in doctors
    ]


def doctor_day(doctor: Doctor, day: datetime.date, *, now=None, walk_in=False) -> DoctorDay | None:
    """doctor_days for one doctor, read afresh (None if the doctor is gone)."""
    found = doctor_days(Doctor.objects.filter(pk=doctor.pk), day, now=now, walk_in=walk_in)
    return found[0] if found else None


def free_slots(doctor: Doctor, day: datetime.date, *, now=None) -> list[Slot]:
    """The slots of `doctor` on `day` a patient can be booked into now."""
    plan = doctor_day(doctor, day, now=now)
    return plan.free if plan else []


# --- Taking a slot ------------------------------------------------------------------------


def expire_lapsed_holds(holds: QuerySet[Appointment], now, actor=None) -> int:
    """Mark those of `holds` whose time ran out EXPIRED, each with an event, and void
    their codes; returns how many. Each row is a compare-and-swap on status, so two
    callers never expire (or log) one hold twice."""
    expired = 0
    lapsed = holds.filter(status=Appointment.Status.HELD, hold_expires_at__lte=now)
    for appointment in lapsed.only("pk"):
        won = Appointment.objects.filter(pk=appointment.pk, status=Appointment.Status.HELD).update(
            status=Appointment.Status.EXPIRED
        )
        if won:
            expired += 1
            record_event(appointment, AppointmentEvent.Kind.EXPIRED, actor, now)
            OtpChallenge.objects.filter(
                appointment=appointment, status=OtpChallenge.Status.ACTIVE
            ).update(status=OtpChallenge.Status.VOIDED)
    return expired


def take_slot(appointment: Appointment, *, now, actor=None, fields=None) -> None:
    """Save `appointment` into its slot: insert it, or save `fields` of one that moves.
    Call inside the caller's transaction, after checking the slot is free.

    A lapsed hold still sits in the unique index until it is marked EXPIRED, so any in
    the slot is expired first, in the same transaction. The write runs in a savepoint:
    when another desk took the slot since the check, the constraint refuses it, only the
    savepoint rolls back, and the caller's transaction can still raise cleanly."""
    with transaction.atomic():
        expire_lapsed_holds(
            Appointment.objects.filter(
                doctor_id=appointment.doctor_id, date=appointment.date, start=appointment.start
            ).exclude(pk=appointment.pk),
            now,
            actor,
        )
        try:
            with transaction.atomic():
                appointment.save(update_fields=fields)
        except IntegrityError:
            raise BookingError(gettext(SLOT_TAKEN)) from None


# --- The availability board and doctor search ---------------------------------------------


@dataclass(frozen=True)
class Availability:
    doctor: Doctor
    state: str  # "available" | "full" | "off"
    label: str
    free_count: int


def _availability_label(why: str, count: int, day: datetime.date, today: datetime.date):
    is_today = day == today
    if why == "":
        return "available", ngettext(
            "Available — %(count)s free slot", "Available — %(count)s free slots", count
        ) % {"count": count}
    return {
        "full": (
            "full",
            gettext("Fully booked today") if is_today else gettext("Fully booked that day"),
        ),
        "off_duty": ("off", gettext("Off duty")),
        "leave": ("off", gettext("On leave")),
        "no_session": (
            "off",
            gettext("No OPD session today") if is_today else gettext("No OPD session that day"),
        ),
        "over": ("off", gettext("OPD over for today")),
        "past": ("off", gettext("Date has passed")),
    }[why]


def doctor_availability(*, day=None, now=None) -> list[Availability]:
    """Every doctor's state on `day` (default today), by department then name."""
    now = now or timezone.now()
    today = local_today(now)
    day = day or today
    doctors = Doctor.objects.order_by("department__name", "name")
    board = []
    for plan in doctor_days(doctors, day, now=now):
        state, label = _availability_label(plan.why, len(plan.free), day, today)
        board.append(Availability(plan.doctor, state, label, len(plan.free)))
    return board


@dataclass(frozen=True)
class DoctorMatch:
    doctor: Doctor
    free_count: int


# "Dr. Rao", "dr rao", "Dr.Rao" -> "rao"; "Drake" stays "Drake".
DR_PREFIX = re.compile(r"^\s*dr(\.\s*|\s+)", re.IGNORECASE)


def search_doctors(
    query: str, *, day=None, available_only=False, now=None, limit=10, department=None
) -> list[DoctorMatch]:
    """Doctors whose name (with or without "Dr."), specialization or department matches
    `query`, case-insensitively; names that start with it first. An empty query matches
    every doctor. `department`: only that department's doctors."""
    now = now or timezone.now()
    day = day or local_today(now)
    query = " ".join((query or "").split())[:100]
    bare = DR_PREFIX.sub("", query)
    doctors = Doctor.objects.all()
    if department is not None:
        doctors = doctors.filter(department=department)
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
        DoctorMatch(plan.doctor, len(plan.free))
        for plan in doctor_days(doctors, day, now=now)
        if plan.free or not available_only
    ]
    matches.sort(key=lambda match: rank(match.doctor))
    return matches[:limit]


def appointments_on(day: datetime.date) -> QuerySet[Appointment]:
    """The day list: every appointment of `day` but lapsed holds, by time then doctor."""
    return (
        Appointment.objects.select_related("patient", "doctor", "doctor__department")
        .filter(date=day)
        .exclude(status=Appointment.Status.EXPIRED)
        .order_by("start", "doctor__name")
    )
