"""Booking at the desk_client: choose a doctor and a free slot, enter the patient, hold the slot,
confirm with the code texted to the patient, see it on the dashboard."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from appointments import errors, notify
from appointments.booking import hold_slot
from appointments.models import (
    Appointment,
    AppointmentEvent,
    DoctorSchedule,
    Notification,
    OtpChallenge,
    Patient,
)
from tests.conftest import WEDNESDAY, at, flat_text

BOOK = reverse("reception_book")
MOBILE = "+919812345678"

pytestmark = pytest.mark.usefixtures("outbox")


class Clock:
    def __init__(self, now):
        self.now = now

    def advance(self, **delta):
        self.now += datetime.timedelta(**delta)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    clock = Clock(at(WEDNESDAY, 8))
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock


@pytest.fixture
def rao(dr_rao):
    """Dr. Rao's Wednesday morning: 09:00-10:00 in four 15-minute slots."""
    DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=WEDNESDAY.weekday(), start=datetime.time(9), end=datetime.time(10)
    )
    return dr_rao


def booking(who, **overrides) -> dict:
    data = {
        "doctor": who.pk,
        "date": WEDNESDAY.isoformat(),
        "start": "09:15",
        "patient_name": "Asha  Rao",
        "mobile": "98123 45678",
        "email": "",
        "reason": "Knee pain",
    }
    data.update(overrides)
    return data


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def codes_sent(purpose="otp") -> list[str]:
    return [
        re.search(r"\b(\d{6})\b", m["body"]).group(1)
        for m in notify.outbox_messages()
        if m["purpose"] == purpose
    ]


def nothing_written():
    return not (
        Appointment.objects.exists()
        or Patient.objects.exists()
        or OtpChallenge.objects.exists()
        or AppointmentEvent.objects.exists()
        or notify.outbox_messages()
    )


# --- Choosing the doctor and the slot ---------------------------------------------------


def test_without_a_doctor_the_page_offers_the_search(desk_client, rao):
    html = flat_text(desk_client.get(BOOK))
    assert 'role="combobox"' in html and 'aria-controls="doctor-suggestions"' in html
    assert 'role="listbox"' in html
    assert f'data-endpoint="{reverse("reception_doctor_search")}"' in html
    assert 'name="available"' in html and 'type="date"' in html


def test_without_javascript_the_search_lists_the_matches(desk_client, rao, dr_shah):
    response = desk_client.get(BOOK, {"q": "ortho", "date": WEDNESDAY.isoformat()})
    html = flat_text(response)
    assert "Doctors matching “ortho”" in html
    assert f'href="/reception/book/?doctor={rao.pk}&amp;date=2026-11-18">Dr. Rao</a>' in html
    assert "Dr. Shah" not in html
    everyone = desk_client.get(BOOK, {"q": "dr"}).context["found"]
    assert [row["match"].doctor.name for row in everyone] == ["Dr. Rao", "Dr. Shah"]
    free = desk_client.get(BOOK, {"q": "dr", "available": "1"})
    assert [row["match"].doctor.name for row in free.context["found"]] == ["Dr. Rao"]
    assert 'name="available" value="1" checked' in flat_text(free)


def test_the_slot_picker_offers_only_free_slots(desk_client, rao):
    frontdesk = get_user_model().objects.get(username="frontdesk")
    hold_slot(
        doctor=rao, day=WEDNESDAY, start=datetime.time(9, 30), patient_name="Bala",
        mobile="98123 00001", reason="Back", actor=frontdesk,
    )  # fmt: skip
    response = desk_client.get(BOOK, {"doctor": rao.pk, "date": WEDNESDAY.isoformat()})
    assert response.status_code == 200
    html = flat_text(response)
    offered = re.findall(r'<input type="radio" name="start" value="(\d\d:\d\d)"', html)
    assert offered == ["09:00", "09:15", "09:45"]
    assert "Free slots on Wednesday 18 November 2026" in html
    for field in ("patient_name", "mobile", "email", "reason"):
        assert f'name="{field}"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_day_without_free_slots_says_so(desk_client, rao):
    thursday = WEDNESDAY + datetime.timedelta(days=1)
    html = flat_text(desk_client.get(BOOK, {"doctor": rao.pk, "date": thursday.isoformat()}))
    assert "No free slots on this date." in html
    assert 'name="start"' not in html and 'name="patient_name"' not in html


@pytest.mark.parametrize("doctor", ["999999", "abc", "1 OR 1=1", "-1", "9" * 40])
def test_an_unknown_doctor_gives_a_message_not_an_error(desk_client, rao, doctor):
    response = desk_client.get(BOOK, {"doctor": doctor})
    assert response.status_code == 200
    assert page_messages(response) == [
        "That doctor could not be found. Search for the doctor again."
    ]
    assert 'role="combobox"' in flat_text(response)


