"""Walk-ins, emergencies and the waiting list.

A patient with no booking is booked at the desk into a free slot of today (no one-time
code: the patient is standing there) and checked in at once, through
appointments.changes.check_in, in the same transaction. An emergency may also take one of
the slots kept free at the end of each session (DoctorSchedule.emergency_slots), and its
token goes to the front of the queue. When there is no slot, the patient waits on the
waiting list and is offered the next slot that frees up, emergencies first, then by
arrival. Every change to a waiting-list entry (added, removed, booked) is a
WaitingListEvent naming who did it and why.

A walk-in's "slot now" is the doctor's earliest free slot of today that has not ended:
the slot running now counts (the patient is here), so do later ones today. A race for a
slot is decided by appointments.slots.take_slot; the loser is told "That slot was just
taken" and the page offers the next option.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from appointments import changes, slots
from appointments.errors import BookingError, require_actor
from appointments.history import record_event
from appointments.models import (
    Appointment,
    AppointmentEvent,
    WaitingListEntry,
    WaitingListEvent,
)
from appointments.patients import (
    clean_language,
    clean_patient_details,
    find_or_register_patient,
)
from hospital.clock import local_today
from hospital.languages import localized
from hospital.models import Department, Doctor
from hospital.text import clean_note
from webhooks import events as webhook_events

SLOT_GONE = gettext_noop("That slot is no longer free. Please choose another.")
MAX_NOTE_LENGTH = WaitingListEvent._meta.get_field("reason").max_length


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


def walk_in_options(*, department=None, emergency=False, now=None) -> list[WalkInOption]:
    """Per doctor on duty today, the earliest free regular slot not yet over, and for an
    emergency also the earliest free emergency slot; by start, then doctor."""
    now = now or timezone.now()
    day = local_today(now)
    doctors = Doctor.objects.filter(on_duty=True).order_by("name")
    if department is not None:
        doctors = doctors.filter(department=department)
    options = []
    for plan in slots.doctor_days(doctors, day, now=now, walk_in=True):
        regular = next((s for s in plan.free if not s.kept_for_emergencies), None)
        kept = next((s for s in plan.free if s.kept_for_emergencies), None) if emergency else None
        for slot in (regular, kept):
            if slot:
                options.append(
                    WalkInOption(plan.doctor, day, slot.start, slot.end, slot.kept_for_emergencies)
                )
    options.sort(key=lambda o: (o.start, o.doctor.name, o.is_emergency_slot))
    return options


def _open_slot(doctor: Doctor, day, start, now, *, emergency: bool) -> slots.Slot:
    """The slot of `doctor` at `start` a walk-in (an emergency: a kept one too) can take
    at `now`, or BookingError."""
    plan = slots.doctor_day(doctor, day, now=now, walk_in=True)
    if plan is None or plan.why == "off_duty":
        raise BookingError(
            gettext("%(doctor)s is not on duty; choose another doctor.") % {"doctor": doctor.name}
        )
    slot = plan.slot_at(start)
    if slot is None:
        raise BookingError(gettext(SLOT_GONE))
    if slot.kept_for_emergencies and not emergency:
        raise BookingError(gettext("That slot is kept for emergencies. Choose a regular slot."))
    return slot


def _book_into(*, patient, doctor, day, slot, reason, emergency, actor, now, note, details):
    """Book a walk-in into `slot` (BOOKED at once) and record its WALK_IN event (`note`
    as the event's reason, `details` added to what it records)."""
    appointment = Appointment(
        patient=patient,
        doctor=doctor,
        date=day,
        start=slot.start,
        end=slot.end,
        reason=reason,
        status=Appointment.Status.BOOKED,
        created_by=actor,
        created_at=now,
        booked_at=now,
        is_walk_in=True,
        is_emergency=emergency,
    )
    slots.take_slot(appointment, now=now, actor=actor)
    record_event(
        appointment,
        AppointmentEvent.Kind.WALK_IN,
        actor,
        now,
        reason=note,
        changes={"date": day.isoformat(), "start": f"{slot.start:%H:%M}", **details,
                 "emergency": emergency},
    )  # fmt: skip
    webhook_events.appointment_booked(appointment, now=now)  # booked at once, at the desk
    return appointment


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
    language: str = "",
    actor,
    now=None,
) -> Appointment:
    """Book a walk-in into today's slot `start` of `doctor` (BOOKED at once, no code)
    and check them in: their token is in the doctor's queue when this returns.
    `language`, if given, becomes the patient's (their slip and SMS)."""
    now = now or timezone.now()
    require_actor(actor)
    name, mobile, reason = clean_patient_details(patient_name, mobile, reason)
    language = clean_language(language)
    day = local_today(now)
    with transaction.atomic(durable=True):
        slot = _open_slot(doctor, day, start, now, emergency=emergency)
        patient = find_or_register_patient(mobile, name)
        if language and patient.language != language:
            patient.language = language
            patient.save(update_fields=["language"])
        appointment = _book_into(
            patient=patient, doctor=doctor, day=day, slot=slot, reason=reason,
            emergency=emergency, actor=actor, now=now,
            note="Emergency" if emergency else "",
            details={"emergency_slot": slot.kept_for_emergencies},
        )  # fmt: skip
        check_in_now(appointment, actor=actor, now=now)
    return appointment


