"""Walk-ins, emergencies and the waiting list.

A patient with no booking is booked at the desk into a free slot of today (no one-time
code: the patient is standing there) and checked in at once. An emergency may also take
one of the slots kept free at the end of each session (DoctorSchedule.emergency_slots),
and its token goes to the front of the queue. When there is no slot, the patient waits on
the waiting list and is offered the next slot that frees up, emergencies first, then by
arrival.

Decisions worth knowing:
- A walk-in's "slot now" is the doctor's earliest free slot of today that has not ended:
  the slot running now counts (the patient is here), so do later ones today.
- The database's one-active-appointment-per-slot constraint decides a race; the loser
  gets BookingError(SLOT_TAKEN) and the page offers the next option.
- Checking in goes through appointments.changes.check_in when it exists (the queue's
  rules for booked patients live there); until then a token is issued here.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from appointments import changes
from appointments.holding import take_slot
from appointments.models import (
    Appointment,
    AppointmentEvent,
    DoctorSchedule,
    WaitingListEntry,
)
from appointments.services import (
    SLOT_TAKEN,
    BookingError,
    _leave_on,
    _patient_for,
    _record,
    _require_actor,
    _taking_slots,
    clean_patient_details,
    local_today,
)
from hospital.models import Department, Doctor

SLOT_GONE = "That slot is no longer free. Please choose another."


# --- Slots open to a walk-in ----------------------------------------------------------


@dataclass(frozen=True)
class WalkInOption:
    doctor: Doctor
    day: datetime.date
    start: datetime.time
    end: datetime.time
    is_emergency_slot: bool

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def _all_session_slots(schedule: DoctorSchedule, day: datetime.date):
    """(start, end, is_emergency_slot) for every whole slot of a session, the last
    `emergency_slots` of them marked as kept for emergencies."""
    step = datetime.timedelta(minutes=schedule.slot_minutes)
    begin = datetime.datetime.combine(day, schedule.start)
    finish = datetime.datetime.combine(day, schedule.end)
    slots = []
    while begin + step <= finish:
        slots.append((begin.time(), (begin + step).time()))
        begin += step
    regular = max(0, len(slots) - schedule.emergency_slots)
    return [(start, end, i >= regular) for i, (start, end) in enumerate(slots)]


def _open_slots(doctor, day, now, schedules, on_leave, taken):
    """Slots of `doctor` on `day` free at `now`, in time order: not taken, and (today)
    not yet ended. Emergency slots included, marked."""
    local_now = timezone.localtime(now)
    if not doctor.on_duty or on_leave or day < local_now.date():
        return []
    slots = {}
    for schedule in schedules:
        if schedule.weekday != day.weekday():
            continue
        for start, end, emergency in _all_session_slots(schedule, day):
            slots.setdefault(start, (start, end, emergency))
    result = []
    for start in sorted(slots):
        start, end, emergency = slots[start]
        if day == local_now.date() and end <= local_now.time():
            continue
        if start in taken:
            continue
        result.append((start, end, emergency))
    return result


def walk_in_options(*, department=None, emergency=False, now=None) -> list[WalkInOption]:
    """Per doctor on duty today, the earliest free regular slot not yet over, and for an
    emergency also the earliest free emergency slot; by start, then doctor."""
    now = now or timezone.now()
    day = local_today(now)
    doctors = Doctor.objects.filter(on_duty=True).select_related("department")
    if department is not None:
        doctors = doctors.filter(department=department)
    doctors = list(doctors.order_by("name"))
    schedules: dict[int, list] = {}
    for schedule in DoctorSchedule.objects.filter(
        doctor__in=[d.pk for d in doctors], weekday=day.weekday()
    ):
        schedules.setdefault(schedule.doctor_id, []).append(schedule)
    on_leave = set(_leave_on(day).values_list("doctor_id", flat=True))
    taken: dict[int, set] = {}
    for doctor_id, start in Appointment.objects.filter(
        _taking_slots(now), date=day, doctor__in=[d.pk for d in doctors]
    ).values_list("doctor_id", "start"):
        taken.setdefault(doctor_id, set()).add(start)

    options = []
    for doctor in doctors:
        slots = _open_slots(
            doctor,
            day,
            now,
            schedules.get(doctor.pk, []),
            doctor.pk in on_leave,
            taken.get(doctor.pk, set()),
        )
        regular = next((s for s in slots if not s[2]), None)
        kept = next((s for s in slots if s[2]), None) if emergency else None
        for slot in (regular, kept):
            if slot:
                options.append(WalkInOption(doctor, day, slot[0], slot[1], slot[2]))
    options.sort(key=lambda o: (o.start, o.doctor.name, o.is_emergency_slot))
    return options


def _check_slot(doctor: Doctor, day, start, now, *, emergency: bool):
    """The (start, end, is_emergency_slot) of a slot `doctor` can take a patient in at
    `now`, or BookingError. Call inside the booking transaction."""
    if not doctor.on_duty:
        raise BookingError(f"{doctor.name} is not on duty; choose another doctor.")
    schedules = list(DoctorSchedule.objects.filter(doctor=doctor, weekday=day.weekday()))
    on_leave = _leave_on(day).filter(doctor=doctor).exists()
    taken = set(
        Appointment.objects.filter(
            _taking_slots(now), doctor=doctor, date=day, start=start
        ).values_list("start", flat=True)
    )
    slot = next(
        (s for s in _open_slots(doctor, day, now, schedules, on_leave, taken) if s[0] == start),
        None,
    )
    if slot is None:
        raise BookingError(SLOT_GONE)
    if slot[2] and not emergency:
        raise BookingError("That slot is kept for emergencies. Choose a regular slot.")
    return slot


def _create_booked(*, patient, doctor, day, slot, reason, emergency, actor, now, note, details):
    """Book a walk-in into `slot` and record its WALK_IN event (`note` as the event's
    reason, `details` added to what it records)."""
    appointment = Appointment(
        patient=patient,
        doctor=doctor,
        date=day,
        start=slot[0],
        end=slot[1],
        reason=reason,
        status=Appointment.Status.BOOKED,
        created_by=actor,
        created_at=now,
        booked_at=now,
        is_walk_in=True,
        is_emergency=emergency,
    )
    if not take_slot(appointment):  # another desk won the slot
        raise BookingError(SLOT_TAKEN)
    _record(
        appointment,
        AppointmentEvent.Kind.WALK_IN,
        actor,
        now,
        reason=note,
        changes={"date": day.isoformat(), "start": f"{slot[0]:%H:%M}", **details,
                 "emergency": emergency},
    )  # fmt: skip
    return appointment


# --- Checking in ----------------------------------------------------------------------


def check_in_now(appointment: Appointment, *, actor, now):
    """Check the patient in at once: their token in the doctor's queue (an emergency's
    token is an emergency token, at the front)."""
    token, _ = changes.check_in(appointment, actor=actor, now=now)
    appointment.refresh_from_db()
    return token


# --- Booking a walk-in ----------------------------------------------------------------


def book_walk_in(
    *,
    doctor: Doctor,
    start: datetime.time,
    patient_name: str,
    mobile: str,
    reason: str,
    emergency: bool,
    actor,
    now=None,
) -> Appointment:
    """Book a walk-in into today's slot `start` of `doctor` (BOOKED at once, no code)
    and check them in: their token is in the doctor's queue when this returns."""
    from queues.services import QueueError

    now = now or timezone.now()
    _require_actor(actor)
    name, mobile, reason = clean_patient_details(patient_name, mobile, reason)
    day = local_today(now)
    with transaction.atomic():
        doctor = Doctor.objects.select_related("department").get(pk=doctor.pk)
        slot = _check_slot(doctor, day, start, now, emergency=emergency)
        patient, _ = _patient_for(mobile, name, "")
        appointment = _create_booked(
            patient=patient, doctor=doctor, day=day, slot=slot, reason=reason,
            emergency=emergency, actor=actor, now=now,
            note="Emergency" if emergency else "", details={"emergency_slot": slot[2]},
        )  # fmt: skip
        try:
            check_in_now(appointment, actor=actor, now=now)
        except QueueError as exc:
            raise BookingError(str(exc)) from None
    return appointment


