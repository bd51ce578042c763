"""Free slots come from the weekly schedule, minus leave, taken slots, slots already past
and the emergency slots kept back; the availability board and doctor search use the same
rules."""

import datetime

import pytest

from appointments.booking import hold_slot
from appointments.models import Appointment, DoctorLeave, DoctorSchedule
from appointments.slots import (
    appointments_on,
    doctor_availability,
    doctor_day,
    free_slots,
    search_doctors,
)
from tests.appointments.conftest import MORNING, place, t
from tests.conftest import WEDNESDAY, at

THURSDAY = WEDNESDAY + datetime.timedelta(days=1)
TUESDAY = WEDNESDAY - datetime.timedelta(days=1)


def starts(slots) -> list[str]:
    return [slot.label for slot in slots]


def session(doctor, start, end, minutes=15, *, emergency=0):
    """A Wednesday session."""
    return DoctorSchedule.objects.create(
        doctor=doctor, weekday=WEDNESDAY.weekday(), start=start, end=end, slot_minutes=minutes,
        emergency_slots=emergency,
    )  # fmt: skip


def test_a_session_is_cut_into_slots_of_its_length(rao_morning, dr_rao):
    slots = free_slots(dr_rao, WEDNESDAY, now=MORNING)
    assert len(slots) == 12
    assert starts(slots)[:3] == ["09:00", "09:15", "09:30"]
    assert (slots[-1].start, slots[-1].end) == (t(11, 45), t(12))


def test_a_slot_that_would_run_past_the_session_end_is_not_offered(dr_rao):
    session(dr_rao, t(9), t(10, 10), minutes=20)
    assert starts(free_slots(dr_rao, WEDNESDAY, now=MORNING)) == ["09:00", "09:20", "09:40"]


def test_two_sessions_a_day_give_both_sets_of_slots_in_order(dr_rao):
    session(dr_rao, t(17), t(18), minutes=30)
    session(dr_rao, t(9), t(10), minutes=20)
    assert starts(free_slots(dr_rao, WEDNESDAY, now=MORNING)) == [
        "09:00", "09:20", "09:40", "17:00", "17:30",
    ]  # fmt: skip


def test_a_weekday_without_a_session_has_no_slots(rao_morning, dr_rao):
    assert free_slots(dr_rao, THURSDAY, now=MORNING) == []


def test_the_last_emergency_slots_of_each_session_are_kept_back(dr_rao):
    session(dr_rao, t(9), t(10), emergency=1)
    session(dr_rao, t(17), t(18), emergency=2)
    assert starts(free_slots(dr_rao, WEDNESDAY, now=MORNING)) == [
        "09:00", "09:15", "09:30", "17:00", "17:15",
    ]  # fmt: skip


def test_where_sessions_overlap_the_later_sessions_slot_wins(dr_rao):
    session(dr_rao, t(9), t(11), minutes=30)
    session(dr_rao, t(10), t(11, 20), minutes=20, emergency=1)
    slots = free_slots(dr_rao, WEDNESDAY, now=MORNING)
    assert [(s.label, f"{s.end:%H:%M}") for s in slots] == [
        ("09:00", "09:30"), ("09:30", "10:00"), ("10:00", "10:20"), ("10:20", "10:40"),
        ("10:30", "11:00"), ("10:40", "11:00"),
    ]  # fmt: skip
    # 11:00-11:20, the later session's last, is kept for emergencies: a walk-in's.
    day = doctor_day(dr_rao, WEDNESDAY, now=MORNING, walk_in=True)
    assert day.slot_at(t(11)).kept_for_emergencies


def test_a_session_with_every_slot_kept_has_none_to_book(dr_rao):
    session(dr_rao, t(9), t(9, 30), emergency=5)
    assert free_slots(dr_rao, WEDNESDAY, now=MORNING) == []
    (rao,) = doctor_availability(day=WEDNESDAY, now=MORNING)
    assert rao.label == "No OPD session today"


def test_leave_covering_the_day_leaves_no_slots(rao_morning, dr_rao):
    DoctorLeave.objects.create(doctor=dr_rao, start_date=TUESDAY, end_date=WEDNESDAY)
    assert free_slots(dr_rao, WEDNESDAY, now=MORNING) == []


def test_leave_on_other_days_does_not_matter(rao_morning, dr_rao):
    DoctorLeave.objects.create(doctor=dr_rao, start_date=TUESDAY, end_date=TUESDAY)
    DoctorLeave.objects.create(doctor=dr_rao, start_date=THURSDAY, end_date=THURSDAY)
    assert len(free_slots(dr_rao, WEDNESDAY, now=MORNING)) == 12