# --- The waiting list -----------------------------------------------------------------


def _log(entry: WaitingListEntry, kind: str, actor, now, reason: str = "") -> WaitingListEvent:
    return WaitingListEvent.objects.create(
        entry=entry,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        at=now,
        reason=clean_note(reason, MAX_NOTE_LENGTH),
    )


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
    require_actor(actor)
    name, mobile, reason = clean_patient_details(patient_name, mobile, reason)
    if priority not in WaitingListEntry.Priority.values:
        raise BookingError(gettext("Choose a priority: normal or emergency."))
    if doctor is not None and doctor.department_id != department.pk:
        raise BookingError(
            gettext("%(doctor)s is not in %(department)s.")
            % {"doctor": doctor.name, "department": localized(department)}
        )
    with transaction.atomic(durable=True):
        patient = find_or_register_patient(mobile, name)
        # The patient's row lock (find_or_register_patient) serialises two desks adding
        # the same patient, so this check is not raced.
        if WaitingListEntry.objects.filter(
            patient=patient, department=department, status=WaitingListEntry.Status.WAITING
        ).exists():
            raise BookingError(
                gettext("%(patient)s is already on the %(department)s waiting list.")
                % {"patient": patient.name, "department": localized(department)}
            )
        entry = WaitingListEntry.objects.create(
            patient=patient,
            department=department,
            doctor=doctor,
            priority=priority,
            reason=reason,
            arrived_at=now,
            created_by=actor,
        )
        _log(entry, WaitingListEvent.Kind.ADDED, actor, now)
    return entry


def waiting_list(*, department=None) -> QuerySet[WaitingListEntry]:
    """Everyone still waiting: emergencies first, then by arrival."""
    entries = WaitingListEntry.objects.filter(status=WaitingListEntry.Status.WAITING)
    if department is not None:
        entries = entries.filter(department=department)
    return entries.select_related("patient", "department", "doctor").order_by(
        "-priority", "arrived_at", "pk"
    )


def remove_from_waiting_list(entry: WaitingListEntry, *, actor, reason: str = "", now=None):
    """The patient left (or was seen elsewhere): off the list, with who, when and why."""
    now = now or timezone.now()
    require_actor(actor)
    with transaction.atomic(durable=True):
        # Compare-and-swap on status: two desks removing (or one booking) never both win.
        won = WaitingListEntry.objects.filter(
            pk=entry.pk, status=WaitingListEntry.Status.WAITING
        ).update(status=WaitingListEntry.Status.LEFT, closed_at=now)
        if not won:
            raise BookingError(gettext("This patient is no longer on the waiting list."))
        _log(entry, WaitingListEvent.Kind.REMOVED, actor, now, reason)
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


def waiting_offer(appointment: Appointment) -> dict | None:
    """The first patient on the waiting list for a freed slot's doctor, with the link to
    offer it: {"name", "url"}; None when nobody is waiting."""
    entry = first_waiting_for(appointment.doctor)
    if entry is None:
        return None
    return {
        "name": entry.patient.name,
        "url": reverse("reception_waiting_offer", args=[entry.pk]),
    }


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
    now = now or timezone.now()
    require_actor(actor)
    today = local_today(now)
    if check_in is None:
        check_in = day == today
    with transaction.atomic(durable=True):
        # Locks the entry: two desks offering it the same or different slots serialise.
        entry = (
            WaitingListEntry.objects.select_for_update(of=("self",))
            .select_related("patient")
            .get(pk=entry.pk)
        )
        if entry.status != WaitingListEntry.Status.WAITING:
            raise BookingError(gettext("This patient is no longer on the waiting list."))
        doctor = Doctor.objects.select_related("department").get(pk=doctor.pk)
        if doctor.department_id != entry.department_id or (
            entry.doctor_id and entry.doctor_id != doctor.pk
        ):
            raise BookingError(
                gettext("%(patient)s is not waiting for %(doctor)s.")
                % {"patient": entry.patient.name, "doctor": doctor.name}
            )
        emergency = entry.priority == WaitingListEntry.Priority.EMERGENCY
        slot = _open_slot(doctor, day, start, now, emergency=emergency)
        appointment = _book_into(
            patient=entry.patient, doctor=doctor, day=day, slot=slot, reason=entry.reason,
            emergency=emergency, actor=actor, now=now,
            note="From the waiting list", details={"waiting_list_entry": entry.pk},
        )  # fmt: skip
        entry.status = WaitingListEntry.Status.BOOKED
        entry.appointment = appointment
        entry.closed_at = now
        entry.save(update_fields=["status", "appointment", "closed_at"])
        _log(entry, WaitingListEvent.Kind.BOOKED, actor, now)
        if check_in and day == today:
            check_in_now(appointment, actor=actor, now=now)
    return appointment