# --- The waiting list -----------------------------------------------------------------


def add_to_waiting_list(
    *,
    department: Department,
    doctor: Doctor | None = None,
    patient_name: str,
    mobile: str,
    reason: str,
    priority: int,
    actor,
    now=None,
) -> WaitingListEntry:
    now = now or timezone.now()
    _require_actor(actor)
    name, mobile, reason = clean_patient_details(patient_name, mobile, reason)
    if priority not in WaitingListEntry.Priority.values:
        raise BookingError("Choose a priority: normal or emergency.")
    if doctor is not None and doctor.department_id != department.pk:
        raise BookingError(f"{doctor.name} is not in {department.name}.")
    with transaction.atomic():
        patient, _ = _patient_for(mobile, name, "")
        if WaitingListEntry.objects.filter(
            patient=patient, department=department, status=WaitingListEntry.Status.WAITING
        ).exists():
            raise BookingError(f"{patient.name} is already on the {department.name} waiting list.")
        return WaitingListEntry.objects.create(
            patient=patient,
            department=department,
            doctor=doctor,
            priority=priority,
            reason=reason,
            arrived_at=now,
            created_by=actor,
        )


def waiting_list(*, department=None) -> QuerySet[WaitingListEntry]:
    """Everyone still waiting: emergencies first, then by arrival."""
    entries = WaitingListEntry.objects.filter(status=WaitingListEntry.Status.WAITING)
    if department is not None:
        entries = entries.filter(department=department)
    return entries.select_related("patient", "department", "doctor").order_by(
        "-priority", "arrived_at", "pk"
    )


