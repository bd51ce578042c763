"""The waiting list: no slot now, so the patient waits, emergencies first, then by
arrival; a freed slot is offered to the first of them."""

import pytest

from appointments import walkins
from appointments.errors import BookingError
from appointments.models import Appointment, DoctorSchedule, WaitingListEntry, WaitingListEvent
from queues.models import Token
from tests.appointments.conftest import place, t
from tests.conftest import WEDNESDAY, at, make_receptionist

NORMAL = WaitingListEntry.Priority.NORMAL
EMERGENCY = WaitingListEntry.Priority.EMERGENCY


def add(department, actor, name, minute, *, doctor=None, priority=NORMAL):
    return walkins.add_to_waiting_list(
        department=department, doctor=doctor, patient_name=name,
        mobile=f"+9198765{minute:05d}", reason="Fever", priority=priority, actor=actor,
        now=at(WEDNESDAY, 9, minute),
    )  # fmt: skip


@pytest.fixture
def full_morning(dr_rao):
    """Dr. Rao's only session (09:00-09:30) is fully booked."""
    DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=WEDNESDAY.weekday(), start=t(9), end=t(9, 30)
    )
    return [place(dr_rao, t(9)), place(dr_rao, t(9, 15))]


def cancel(appointment):
    """Frees the slot through the reception's cancel service."""
    from appointments.changes import cancel_appointment

    desk = make_receptionist("canceller")
    cancel_appointment(appointment, reason="Patient unwell", actor=desk, now=at(WEDNESDAY, 9, 8))


def test_no_slot_means_no_walk_in_option(orth, full_morning):
    assert walkins.walk_in_options(department=orth, now=at(WEDNESDAY, 9, 5)) == []


def test_the_list_is_emergencies_first_then_by_arrival(orth, card, dr_rao, desk):
    late = add(orth, desk, "Late Normal", 30)
    early = add(orth, desk, "Early Normal", 10)
    urgent = add(orth, desk, "Urgent", 40, priority=EMERGENCY)
    other = add(card, desk, "Cardiac", 5)
    assert list(walkins.waiting_list()) == [urgent, other, early, late]
    assert list(walkins.waiting_list(department=orth)) == [urgent, early, late]
    assert early.arrived_at == at(WEDNESDAY, 9, 10)
    assert early.created_by == desk


def test_the_same_patient_is_not_listed_twice(orth, desk):
    add(orth, desk, "Asha", 1)
    with pytest.raises(BookingError, match="already on"):
        add(orth, desk, "Asha", 1)


def test_a_doctor_of_another_department_is_refused(orth, dr_shah, desk):
    with pytest.raises(BookingError, match="not in"):
        add(orth, desk, "Asha", 1, doctor=dr_shah)


def test_removing_takes_them_off_the_list(orth, desk):
    entry = add(orth, desk, "Asha", 1)
    walkins.remove_from_waiting_list(entry, actor=desk, now=at(WEDNESDAY, 10))
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.LEFT
    assert entry.closed_at == at(WEDNESDAY, 10)
    assert list(walkins.waiting_list()) == []
    with pytest.raises(BookingError, match="no longer"):
        walkins.remove_from_waiting_list(entry, actor=desk)


def test_removing_records_who_when_and_why(orth, desk):
    entry = add(orth, desk, "Asha", 1)
    walkins.remove_from_waiting_list(
        entry, actor=desk, reason="  Went   home\n", now=at(WEDNESDAY, 10)
    )
    removed = entry.events.get(kind=WaitingListEvent.Kind.REMOVED)
    assert (removed.actor, removed.at, removed.reason) == (desk, at(WEDNESDAY, 10), "Went home")


def test_a_second_removal_records_nothing(orth, desk):
    entry = add(orth, desk, "Asha", 1)
    walkins.remove_from_waiting_list(entry, actor=desk, now=at(WEDNESDAY, 10))
    with pytest.raises(BookingError):
        walkins.remove_from_waiting_list(entry, actor=desk, now=at(WEDNESDAY, 10, 1))
    assert entry.events.filter(kind=WaitingListEvent.Kind.REMOVED).count() == 1