def test_slots_that_have_started_today_are_not_offered(rao_morning, dr_rao):
    assert starts(free_slots(dr_rao, WEDNESDAY, now=at(WEDNESDAY, 11, 5))) == ["11:15", "11:30",
                                                                               "11:45"]  # fmt: skip
    # A slot starting right now has started.
    assert starts(free_slots(dr_rao, WEDNESDAY, now=at(WEDNESDAY, 11, 30))) == ["11:45"]
    assert free_slots(dr_rao, WEDNESDAY, now=at(WEDNESDAY, 12)) == []


def test_a_later_day_offers_its_early_slots_even_late_in_the_evening(rao_morning, dr_rao):
    next_week = WEDNESDAY + datetime.timedelta(days=7)
    assert len(free_slots(dr_rao, next_week, now=at(WEDNESDAY, 23))) == 12


def test_a_day_that_has_passed_has_no_slots(rao_morning, dr_rao):
    assert free_slots(dr_rao, WEDNESDAY, now=at(THURSDAY, 8)) == []


def test_held_and_booked_slots_are_taken(rao_morning, dr_rao):
    place(dr_rao, t(9), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 8, 10))
    place(dr_rao, t(9, 15), Appointment.Status.BOOKED)
    place(dr_rao, t(9, 30), Appointment.Status.CHECKED_IN)
    place(dr_rao, t(9, 45), Appointment.Status.COMPLETED)
    assert starts(free_slots(dr_rao, WEDNESDAY, now=MORNING))[0] == "10:00"


def test_cancelled_no_show_and_expired_appointments_free_their_slot(rao_morning, dr_rao):
    place(dr_rao, t(9), Appointment.Status.CANCELLED)
    place(dr_rao, t(9, 15), Appointment.Status.NO_SHOW)
    place(dr_rao, t(9, 30), Appointment.Status.EXPIRED, hold_until=MORNING)
    assert len(free_slots(dr_rao, WEDNESDAY, now=MORNING)) == 12


def test_a_hold_that_has_run_out_frees_its_slot(rao_morning, dr_rao):
    place(dr_rao, t(9), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 8, 10))
    assert starts(free_slots(dr_rao, WEDNESDAY, now=at(WEDNESDAY, 8, 9)))[0] == "09:15"
    assert starts(free_slots(dr_rao, WEDNESDAY, now=at(WEDNESDAY, 8, 10)))[0] == "09:00"


def test_another_doctors_appointments_do_not_take_the_slot(rao_morning, dr_rao, dr_iyer):
    place(dr_iyer, t(9))
    assert starts(free_slots(dr_rao, WEDNESDAY, now=MORNING))[0] == "09:00"


def test_an_off_duty_doctor_has_no_slots(rao_morning, dr_rao):
    dr_rao.on_duty = False
    dr_rao.save()
    assert free_slots(dr_rao, WEDNESDAY, now=MORNING) == []


# --- The availability board ---------------------------------------------------------------


@pytest.fixture
def hospital(dr_rao, dr_iyer, dr_shah, rao_morning):
    session(dr_iyer, t(9), t(9, 30))  # two slots, both taken below
    session(dr_shah, t(9), t(10))
    return dr_rao, dr_iyer, dr_shah


def test_the_board_shows_every_doctor_with_a_state_and_a_label(
    hospital, django_assert_max_num_queries
):
    dr_rao, dr_iyer, dr_shah = hospital
    place(dr_iyer, t(9))
    place(dr_iyer, t(9, 15), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 8, 10))
    place(dr_rao, t(9))
    with django_assert_max_num_queries(4):
        board = doctor_availability(day=WEDNESDAY, now=MORNING)
    # By department, then name: Cardiology before Orthopedic Surgery.
    assert [(a.doctor.name, a.state, a.label, a.free_count) for a in board] == [
        ("Dr. Shah", "available", "Available — 4 free slots", 4),
        ("Dr. Iyer", "full", "Fully booked today", 0),
        ("Dr. Rao", "available", "Available — 11 free slots", 11),
    ]


def test_the_board_does_not_query_per_doctor(hospital, orth, django_assert_max_num_queries):
    from tests.conftest import make_doctor

    for i in range(10):
        doctor = make_doctor(f"extra{i}", f"Dr. Extra {i}", orth, str(20 + i))
        session(doctor, t(9), t(10))
        place(doctor, t(9))
    with django_assert_max_num_queries(4):
        board = doctor_availability(day=WEDNESDAY, now=MORNING)
    assert len(board) == 13


