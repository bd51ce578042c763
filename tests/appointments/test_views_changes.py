"""The reception pages for changing an appointment: find, reschedule, cancel, check in,
no-show, and the cancellations log. POST + CSRF + reception only; no 500 on bad input."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentEvent
from queues.models import Token
from tests.appointments.conftest import place, t
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 8, 55)

pytestmark = pytest.mark.usefixtures("clock", "outbox", "rao_morning")


@pytest.fixture
def booked(dr_rao):
    return place(dr_rao, t(9, 30), mobile="+919812345678")


def url(name, appointment):
    return reverse(name, args=[appointment.public_id])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_the_appointment_page_offers_the_actions_and_shows_the_history(desk_client, booked):
    page = desk_client.get(url("reception_appointment", booked)).content.decode()
    for action in ("Reschedule", "Cancel", 'value="Check in"'):
        assert action in page
    assert "Mark no-show" not in page  # the session is still running


def test_check_in_from_the_dashboard_returns_there(desk_client, booked):
    back = reverse("reception_dashboard") + "?date=2026-11-18"
    response = desk_client.post(url("reception_check_in", booked), {"next": back}, follow=True)
    assert response.redirect_chain[-1][0] == back
    assert "Checked in: Someone has token ORTH-001 for Dr. Rao." in messages_of(response)
    token = Token.objects.get()
    assert token.appointment == booked and token.assigned_doctor == booked.doctor
    again = desk_client.post(url("reception_check_in", booked), {"next": back}, follow=True)
    assert "Already checked in: ORTH-001" in messages_of(again)
    assert Token.objects.count() == 1


def test_the_dashboard_has_a_check_in_button_for_todays_booked(desk_client, booked):
    page = desk_client.get(reverse("reception_dashboard")).content.decode()
    assert url("reception_check_in", booked) in page


def test_check_in_refuses_an_offsite_next(desk_client, booked):
    response = desk_client.post(
        url("reception_check_in", booked), {"next": "https://evil.example/"}
    )
    assert response["Location"] == url("reception_appointment", booked)


def test_a_check_in_on_another_day_is_a_message_not_an_error(desk_client, dr_rao):
    later = place(dr_rao, t(9), day=WEDNESDAY + datetime.timedelta(days=7))
    response = desk_client.post(url("reception_check_in", later), follow=True)
    assert any("only on the day" in m for m in messages_of(response))


def test_cancel_needs_a_reason_and_then_shows_in_the_log(desk_client, booked):
    response = desk_client.post(url("reception_cancel", booked), {"reason_choice": ""})
    assert response.status_code == 400
    assert "Enter the reason for cancelling" in response.content.decode()
    response = desk_client.post(
        url("reception_cancel", booked), {"reason_choice": "Doctor unavailable"}, follow=True
    )
    assert "Cancelled: Someone. The slot is free." in messages_of(response)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED
    page = response.content.decode()
    assert "Doctor unavailable" in page and "Cancelled" in page
    log = desk_client.get(reverse("reception_cancellations"), {"date": "2026-11-18"})
    assert "Doctor unavailable" in log.content.decode()
    assert "Someone" in log.content.decode()


def test_cancel_with_a_typed_reason(desk_client, booked):
    desk_client.post(
        url("reception_cancel", booked),
        {"reason_choice": "other", "reason_other": "Patient travelling"},
    )
    assert AppointmentEvent.objects.get(kind="cancelled").reason == "Patient travelling"


def test_a_forged_reason_choice_is_refused(desk_client, booked):
    response = desk_client.post(url("reception_cancel", booked), {"reason_choice": "x" * 500})
    assert response.status_code == 400


def test_reschedule_shows_free_slots_and_moves(desk_client, booked):
    page = desk_client.get(url("reception_reschedule", booked)).content.decode()
    assert 'value="10:00"' in page and 'value="09:30"' not in page
    response = desk_client.post(
        url("reception_reschedule", booked),
        {"date": "2026-11-18", "start": "10:00", "reason": "Late"},
        follow=True,
    )
    assert any(m.startswith("Rescheduled: Someone with Dr. Rao") for m in messages_of(response))
    booked.refresh_from_db()
    assert booked.start == t(10)
    assert "From Wed 18 Nov 2026 09:30, Dr. Rao to Wed 18 Nov 2026 10:00, Dr. Rao" in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"date": "garbage", "start": "10:00"},
        {"date": "2026-11-18", "start": "25:99"},
        {"date": "2026-11-18", "start": "09:30"},
        {"date": "2026-11-18", "start": "10:00", "doctor": "999999"},
        {"date": "2026-11-18", "start": "10:00", "doctor": "abc"},
        {"date": "9999-99-99", "start": "10:00"},
        {"date": "2026-11-18", "start": "10:00", "doctor": "9" * 30},
        {"date": "2026-11-18", "start": "10:00", "reason": "x" * 201},
        {"date": "2026-11-18", "start": "10:00:00"},
    ],
)
def test_bad_reschedule_input_is_a_400_with_a_message(desk_client, booked, data):
    response = desk_client.post(url("reception_reschedule", booked), data)
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    booked.refresh_from_db()
    assert booked.start == t(9, 30)
    assert not AppointmentEvent.objects.filter(kind="rescheduled").exists()


def test_no_show_after_the_session(desk_client, booked, monkeypatch):
    response = desk_client.post(url("reception_no_show", booked), follow=True)
    assert any("session ends at 12:00" in m for m in messages_of(response))
    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 12, 30))
    assert "Mark no-show" in desk_client.get(url("reception_appointment", booked)).content.decode()
    response = desk_client.post(url("reception_no_show", booked), follow=True)
    assert "Marked as a no-show: Someone." in messages_of(response)


def test_find_across_dates(desk_client, dr_rao, booked):
    old = place(dr_rao, t(9), day=WEDNESDAY - datetime.timedelta(days=30), mobile="+919812345678")
    page = desk_client.get(reverse("reception_find"), {"q": "5678"}).content.decode()
    assert page.index(url("reception_appointment", booked)) < page.index(
        url("reception_appointment", old)
    )
    assert desk_client.get(reverse("reception_find"), {"q": "\x00"}).status_code == 200


def test_the_cancellations_log_survives_a_bad_date(desk_client):
    assert desk_client.get(reverse("reception_cancellations"), {"date": "nope"}).status_code == 200


def test_state_changes_need_the_csrf_token(client, receptionist, booked):
    csrf_client = type(client)(enforce_csrf_checks=True)
    csrf_client.force_login(receptionist)
    for name in ("reception_check_in", "reception_no_show", "reception_cancel"):
        assert (
            csrf_client.post(url(name, booked), {"reason_choice": "Duplicate booking"}).status_code
            == 403
        )
    assert Token.objects.count() == 0


def test_after_a_cancellation_the_first_on_the_waiting_list_is_offered_the_slot(
    desk_client, booked, dr_rao
):
    from appointments.models import Patient, WaitingListEntry

    WaitingListEntry.objects.create(
        patient=Patient.objects.create(name="Ravi Kumar", mobile="+919800000009"),
        department=dr_rao.department, doctor=dr_rao, reason="Back pain", arrived_at=NOW,
    )  # fmt: skip
    response = desk_client.post(
        url("reception_cancel", booked), {"reason_choice": "Patient asked to cancel"}, follow=True
    )
    assert "Offer this slot to Ravi Kumar" in response.content.decode()


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01"])
def test_the_cancellations_log_refuses_a_date_beyond_the_calendar(desk_client, far):
    response = desk_client.get(reverse("reception_cancellations"), {"date": far})
    assert response.status_code == 200
    assert "Choose a date between 1900 and 2999" in response.content.decode()


@pytest.mark.parametrize("doctor", ["²", "1" * 20])
def test_reschedule_refuses_a_doctor_id_that_is_not_a_short_number(desk_client, booked, doctor):
    response = desk_client.get(url("reception_reschedule", booked), {"doctor": doctor})
    assert response.status_code == 200
    assert "Choose a doctor of the same department." in response.content.decode()
