"""The reception dashboard's cost does not grow per doctor or per appointment beyond the
rows it draws: a fixed number of queries (it already read the board in four), and what
every doctor or row repeats worked out once per request. bench/day.py's large hospital
(84 doctors, 900 appointments in the 09:00 hour, 2,400 in the day) opens it at each desk."""

import datetime

import pytest
from django import urls
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments import changes, slots, views, walkins
from appointments.models import Appointment, DoctorLeave, DoctorSchedule, Patient, WaitingListEntry
from hospital.models import ALL_WEEKDAYS, Department
from tests.conftest import WEDNESDAY, at, make_doctor

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")
URL = reverse("reception_dashboard")
EMERGENCY, NORMAL = WaitingListEntry.Priority.EMERGENCY, WaitingListEntry.Priority.NORMAL


def queries(read) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = read()
    assert response.status_code == 200
    return len(captured.captured_queries)


def department(number: int) -> Department:
    return Department.objects.create(
        name=f"Clinic {number:02d}", code=f"K{number:02d}", open_weekdays=ALL_WEEKDAYS
    )


def appointment(doctor, start: datetime.time, status, mobile: str) -> Appointment:
    patient, _ = Patient.objects.get_or_create(mobile=mobile, defaults={"name": "Someone"})
    end = (datetime.datetime.combine(WEDNESDAY, start) + datetime.timedelta(minutes=15)).time()
    return Appointment.objects.create(
        patient=patient, doctor=doctor, date=WEDNESDAY, start=start, end=end,
        reason="Knee pain", status=status, created_at=at(WEDNESDAY, 8),
        hold_expires_at=NOW + datetime.timedelta(minutes=10) if status == "held" else None,
    )  # fmt: skip


def staff_doctors(first: int, count: int, desk, *, waiting: bool = True) -> None:
    """`count` doctors, each in a department of their own, with a morning session and
    appointments in every state the dashboard draws (a checked-in one has a token); every
    third doctor on leave, every fifth off duty, and (`waiting`) a waiting-list entry per
    doctor."""
    for n in range(first, first + count):
        clinic = department(n)
        doctor = make_doctor(f"dr{n}", f"Dr. {n:02d}", clinic, str(100 + n))
        if n % 5 == 4:
            doctor.on_duty = False
            doctor.save(update_fields=["on_duty"])
        DoctorSchedule.objects.create(
            doctor=doctor, weekday=WEDNESDAY.weekday(), start=datetime.time(9),
            end=datetime.time(12), slot_minutes=15, emergency_slots=1,
        )  # fmt: skip
        if n % 3 == 2:
            DoctorLeave.objects.create(doctor=doctor, start_date=WEDNESDAY, end_date=WEDNESDAY)
        statuses = ["booked", "held", "completed", "cancelled", "booked"]
        made = [
            appointment(doctor, datetime.time(10 + i // 4, 15 * (i % 4)), s, f"+9198{n:04d}{i:04d}")
            for i, s in enumerate(statuses)
        ]
        if doctor.on_duty:
            changes.check_in(made[-1], actor=desk, now=NOW)
        if not waiting:
            continue
        walkins.add_to_waiting_list(
            department=clinic, doctor=doctor if n % 2 else None, patient_name=f"Waiting {n}",
            mobile=f"+9197{n:08d}", reason="Fever", actor=desk,
            priority=EMERGENCY if n % 2 else NORMAL,
        )  # fmt: skip


def test_the_dashboard_reads_as_many_queries_for_twelve_doctors_as_for_two(client, desk):
    client.force_login(desk)
    staff_doctors(0, 2, desk)
    client.get(URL)  # the session's first page reads more
    two = queries(lambda: client.get(URL))

    staff_doctors(2, 10, desk)
    page = client.get(URL).content.decode()
    assert page.count('class="avail avail-') == 12
    assert page.count('class="appointment-row"') == 12 * 5
    assert page.count('class="waiting-row') == 12
    assert page.count('class="print-slip"') == 10  # the checked-in ones of doctors on duty
    assert queries(lambda: client.get(URL)) == two


def test_the_dashboard_cuts_shared_hours_into_slots_and_reverses_row_links_once(
    client, desk, monkeypatch
):
    """What every doctor or appointment row repeats is worked out once per request: the
    same hours are cut into slots once for the whole board, and each kind of row link is
    reversed once, however many doctors and rows there are."""
    cut, reversed_ = [], []
    real_session_slots, real_reverse = slots.session_slots, urls.reverse

    def counted(calls: list, fn):
        return lambda *args, **kwargs: calls.append(1) or fn(*args, **kwargs)

    monkeypatch.setattr(slots, "session_slots", counted(cut, real_session_slots))
    # {% url %} imports django.urls.reverse when it renders; the view imported it before.
    monkeypatch.setattr(urls, "reverse", counted(reversed_, real_reverse))
    monkeypatch.setattr(views, "reverse", urls.reverse)
    client.force_login(desk)

    def work() -> tuple[int, int]:
        cut.clear()
        reversed_.clear()
        assert client.get(URL).status_code == 200
        return len(cut), len(reversed_)

    staff_doctors(0, 2, desk, waiting=False)
    few = work()
    staff_doctors(2, 10, desk, waiting=False)
    assert work() == few
