"""The end-of-day report over a known Wednesday: every figure checked exactly.

The day is made through the services with fixed times (now=). Cancellations, a reschedule
and a no-show are written as the status change plus its event row by small helpers below,
so the report's arithmetic is tested whatever the cancel / reschedule screens do."""

import datetime

import pytest

from appointments import booking, reports, walkins
from appointments.models import Appointment, AppointmentEvent, DoctorSchedule, WaitingListEntry
from queues import services as queue
from tests.appointments.conftest import latest_code, t
from tests.conftest import WEDNESDAY, at

TUESDAY = WEDNESDAY - datetime.timedelta(days=1)
THURSDAY = WEDNESDAY + datetime.timedelta(days=1)
Kind = AppointmentEvent.Kind


def book(doctor, start, mobile, actor, run_on_commit, *, name="Patient"):
    """Hold at 08:00, confirm with the texted code at 08:01."""
    held = run_on_commit(
        booking.hold_slot, doctor=doctor, day=WEDNESDAY, start=start, patient_name=name,
        mobile=mobile, reason="Check-up", actor=actor, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    return booking.verify_otp(held, latest_code(mobile), actor=actor, now=at(WEDNESDAY, 8, 1))


def happened(appointment, kind, status, when, actor, reason=""):
    """A status change with its event row, as the change services write them."""
    if status:
        Appointment.objects.filter(pk=appointment.pk).update(status=status)
    AppointmentEvent.objects.create(
        appointment=appointment, kind=kind, actor=actor, at=when, reason=reason
    )


def see(doctor, called, started, completed):
    token = queue.call_next(doctor, now=called)
    queue.start_consultation(doctor, token, now=started)
    queue.complete_token(doctor, token, now=completed)
    return token


def waiting(department, actor, mobile, when):
    return walkins.add_to_waiting_list(
        department=department, patient_name="Waiting", mobile=mobile, reason="Fever",
        priority=WaitingListEntry.Priority.NORMAL, actor=actor, now=when,
    )  # fmt: skip


@pytest.fixture
def seeded_day(orth, card, dr_rao, dr_shah, dr_iyer, desk, outbox, run_on_commit):
    # Dr. Rao 09:00-10:00 with the 09:45 slot kept for emergencies; Dr. Shah 09:00-10:00.
    # Dr. Iyer has no session on Wednesdays and no patients: not in the report.
    for doctor, kept in ((dr_rao, 1), (dr_shah, 0)):
        DoctorSchedule.objects.create(
            doctor=doctor, weekday=WEDNESDAY.weekday(), start=t(9), end=t(10),
            slot_minutes=15, emergency_slots=kept,
        )  # fmt: skip
    a = book(dr_rao, t(9), "+919800000001", desk, run_on_commit)
    b = book(dr_rao, t(9, 15), "+919800000002", desk, run_on_commit)
    c = book(dr_shah, t(9), "+919800000003", desk, run_on_commit)
    d = book(dr_shah, t(9, 15), "+919800000004", desk, run_on_commit)
    g = book(dr_shah, t(9, 30), "+919800000005", desk, run_on_commit)
    h = book(dr_shah, t(9, 45), "+919800000006", desk, run_on_commit)
    happened(b, Kind.RESCHEDULED, None, at(WEDNESDAY, 8, 20), desk, "Asked for later")
    happened(d, Kind.CANCELLED, Appointment.Status.CANCELLED, at(WEDNESDAY, 8, 30), desk,
             "Patient unwell")  # fmt: skip
    happened(g, Kind.CANCELLED, Appointment.Status.CANCELLED, at(WEDNESDAY, 8, 40), desk)
    happened(h, Kind.CANCELLED, Appointment.Status.CANCELLED, at(WEDNESDAY, 8, 45), desk,
             "  Patient   unwell ")  # fmt: skip
    # A cancellation on Tuesday does not count on Wednesday.
    happened(h, Kind.CANCELLED, None, at(TUESDAY, 18), desk, "Earlier")

    walkins.check_in_now(a, actor=desk, now=at(WEDNESDAY, 8, 50))
    walkins.check_in_now(c, actor=desk, now=at(WEDNESDAY, 8, 55))
    e = walkins.book_walk_in(
        doctor=dr_rao, start=t(9, 30), patient_name="Walker", mobile="+919800000007",
        reason="Sprain", emergency=False, actor=desk, now=at(WEDNESDAY, 9, 5),
    )  # fmt: skip
    f = walkins.book_walk_in(
        doctor=dr_rao, start=t(9, 45), patient_name="Urgent", mobile="+919800000008",
        reason="Fracture", emergency=True, actor=desk, now=at(WEDNESDAY, 9, 5),
    )  # fmt: skip

    # Dr. Shah sees C (issued 08:55): wait 5, consultation 10.
    see(dr_shah, at(WEDNESDAY, 9), at(WEDNESDAY, 9, 1), at(WEDNESDAY, 9, 11))
    # Dr. Rao: the emergency F first (wait 1, consultation 13), then A (issued 08:50:
    # wait 31, consultation 18), then the walk-in E (issued 09:05: wait 36, consultation 20).
    seen = [
        see(dr_rao, at(WEDNESDAY, 9, 6), at(WEDNESDAY, 9, 7), at(WEDNESDAY, 9, 20)),
        see(dr_rao, at(WEDNESDAY, 9, 21), at(WEDNESDAY, 9, 22), at(WEDNESDAY, 9, 40)),
        see(dr_rao, at(WEDNESDAY, 9, 41), at(WEDNESDAY, 9, 42), at(WEDNESDAY, 10, 2)),
    ]
    assert [token.appointment for token in seen] == [f, a, e]
    happened(b, Kind.NO_SHOW, Appointment.Status.NO_SHOW, at(WEDNESDAY, 10, 5), desk)

    # Waiting list: one still waiting from Tuesday, one from Wednesday, one who left on
    # Wednesday, one who arrives on Thursday.
    waiting(orth, desk, "+919800000011", at(TUESDAY, 17))
    waiting(orth, desk, "+919800000012", at(WEDNESDAY, 9, 10))
    left = waiting(card, desk, "+919800000013", at(WEDNESDAY, 9, 12))
    walkins.remove_from_waiting_list(left, actor=desk, now=at(WEDNESDAY, 9, 30))
    waiting(card, desk, "+919800000014", at(THURSDAY, 9))


def test_every_figure_of_a_known_day(seeded_day, dr_rao, dr_shah):
    report = reports.daily_report(WEDNESDAY, now=at(WEDNESDAY, 18))
    assert report.day == WEDNESDAY
    assert report.totals == [
        ("Appointments booked", 8),  # six confirmed with a code, two walk-ins
        ("Completed", 4),
        ("No-shows", 1),
        ("Cancellations", 3),
        ("Reschedules", 1),
        ("Walk-ins", 2),
        ("Emergencies", 1),
        ("Still on the waiting list", 2),
    ]
    assert report.cancellation_reasons == [("Patient unwell", 2), ("No reason given", 1)]

    shah, rao = report.doctors  # Cardiology before Orthopedic Surgery
    assert shah == reports.DoctorRow(
        doctor=dr_shah, appointments=1, patients_seen=1, average_wait_minutes=5.0,
        average_consultation_minutes=10.0, free_slots_left=3,
    )  # fmt: skip
    assert rao.doctor == dr_rao
    assert rao.appointments == 4  # A, the no-show B, the walk-ins E and F
    assert rao.patients_seen == 3
    assert rao.average_wait_minutes == pytest.approx((1 + 31 + 36) / 3)
    assert rao.average_consultation_minutes == pytest.approx((13 + 18 + 20) / 3)
    assert rao.free_slots_left == 0  # the emergency slot is not a regular slot

    assert [(h.label, h.patients) for h in report.per_hour] == [("09:00", 3), ("10:00", 1)]


def test_the_day_before_and_the_day_after(seeded_day):
    tuesday = reports.daily_report(TUESDAY, now=at(WEDNESDAY, 18))
    assert tuesday.totals == [
        ("Appointments booked", 0),
        ("Completed", 0),
        ("No-shows", 0),
        ("Cancellations", 1),
        ("Reschedules", 0),
        ("Walk-ins", 0),
        ("Emergencies", 0),
        ("Still on the waiting list", 1),
    ]
    assert tuesday.cancellation_reasons == [("Earlier", 1)]
    assert tuesday.doctors == [] and tuesday.per_hour == []
    thursday = reports.daily_report(THURSDAY, now=at(WEDNESDAY, 18))
    assert thursday.still_waiting == 3


def test_an_empty_day(db):
    report = reports.daily_report(WEDNESDAY)
    assert all(value == 0 for _, value in report.totals)
    assert report.doctors == [] and report.per_hour == [] and report.cancellation_reasons == []


# --- Service counters and visits -----------------------------------------------------------


@pytest.fixture
def visits_day(orth, dr_rao, lab, lab_counter_2, pharmacy, pharmacy_window):
    """Four visits on Wednesday, through the services:

    Asha (1 stop): ORTH 09:00, called 09:05, done 09:16.            door to door 16
    Bala (2 stops): ORTH 09:02, called 09:20, done 09:30 -> pharmacy (Window B)
        09:30, called 09:40, done 09:45.                             door to door 43
    Chitra (3 stops): ORTH 09:04, called 09:46, done 09:55 -> laboratory (Counter 2)
        09:55, called 10:00, done 10:10 -> back to Dr. Rao 10:10 (ranked from 09:55),
        called 10:15, still with him: open, door to door to 10:10 = 66
    Dev (1 stop): ORTH 10:20, still waiting: no door-to-door time yet.
    """
    from queues.visits import NextStop
    from tests.conftest import make_counter_staff

    lab_staff = make_counter_staff("lab2", "Kiran (lab)", lab, lab_counter_2).user
    pharmacist = make_counter_staff("pharm", "Farida (pharmacy)", pharmacy, pharmacy_window).user

    def serve(desk, actor, called, started, completed, send_on=None):
        token = queue.call_next(desk, actor=actor, now=called)
        queue.start_consultation(desk, token, actor=actor, now=started)
        if completed:
            queue.complete_token(desk, token, actor=actor, now=completed, send_on=send_on)
        return token

    w = WEDNESDAY
    for minute, name in [(0, "Asha"), (2, "Bala"), (4, "Chitra")]:
        queue.issue_token(orth, name, now=at(w, 9, minute))
    serve(dr_rao, None, at(w, 9, 5), at(w, 9, 6), at(w, 9, 16))
    serve(dr_rao, None, at(w, 9, 20), at(w, 9, 21), at(w, 9, 30), [NextStop(pharmacy)])
    serve(pharmacy_window, pharmacist, at(w, 9, 40), at(w, 9, 41), at(w, 9, 45))
    serve(dr_rao, None, at(w, 9, 46), at(w, 9, 47), at(w, 9, 55),
          [NextStop(lab, note="CBC"), NextStop(orth, doctor=dr_rao)])  # fmt: skip
    serve(lab_counter_2, lab_staff, at(w, 10), at(w, 10, 1), at(w, 10, 10))
    review = serve(dr_rao, None, at(w, 10, 15), at(w, 10, 16), None)
    assert review.patient_name == "Chitra"
    queue.issue_token(orth, "Dev", now=at(w, 10, 20))


def test_service_counters_have_rows_as_doctors_do(visits_day, lab_counter_2, pharmacy_window):
    report = reports.daily_report(WEDNESDAY, now=at(WEDNESDAY, 18))
    assert report.counters == [
        reports.CounterRow(lab_counter_2, patients_seen=1, average_wait_minutes=5.0,
                           average_service_minutes=9.0),
        reports.CounterRow(pharmacy_window, patients_seen=1, average_wait_minutes=10.0,
                           average_service_minutes=4.0),
    ]  # fmt: skip
    (rao,) = report.doctors
    assert rao.patients_seen == 3  # Chitra's review is still going on


def test_every_visit_of_the_day_with_its_stops_and_waits(visits_day):
    visits = reports.daily_report(WEDNESDAY, now=at(WEDNESDAY, 18)).visits
    rows = {row.visit.patient_name: row for row in visits.rows}
    assert [row.visit.patient_name for row in visits.rows] == ["Asha", "Bala", "Chitra", "Dev"]
    summary = {
        name: (row.stops, row.route, row.door_to_door_minutes, [w.minutes for w in row.waits])
        for name, row in rows.items()
    }
    assert summary == {
        "Asha": (1, ["ORTH"], 16.0, [5.0]),
        "Bala": (2, ["ORTH", "PHAR"], 43.0, [18.0, 10.0]),
        # Back for review: waited from 10:10 (when the laboratory was done), not 09:55.
        "Chitra": (3, ["ORTH", "LAB", "ORTH"], 66.0, [42.0, 5.0, 5.0]),
        "Dev": (1, ["ORTH"], None, [None]),
    }
    assert rows["Chitra"].ended_at == at(WEDNESDAY, 10, 10) and not rows["Chitra"].is_finished
    assert rows["Bala"].ended_at == at(WEDNESDAY, 9, 45) and rows["Bala"].is_finished
    assert [w.place for w in rows["Chitra"].waits] == ["Room 4", "Counter 2", "Room 4"]

    assert visits.count == 4
    assert visits.by_stops == [("1 stop", 2), ("2 stops", 1), ("3 or more stops", 1)]
    assert visits.median_door_to_door_minutes == 43.0
    assert visits.mean_door_to_door_minutes == pytest.approx((16 + 43 + 66) / 3)
    assert [(w.department.code, w.stops, w.average_wait_minutes)
            for w in visits.wait_by_department] == [
        ("ORTH", 4, pytest.approx((5 + 18 + 42 + 5) / 4)),
        ("LAB", 1, 5.0),
        ("PHAR", 1, 10.0),
    ]  # fmt: skip


def test_a_cancelled_stop_is_not_counted(visits_day):
    from queues.models import Visit, VisitStop
    from queues.visits import cancel_stop

    dev = Visit.objects.get(patient_name="Dev")
    cancel_stop(dev.stops.get(), actor=None, reason="Left", now=at(WEDNESDAY, 10, 40))
    assert dev.stops.get().status == VisitStop.Status.CANCELLED
    visits = reports.daily_report(WEDNESDAY, now=at(WEDNESDAY, 18)).visits
    row = next(r for r in visits.rows if r.visit.patient_name == "Dev")
    assert (row.stops, row.waits) == (0, [])
    assert visits.by_stops == [("1 stop", 1), ("2 stops", 1), ("3 or more stops", 1)]


def test_visits_of_other_days_are_not_in_the_report(visits_day):
    tuesday = reports.daily_report(TUESDAY, now=at(WEDNESDAY, 18))
    assert tuesday.visits.rows == [] and tuesday.counters == []
    assert tuesday.visits.median_door_to_door_minutes is None
    assert tuesday.visits.by_stops == [("1 stop", 0), ("2 stops", 0), ("3 or more stops", 0)]


# --- Paused minutes -----------------------------------------------------------------------


def test_paused_minutes_per_doctor_and_counter(dr_rao, dr_iyer, lab_counter, orth):
    from queues import breaks

    w = WEDNESDAY
    breaks.late_start(dr_rao, back_at=datetime.time(9, 20), now=at(w, 9))
    breaks.resume(dr_rao, now=at(w, 9, 15))  # 15 min
    breaks.pause(dr_rao, reason="ward round", now=at(w, 11))
    breaks.pause(dr_rao, reason="theatre", now=at(w, 11, 10))  # still the same pause
    breaks.resume(dr_rao, now=at(w, 11, 40))  # 40 min
    breaks.pause(lab_counter, reason="break", now=at(w, 13))
    breaks.resume(lab_counter, now=at(w, 13, 20))  # 20 min
    breaks.pause(dr_iyer, reason="break", now=at(w, 17, 30))  # not resumed

    report = reports.daily_report(w, now=at(w, 18))
    by_doctor = {row.doctor: row.paused_minutes for row in report.doctors}
    # A pause not yet resumed counts up to now on the day itself...
    assert by_doctor == {dr_iyer: 30.0, dr_rao: 55.0}
    assert [(c.counter, c.paused_minutes) for c in report.counters] == [(lab_counter, 20.0)]
    # ... and to the end of the day afterwards.
    later = reports.daily_report(w, now=at(THURSDAY, 9))
    assert {row.doctor: row.paused_minutes for row in later.doctors}[dr_iyer] == 390.0


def test_pauses_of_other_days_are_not_counted(dr_rao):
    from queues import breaks

    breaks.pause(dr_rao, reason="break", now=at(TUESDAY, 23))
    breaks.resume(dr_rao, now=at(WEDNESDAY, 0, 30))  # the resume alone falls on Wednesday
    report = reports.daily_report(WEDNESDAY, now=at(WEDNESDAY, 18))
    assert report.doctors == []
    tuesday = reports.daily_report(TUESDAY, now=at(WEDNESDAY, 18))
    assert [row.paused_minutes for row in tuesday.doctors] == [60.0]


def test_the_report_page_shows_paused_minutes(client, receptionist, dr_rao):
    from django.urls import reverse

    from queues import breaks
    from tests.conftest import flat_text

    breaks.pause(dr_rao, reason="ward round", now=at(WEDNESDAY, 11))
    breaks.resume(dr_rao, now=at(WEDNESDAY, 11, 45))
    client.force_login(receptionist)
    response = client.get(reverse("reception_daily_report"), {"date": WEDNESDAY.isoformat()})
    page = flat_text(response)
    assert "Paused (min)" in page
    assert '<td class="num">45</td>' in page