def test_every_step_of_an_entry_is_an_event(orth, dr_rao, desk, full_morning):
    entry = add(orth, desk, "Waiting Wanda", 2)
    cancel(full_morning[1])
    walkins.book_from_waiting_list(
        entry, doctor=dr_rao, day=WEDNESDAY, start=t(9, 15), actor=desk, check_in=False,
        now=at(WEDNESDAY, 9, 10),
    )  # fmt: skip
    assert list(entry.events.values_list("kind", "actor", "at")) == [
        (WaitingListEvent.Kind.ADDED, desk.pk, at(WEDNESDAY, 9, 2)),
        (WaitingListEvent.Kind.BOOKED, desk.pk, at(WEDNESDAY, 9, 10)),
    ]


def test_first_waiting_for_a_doctor(orth, dr_rao, dr_iyer, desk):
    assert walkins.first_waiting_for(dr_rao) is None
    for_iyer = add(orth, desk, "For Iyer", 1, doctor=dr_iyer)
    anyone = add(orth, desk, "Anyone", 2)
    assert walkins.first_waiting_for(dr_rao) == anyone
    assert walkins.first_waiting_for(dr_iyer) == for_iyer
    urgent = add(orth, desk, "Urgent", 3, doctor=dr_rao, priority=EMERGENCY)
    assert walkins.first_waiting_for(dr_rao) == urgent
    assert walkins.first_waiting_for(dr_iyer) == for_iyer


def test_a_freed_slot_is_offered_and_booked(orth, dr_rao, desk, full_morning):
    entry = add(orth, desk, "Waiting Wanda", 2)
    cancel(full_morning[1])
    offered = walkins.first_waiting_for(dr_rao)
    assert offered == entry
    now = at(WEDNESDAY, 9, 10)
    assert [o.start for o in walkins.walk_in_options(department=orth, now=now)] == [t(9, 15)]
    appointment = walkins.book_from_waiting_list(
        entry, doctor=dr_rao, day=WEDNESDAY, start=t(9, 15), actor=desk, now=now
    )
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.BOOKED
    assert entry.appointment == appointment
    assert entry.closed_at == now
    assert appointment.is_walk_in
    assert appointment.status == Appointment.Status.CHECKED_IN  # today: checked in at once
    assert Token.objects.get(appointment=appointment).assigned_doctor == dr_rao
    assert walkins.first_waiting_for(dr_rao) is None
    with pytest.raises(BookingError, match="no longer on the waiting list"):
        walkins.book_from_waiting_list(
            entry, doctor=dr_rao, day=WEDNESDAY, start=t(9, 15), actor=desk, now=now
        )


def test_booking_without_checking_in(orth, dr_rao, desk, full_morning):
    entry = add(orth, desk, "Not Here Yet", 2)
    cancel(full_morning[1])
    appointment = walkins.book_from_waiting_list(
        entry, doctor=dr_rao, day=WEDNESDAY, start=t(9, 15), actor=desk, check_in=False,
        now=at(WEDNESDAY, 9, 10),
    )  # fmt: skip
    assert appointment.status == Appointment.Status.BOOKED
    assert not Token.objects.exists()


def test_a_taken_slot_is_refused_and_the_entry_stays(orth, dr_rao, desk, full_morning):
    entry = add(orth, desk, "Asha", 2)
    with pytest.raises(BookingError, match="no longer free"):
        walkins.book_from_waiting_list(
            entry, doctor=dr_rao, day=WEDNESDAY, start=t(9), actor=desk, now=at(WEDNESDAY, 9, 1)
        )
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.WAITING


def test_a_patient_waiting_for_another_doctor_is_refused(orth, dr_rao, dr_iyer, desk, full_morning):
    entry = add(orth, desk, "Asha", 2, doctor=dr_iyer)
    cancel(full_morning[1])
    with pytest.raises(BookingError, match="not waiting for"):
        walkins.book_from_waiting_list(
            entry, doctor=dr_rao, day=WEDNESDAY, start=t(9, 15), actor=desk,
            now=at(WEDNESDAY, 9, 10),
        )  # fmt: skip