def remove_from_waiting_list(entry: WaitingListEntry, *, actor, reason: str = "", now=None):
    """The patient left (or was seen elsewhere): off the list, with when."""
    now = now or timezone.now()
    _require_actor(actor)
    # Compare-and-swap on status: two desks removing (or one booking) never both win.
    won = WaitingListEntry.objects.filter(
        pk=entry.pk, status=WaitingListEntry.Status.WAITING
    ).update(status=WaitingListEntry.Status.LEFT, closed_at=now)
    if not won:
        raise BookingError("This patient is no longer on the waiting list.")
    entry.refresh_from_db()
    return entry


def first_waiting_for(doctor: Doctor) -> WaitingListEntry | None:
    """Whom to offer a freed slot of `doctor`: the first waiting for that doctor or for
    any doctor of the department."""
    return (
        waiting_list(department=doctor.department)
        .filter(Q(doctor=doctor) | Q(doctor__isnull=True))
        .first()
    )


def book_from_waiting_list(
    entry: WaitingListEntry,
    *,
    doctor: Doctor,
    day: datetime.date,
    start: datetime.time,
    actor,
    check_in: bool | None = None,
    now=None,
) -> Appointment:
    """Give a waiting patient the slot `start` of `doctor` on `day` (BOOKED, walk-in).
    `check_in` (default: when the slot is today) checks them in at once."""
    from queues.services import QueueError

    now = now or timezone.now()
    _require_actor(actor)
    today = local_today(now)
    if check_in is None:
        check_in = day == today
    with transaction.atomic():
        # Locks the entry: two desks offering it the same or different slots serialise.
        entry = (
            WaitingListEntry.objects.select_for_update(of=("self",))
            .select_related("patient")
            .get(pk=entry.pk)
        )
        if entry.status != WaitingListEntry.Status.WAITING:
            raise BookingError("This patient is no longer on the waiting list.")
        doctor = Doctor.objects.select_related("department").get(pk=doctor.pk)
        if doctor.department_id != entry.department_id or (
            entry.doctor_id and entry.doctor_id != doctor.pk
        ):
            raise BookingError(f"{entry.patient.name} is not waiting for {doctor.name}.")
        emergency = entry.priority == WaitingListEntry.Priority.EMERGENCY
        slot = _check_slot(doctor, day, start, now, emergency=emergency)
        appointment = _create_booked(
            patient=entry.patient, doctor=doctor, day=day, slot=slot, reason=entry.reason,
            emergency=emergency, actor=actor, now=now,
            note="From the waiting list", details={"waiting_list_entry": entry.pk},
        )  # fmt: skip
        entry.status = WaitingListEntry.Status.BOOKED
        entry.appointment = appointment
        entry.closed_at = now
        entry.save(update_fields=["status", "appointment", "closed_at"])
        if check_in and day == today:
            try:
                check_in_now(appointment, actor=actor, now=now)
            except QueueError as exc:
                raise BookingError(str(exc)) from None
    return appointment
