"""The reception dashboard: a day's appointments in time order, date navigation, search,
filters, and every doctor's availability in colour and in words."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, DoctorLeave, DoctorSchedule, Patient
from tests.conftest import WEDNESDAY, at, flat_text

NOW = at(WEDNESDAY, 8)
pytestmark = pytest.mark.usefixtures("clock")
URL = reverse("reception_dashboard")


def session(doctor, start, end, day=WEDNESDAY):
    return DoctorSchedule.objects.create(
        doctor=doctor, weekday=day.weekday(), start=start, end=end, slot_minutes=15
    )


def place(doctor, hour, minute, name, mobile, status=Appointment.Status.BOOKED, day=WEDNESDAY):
    patient, _ = Patient.objects.get_or_create(mobile=mobile, defaults={"name": name})
    start = datetime.time(hour, minute)
    end = (datetime.datetime.combine(day, start) + datetime.timedelta(minutes=15)).time()
    return Appointment.objects.create(
        patient=patient, doctor=doctor, date=day, start=start, end=end, reason="Knee pain",
        status=status, created_at=NOW,
        hold_expires_at=NOW + datetime.timedelta(minutes=10) if status == "held" else None,
    )  # fmt: skip


@pytest.fixture
def wednesday(dr_rao, dr_shah):
    session(dr_rao, datetime.time(9), datetime.time(12))
    session(dr_shah, datetime.time(9), datetime.time(10))
    return [
        place(dr_rao, 10, 30, "Chitra Menon", "+919812300003"),
        place(dr_shah, 9, 0, "Asha Rao", "+919812300001"),
        place(dr_rao, 9, 15, "Bala Iyer", "+919812345678", status=Appointment.Status.HELD),
        place(dr_rao, 9, 30, "Gone Away", "+919812300009", status=Appointment.Status.EXPIRED),
        place(
            dr_rao, 9, 0, "Thursday Tara", "+919812300004", day=WEDNESDAY + datetime.timedelta(1)
        ),
    ]


def listed(response) -> list[str]:
    return [row["appointment"].patient.name for row in response.context["rows"]]


def test_it_lists_todays_appointments_in_time_order(desk_client, wednesday):
    response = desk_client.get(URL)
    assert response.status_code == 200
    assert listed(response) == ["Asha Rao", "Bala Iyer", "Chitra Menon"]
    html = flat_text(response)
    assert "Appointments today, Wednesday 18 November 2026" in html
    assert "09:15–09:30" in html and "Dr. Rao" in html
    assert "Held (awaiting OTP)" in html and "Booked" in html
    # Mobiles are masked; the verify link is offered for the held one.
    assert "••••••5678" in html and "9812345678" not in html
    held = wednesday[2]
    assert reverse("reception_verify", args=[held.public_id]) in html
    assert reverse("reception_appointment", args=[wednesday[0].public_id]) in html


def test_it_looks_like_the_admin(desk_client, wednesday):
    html = desk_client.get(URL).content.decode()
    for part in ('id="changelist"', 'id="result_list"', 'id="changelist-filter"', 'id="toolbar"'):
        assert part in html
    assert "admin/css/base.css" in html and "css/reception.css" in html
    # A receptionist is not admin staff: reception links instead of the admin's.
    assert 'action="/accounts/logout/"' in html
    assert 'href="/reception/book/' in html and 'href="/"' in html
    assert "/admin/password_change/" not in html
    assert 'class="addlink">Book an appointment' in html
    assert 'class="addlink">Walk-in' in html and ">Daily report<" in html
    for not_yet in (">Cancel<", "Reschedule", "coming soon"):
        assert not_yet not in html


def test_it_shows_each_doctors_availability_in_words_and_colour(
    desk_client, dr_rao, dr_iyer, dr_shah
):
    session(dr_rao, datetime.time(9), datetime.time(12))
    session(dr_iyer, datetime.time(9), datetime.time(9, 15))
    place(dr_iyer, 9, 0, "Asha Rao", "+919812300001")
    session(dr_shah, datetime.time(9), datetime.time(12))
    DoctorLeave.objects.create(doctor=dr_shah, start_date=WEDNESDAY, end_date=WEDNESDAY)
    response = desk_client.get(URL)
    html = flat_text(response)
    states = {
        a["item"].doctor.name: (a["item"].label, a["colour"])
        for a in response.context["availability"]
    }
    assert states == {
        "Dr. Rao": ("Available — 12 free slots", "green"),
        "Dr. Iyer": ("Fully booked today", "amber"),
        "Dr. Shah": ("On leave", "red"),
    }
    assert "Doctor availability now" in html
    for label, colour in states.values():
        assert re.search(rf'class="avail avail-{colour}">.*?{label}', html)


def test_an_off_duty_doctor_says_so(desk_client, dr_rao):
    session(dr_rao, datetime.time(9), datetime.time(12))
    dr_rao.on_duty = False
    dr_rao.save()
    assert "Off duty" in flat_text(desk_client.get(URL))


def test_date_navigation(desk_client, wednesday):
    thursday = WEDNESDAY + datetime.timedelta(days=1)
    response = desk_client.get(URL, {"date": thursday.isoformat()})
    assert listed(response) == ["Thursday Tara"]
    html = flat_text(response)
    assert "Appointments Thursday 19 November 2026" in html
    assert 'href="?date=2026-11-18" class="date-back" rel="prev">‹ Previous day' in html
    assert 'href="?date=2026-11-20" rel="next">Next day ›' in html
    assert ">Today</a>" in html
    assert "Doctor availability on Thu 19 Nov" in html


@pytest.mark.parametrize("garbage", ["yesterday", "2026-13-45", "<script>", "9" * 40, "2026-11"])
def test_a_date_that_cannot_be_read_falls_back_to_today_with_a_message(
    desk_client, wednesday, garbage
):
    response = desk_client.get(URL, {"date": garbage})
    assert response.status_code == 200
    assert response.context["day"] == WEDNESDAY
    assert listed(response) == ["Asha Rao", "Bala Iyer", "Chitra Menon"]
    assert "is not a date; showing today instead" in flat_text(response)
    assert "<script>" not in response.content.decode()


@pytest.mark.parametrize(
    "q, expected",
    [
        ("bala", ["Bala Iyer"]),
        ("  RAO ", ["Asha Rao"]),
        ("5678", ["Bala Iyer"]),
        ("98123 00003", ["Chitra Menon"]),
        ("nobody", []),
        ("'; drop table", []),
        ("\x00bala", ["Bala Iyer"]),
    ],
)
def test_search_by_patient_name_or_mobile(desk_client, wednesday, q, expected):
    response = desk_client.get(URL, {"q": q})
    assert response.status_code == 200
    assert listed(response) == expected
    if not expected:
        assert "No appointments match" in flat_text(response)


def test_filters_by_doctor_and_status(desk_client, wednesday, dr_rao):
    assert listed(desk_client.get(URL, {"doctor": dr_rao.pk})) == ["Bala Iyer", "Chitra Menon"]
    assert listed(desk_client.get(URL, {"status": "held"})) == ["Bala Iyer"]
    assert listed(desk_client.get(URL, {"status": "nonsense", "doctor": "x"})) == [
        "Asha Rao",
        "Bala Iyer",
        "Chitra Menon",
    ]
    html = flat_text(desk_client.get(URL, {"doctor": dr_rao.pk}))
    assert '<li class="selected"><a href="?date=2026-11-18&amp;doctor=' in html


def test_an_empty_day_says_so(desk_client, db):
    response = desk_client.get(URL)
    assert "No appointments on this day." in flat_text(response)


def test_the_site_nav_shows_reception_to_receptionists_only(client, desk_client, dr_rao):
    assert 'href="/reception/">Reception</a>' in desk_client.get("/").content.decode()
    client.logout()
    client.force_login(dr_rao.user)
    assert "/reception/" not in client.get("/").content.decode()


def test_a_lapsed_hold_shows_as_expired_without_the_code_link(desk_client, wednesday, monkeypatch):
    later = NOW + datetime.timedelta(minutes=11)
    monkeypatch.setattr(timezone, "now", lambda: later)
    held = wednesday[2]
    html = flat_text(desk_client.get(URL))
    assert "status-held" not in html and "Hold expired</span>" in html
    assert reverse("reception_verify", args=[held.public_id]) not in html


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01"])
def test_a_date_beyond_the_calendar_falls_back_to_today_with_a_message(desk_client, wednesday, far):
    response = desk_client.get(URL, {"date": far})
    assert response.status_code == 200
    assert response.context["day"] == WEDNESDAY
    assert "Choose a date between 1900 and 2999. Showing today instead." in flat_text(response)


@pytest.mark.parametrize("doctor", ["²", "٣", "1" * 20])
def test_a_doctor_id_that_is_not_a_short_number_shows_every_doctor_with_a_message(
    desk_client, wednesday, doctor
):
    response = desk_client.get(URL, {"doctor": doctor})
    assert response.status_code == 200
    assert listed(response) == ["Asha Rao", "Bala Iyer", "Chitra Menon"]
    assert "That doctor could not be found; showing every doctor." in flat_text(response)