@pytest.mark.parametrize("date", ["soon", "2026-02-30", "<b>"])
def test_a_garbage_date_falls_back_to_today(desk_client, rao, date):
    response = desk_client.get(BOOK, {"doctor": rao.pk, "date": date})
    assert response.status_code == 200
    assert response.context["day"] == WEDNESDAY
    assert "is not a date; showing today instead" in page_messages(response)[0]
    assert len(response.context["slots"]) == 4


# --- Holding the slot -------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"patient_name": ""}, "patient_name", "This field is required."),
        ({"patient_name": "   "}, "patient_name", "This field is required."),
        ({"mobile": ""}, "mobile", "This field is required."),
        ({"mobile": "12345"}, "mobile", "Enter a valid mobile number, e.g. 98123 45678."),
        ({"mobile": "080 2222 3333"}, "mobile", "That is not a mobile number"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"reason": ""}, "reason", "This field is required."),
        ({"start": ""}, "start", "Choose a slot."),
        ({"start": "25:99"}, "start", "Choose a slot."),
        ({"doctor": "999999"}, "doctor", "That doctor no longer exists. Search again."),
        ({"doctor": "x"}, "doctor", "That doctor no longer exists. Search again."),
        ({"date": "garbage"}, "date", "Enter a valid date."),
    ],
)
def test_form_errors_write_nothing(post, rao, overrides, field, message):
    response = post(BOOK, booking(rao, **overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(e.startswith(message) for e in errors), errors
    assert message.split(" e.g.")[0] in flat_text(response).replace("&#x27;", "'")
    assert nothing_written()


def test_a_slot_that_is_not_free_shows_the_services_message(post, rao):
    response = post(BOOK, booking(rao, start="09:10"))  # not a slot boundary
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [errors.SLOT_NOT_FREE]
    assert errors.SLOT_NOT_FREE in flat_text(response)
    assert nothing_written()


def test_a_slot_taken_meanwhile_is_refused_and_the_others_still_offered(post, rao):
    assert post(BOOK, booking(rao)).status_code == 302
    before = Appointment.objects.count()
    response = post(BOOK, booking(rao, mobile="98123 00002", patient_name="Bala"))
    assert response.context["form"].non_field_errors() == [errors.SLOT_NOT_FREE]
    assert Appointment.objects.count() == before
    offered = re.findall(r'name="start" value="(\d\d:\d\d)"', flat_text(response))
    assert offered == ["09:00", "09:30", "09:45"]
    # What was typed is kept, so the receptionist only picks another slot.
    assert 'value="Bala"' in flat_text(response)


def test_a_slot_in_the_past_is_refused_without_writing(post, rao, clock):
    clock.advance(hours=3)  # 11:00, the morning is over
    response = post(BOOK, booking(rao))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert nothing_written()


def test_a_get_to_book_writes_nothing(desk_client, rao):
    desk_client.get(BOOK, booking(rao))
    assert nothing_written()


# --- The whole flow ---------------------------------------------------------------------


def test_book_verify_and_see_it_on_the_dashboard(desk_client, post, rao):
    response = post(BOOK, booking(rao, email="asha@example.org"))
    appointment = Appointment.objects.get()
    verify_url = reverse("reception_verify", args=[appointment.public_id])
    assert response.status_code == 302 and response["Location"] == verify_url
    assert appointment.status == Appointment.Status.HELD
    assert (appointment.patient.name, appointment.patient.mobile) == ("Asha Rao", MOBILE)
    assert appointment.start == datetime.time(9, 15)

    page = desk_client.get(verify_url)
    html = flat_text(page)
    assert 'A 6-digit code was sent to <strong class="mono">••••••5678</strong>' in html
    code_input = re.search(r'<input type="text" name="code"[^>]*>', html).group(0)
    for attribute in ('inputmode="numeric"', 'autocomplete="one-time-code"', 'maxlength="6"'):
        assert attribute in code_input
    assert re.search(r'<form method="post"[^>]*class="otp-form"', html)
    assert 'id="resend-button" data-wait="60" disabled' in html

    [code] = codes_sent()
    done = post(verify_url, {"code": code})
    detail_url = reverse("reception_appointment", args=[appointment.public_id])
    assert done.status_code == 302 and done["Location"] == detail_url
    assert code not in done["Location"]
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED

    detail = desk_client.get(detail_url)
    assert page_messages(detail) == ["Booked: Asha Rao with Dr. Rao on Wed 18 Nov at 09:15."]
    html = flat_text(detail)
    assert "Booked" in html and "Knee pain" in html and "••••••5678" in html
    assert "9812345678" not in html
    for event in ("Slot held", "Code sent", "Booked"):
        assert event in html
    assert "Confirmation (SMS)" in html and "Confirmation (email)" in html
    assert code not in html

    dashboard = desk_client.get(reverse("reception_dashboard"))
    [row] = dashboard.context["rows"]
    assert row["appointment"] == appointment
    assert "Asha Rao" in flat_text(dashboard) and ">Booked<" in flat_text(dashboard)
    # A confirmed appointment needs no code any more.
    back = desk_client.get(verify_url)
    assert back["Location"] == detail_url


def test_a_wrong_code_says_so_and_is_not_echoed(desk_client, post, rao):
    post(BOOK, booking(rao))
    appointment = Appointment.objects.get()
    [code] = codes_sent()
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    response = post(reverse("reception_verify", args=[appointment.public_id]), {"code": bad})
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["That code is not right. 4 attempts left."]
    html = flat_text(response)
    assert "That code is not right. 4 attempts left." in html
    assert bad not in html and code not in html
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.HELD


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567", "１２３４５６"])
def test_a_code_that_is_not_six_digits_is_refused_before_the_service(desk_client, post, rao, code):
    post(BOOK, booking(rao))
    appointment = Appointment.objects.get()
    response = post(reverse("reception_verify", args=[appointment.public_id]), {"code": code})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    # Not counted as a wrong attempt.
    assert OtpChallenge.objects.get().attempts == 0


def test_resending_too_soon_is_refused_then_allowed(desk_client, post, rao, clock):
    post(BOOK, booking(rao))
    appointment = Appointment.objects.get()
    resend = reverse("reception_resend", args=[appointment.public_id])
    verify_url = reverse("reception_verify", args=[appointment.public_id])

    clock.advance(seconds=20)
    response = post(resend, {})
    assert response["Location"] == verify_url
    page = desk_client.get(verify_url)
    assert page_messages(page)[-1] == "You can send a new code in 40 seconds."
    assert 'data-wait="40" disabled' in flat_text(page)
    assert len(codes_sent()) == 1

    clock.advance(seconds=41)
    post(resend, {})
    page = desk_client.get(verify_url)
    assert page_messages(page) == ["A new code was sent to ••••••5678."]
    first, second = codes_sent()
    # The newest code works.
    done = post(verify_url, {"code": second})
    assert done.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_an_expired_hold_says_so_and_links_back_to_booking(desk_client, post, rao, clock):
    post(BOOK, booking(rao))
    appointment = Appointment.objects.get()
    clock.advance(minutes=11)
    page = desk_client.get(reverse("reception_verify", args=[appointment.public_id]))
    html = flat_text(page)
    assert "The hold has expired" in html
    assert 'name="code"' not in html and "resend-button" not in html
    assert f'href="/reception/book/?doctor={rao.pk}&amp;date=2026-11-18"' in html
    [code] = codes_sent()
    response = post(reverse("reception_verify", args=[appointment.public_id]), {"code": code})
    assert "has expired" in flat_text(response)
    appointment.refresh_from_db()
    assert appointment.status != Appointment.Status.BOOKED


def test_a_failed_text_is_shown_to_the_receptionist(desk_client, post, rao, settings):
    settings.SMS_BACKEND = "carrier-pigeon"
    post(BOOK, booking(rao))
    appointment = Appointment.objects.get()
    assert Notification.objects.get().status == Notification.Status.FAILED
    for name in ("reception_verify", "reception_appointment"):
        html = flat_text(desk_client.get(reverse(name, args=[appointment.public_id])))
        failure = "The SMS with the code could not be sent: unknown SMS_BACKEND"
        assert f"{failure} &#x27;carrier-pigeon&#x27;" in html, name
        assert 'class="notify-failures" role="alert"' in html


def test_a_text_with_no_transport_to_send_it_is_shown_to_the_receptionist(
    desk_client, post, rao, settings
):
    settings.SMS_BACKEND = "none"
    post(BOOK, booking(rao))
    appointment = Appointment.objects.get()
    assert Notification.objects.get().status == Notification.Status.NOT_SENT
    html = flat_text(desk_client.get(reverse("reception_verify", args=[appointment.public_id])))
    assert "The SMS with the code could not be sent: not sent: no SMS transport" in html


def test_a_failed_confirmation_is_shown_on_the_appointment(desk_client, post, rao, settings):
    post(BOOK, booking(rao))
    appointment = Appointment.objects.get()
    [code] = codes_sent()
    settings.SMS_BACKEND = "carrier-pigeon"
    post(reverse("reception_verify", args=[appointment.public_id]), {"code": code})
    page = desk_client.get(reverse("reception_appointment", args=[appointment.public_id]))
    html = flat_text(page)
    assert "The confirmation SMS could not be sent: unknown SMS_BACKEND" in html
    assert "Notification failed" in html  # in the history too


@pytest.mark.parametrize("doctor", ["²", "٣", "1" * 20])
def test_a_doctor_id_in_another_script_or_too_long_is_a_message(desk_client, rao, doctor):
    response = desk_client.get(BOOK, {"doctor": doctor})
    assert response.status_code == 200
    assert page_messages(response) == [
        "That doctor could not be found. Search for the doctor again."
    ]


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01"])
def test_a_date_beyond_the_calendar_falls_back_to_today(desk_client, rao, far):
    response = desk_client.get(BOOK, {"doctor": rao.pk, "date": far})
    assert response.status_code == 200
    assert response.context["day"] == WEDNESDAY
    assert "Showing today instead" in page_messages(response)[0]