def test_the_board_says_why_a_doctor_cannot_be_booked(hospital, dr_iyer, dr_shah):
    dr_rao = hospital[0]
    dr_shah.on_duty = False
    dr_shah.save()
    DoctorLeave.objects.create(doctor=dr_iyer, start_date=WEDNESDAY, end_date=WEDNESDAY)
    board = {a.doctor.name: a for a in doctor_availability(day=WEDNESDAY, now=MORNING)}
    assert (board["Dr. Shah"].state, board["Dr. Shah"].label) == ("off", "Off duty")
    assert (board["Dr. Iyer"].state, board["Dr. Iyer"].label) == ("off", "On leave")
    assert board["Dr. Rao"].state == "available"

    board = {a.doctor.name: a for a in doctor_availability(day=THURSDAY, now=MORNING)}
    assert (board["Dr. Rao"].state, board["Dr. Rao"].label) == ("off", "No OPD session that day")
    board = {a.doctor.name: a for a in doctor_availability(now=at(THURSDAY, 8))}
    assert board["Dr. Rao"].label == "No OPD session today"
    board = {a.doctor.name: a for a in doctor_availability(now=at(WEDNESDAY, 13))}
    assert (board["Dr. Rao"].state, board["Dr. Rao"].label) == ("off", "OPD over for today")
    assert dr_rao.pk in {a.doctor.pk for a in board.values()}


def test_one_free_slot_is_singular(dr_rao):
    session(dr_rao, t(9), t(9, 15))
    (rao,) = doctor_availability(day=WEDNESDAY, now=MORNING)
    assert rao.label == "Available — 1 free slot"


# --- Searching doctors --------------------------------------------------------------------


def names(matches) -> list[str]:
    return [m.doctor.name for m in matches]


@pytest.fixture
def specialists(hospital, dr_rao, dr_shah):
    dr_rao.specialization = "Spine surgery"
    dr_rao.save()
    dr_shah.specialization = "Interventional cardiology"
    dr_shah.save()
    return hospital


def test_doctors_are_found_by_name_with_or_without_the_title(specialists):
    assert names(search_doctors("rao", now=MORNING)) == ["Dr. Rao"]
    assert names(search_doctors("Dr. Rao", now=MORNING)) == ["Dr. Rao"]
    assert names(search_doctors("dr rao", now=MORNING)) == ["Dr. Rao"]
    assert names(search_doctors("DR.IYER", now=MORNING)) == ["Dr. Iyer"]


def test_doctors_are_found_by_specialization_or_department(specialists):
    assert names(search_doctors("spine", now=MORNING)) == ["Dr. Rao"]
    assert names(search_doctors("cardio", now=MORNING)) == ["Dr. Shah"]
    assert sorted(names(search_doctors("orthopedic", now=MORNING))) == ["Dr. Iyer", "Dr. Rao"]


def test_names_starting_with_the_query_come_first(orth, specialists):
    from tests.conftest import make_doctor

    make_doctor("arao", "Dr. Arao", orth, "9")
    make_doctor("ravi", "Dr. Ravi", orth, "8")
    assert names(search_doctors("ra", now=MORNING)) == ["Dr. Rao", "Dr. Ravi", "Dr. Arao"]


def test_search_counts_free_slots_for_the_chosen_day(specialists):
    dr_rao, dr_iyer, _ = specialists
    place(dr_iyer, t(9))
    place(dr_iyer, t(9, 15))
    found = {m.doctor.name: m.free_count for m in search_doctors("", now=MORNING)}
    assert found == {"Dr. Rao": 12, "Dr. Iyer": 0, "Dr. Shah": 4}
    available = search_doctors("", day=WEDNESDAY, available_only=True, now=MORNING)
    assert sorted(names(available)) == ["Dr. Rao", "Dr. Shah"]
    assert search_doctors("rao", day=THURSDAY, available_only=True, now=MORNING) == []
    assert len(search_doctors("", now=MORNING, limit=2)) == 2


def test_search_finds_nothing_for_an_unknown_name(specialists):
    assert search_doctors("zzz", now=MORNING) == []


# --- The day list -------------------------------------------------------------------------


def test_the_day_list_is_in_time_order_without_expired_holds(
    hospital, desk, django_assert_num_queries
):
    dr_rao, dr_iyer, dr_shah = hospital
    place(dr_shah, t(9, 15))
    place(dr_rao, t(9, 15))
    place(dr_iyer, t(9), Appointment.Status.EXPIRED, hold_until=MORNING)
    place(dr_rao, t(9), Appointment.Status.CANCELLED)
    held = hold_slot(doctor=dr_iyer, day=WEDNESDAY, start=t(9), patient_name="Asha",
                     mobile="98123 00001", reason="Back pain", actor=desk, now=MORNING)  # fmt: skip
    with django_assert_num_queries(1):
        rows = [(a.start, a.doctor.name, a.status, a.doctor.department.name, a.patient.name)
                for a in appointments_on(WEDNESDAY)]  # fmt: skip
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (t(9), "Dr. Iyer", "held"),
        (t(9), "Dr. Rao", "cancelled"),
        (t(9, 15), "Dr. Rao", "booked"),
        (t(9, 15), "Dr. Shah", "booked"),
    ]
    assert held.status == "held"
