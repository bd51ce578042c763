"""The walk-in page, the waiting list on the dashboard, offering a slot, removing."""

import pytest
from django.urls import reverse

from appointments import walkins
from appointments.models import Appointment, DoctorSchedule, WaitingListEntry, WaitingListEvent
from queues.models import Token
from tests.appointments.conftest import place, t
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 9, 5)
pytestmark = pytest.mark.usefixtures("clock")
PATIENT = {"patient_name": "Asha Rao", "mobile": "98123 45678", "reason": "Fever"}


@pytest.fixture
def desk(client, receptionist):
    """The receptionist, signed in on the test client."""
    client.force_login(receptionist)
    return receptionist


@pytest.fixture
def session(dr_rao):
    # 09:00-09:30: the 09:00 slot (running) is regular, 09:15 is kept for emergencies.
    return DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=WEDNESDAY.weekday(), start=t(9), end=t(9, 30), emergency_slots=1
    )


def page(response) -> str:
    return response.content.decode()


def test_the_page_lists_free_slots_now(client, desk, session, dr_rao):
    html = page(client.get(reverse("reception_walk_in")))
    assert "Dr. Rao" in html and "09:00–09:15" in html and "Regular slot" in html
    assert "Emergency slot" not in html
    html = page(client.get(reverse("reception_walk_in"), {"emergency": "1"}))
    assert "09:15–09:30" in html and "Emergency slot" in html
    assert f'value="{dr_rao.pk}@09:15"' in html


def test_booking_a_walk_in_checks_them_in(client, desk, session, dr_rao):
    data = {**PATIENT, "action": "book", "option": f"{dr_rao.pk}@09:00"}
    response = client.post(reverse("reception_walk_in"), data)
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reception_appointment", args=[appointment.public_id])
    assert appointment.is_walk_in and appointment.status == Appointment.Status.CHECKED_IN
    assert Token.objects.get(appointment=appointment).assigned_doctor == dr_rao
    follow = page(client.get(response["Location"]))
    assert "checked in" in follow


def test_a_walk_in_in_tamil_gets_a_tamil_token_and_the_patient_keeps_the_language(
    client, desk, session, dr_rao
):
    data = {**PATIENT, "language": "ta", "action": "book", "option": f"{dr_rao.pk}@09:00"}
    assert client.post(reverse("reception_walk_in"), data).status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.patient.language == "ta"
    assert Token.objects.get(appointment=appointment).language == "ta"


def test_an_emergency_takes_the_kept_slot_with_an_emergency_token(client, desk, session, dr_rao):
    data = {**PATIENT, "action": "book", "emergency": "1", "option": f"{dr_rao.pk}@09:15"}
    assert client.post(reverse("reception_walk_in"), data).status_code == 302
    token = Token.objects.get()
    assert token.priority == Token.Priority.EMERGENCY
    assert token.appointment.is_emergency


def test_a_slot_taken_meanwhile_offers_the_next(client, desk, session, dr_rao):
    place(dr_rao, t(9))
    data = {**PATIENT, "action": "book", "emergency": "1", "option": f"{dr_rao.pk}@09:00"}
    response = client.post(reverse("reception_walk_in"), data)
    html = page(response)
    assert response.status_code == 200
    assert "no longer free" in html and "updated below" in html
    assert "09:15–09:30" in html  # the next option, ticked as the only one
    assert 'value="Asha Rao"' in html  # what was typed stays


@pytest.mark.parametrize(
    "data",
    [
        {"action": "book", "option": "garbage"},
        {"action": "book", "option": "999999@09:00"},
        {"action": "book", "option": "1@25:99"},
        {"action": "book"},
        {"action": "wait"},
        {"action": "wait", "department": "abc"},
        {"action": "wait", "department": "999999"},
        {"action": "book", "doctor": "x" * 50},
        {"action": "nonsense", "department": "\x00"},
        {"action": "wait", "department": "9" * 30},
        {"action": "book", "option": "1@09:00", "doctor": "9" * 30},
        {"action": "book", "option": f"{'9' * 30}@09:00"},
        {"action": "book", "option": "1@09:00", "emergency": "perhaps"},
        {"action": "wait", "department": "orth", "emergency": "2"},
        {"action": "book", "option": "1@09:00", "patient_name": "A" * 101},
        {"action": "wait", "department": "orth", "reason": "x" * 201},
        {"action": "wait", "department": "orth", "mobile": "9" * 31},
        {"action": "book", "option": "1@09:00", "language": "fr"},
    ],
)
def test_bad_input_is_a_message_not_a_500(client, desk, session, dr_rao, orth, data):
    # "orth" and "1@" stand for the department and doctor that exist.
    data = {**PATIENT, **data}
    if data.get("department") == "orth":
        data["department"] = orth.pk
    data["option"] = data.get("option", "").replace("1@", f"{dr_rao.pk}@")
    response = client.post(reverse("reception_walk_in"), data)
    assert response.status_code == 200
    assert "errorlist" in page(response)
    assert not Appointment.objects.exists()
    assert not WaitingListEntry.objects.exists()


def test_a_bad_input_is_named_and_what_was_typed_stays(client, desk, session, dr_rao):
    data = {**PATIENT, "action": "book", "option": f"{dr_rao.pk}@09:00", "emergency": "maybe"}
    html = page(client.post(reverse("reception_walk_in"), data))
    assert "Emergency: Tick the box or leave it empty." in html
    assert 'value="Asha Rao"' in html


def test_no_slot_puts_the_patient_on_the_waiting_list(client, desk, session, dr_rao, orth):
    place(dr_rao, t(9))
    html = page(client.get(reverse("reception_walk_in"), {"department": orth.pk}))
    assert "No free slot today" in html
    data = {**PATIENT, "action": "wait", "department": orth.pk, "emergency": "1"}
    response = client.post(reverse("reception_walk_in"), data)
    assert response["Location"] == reverse("reception_dashboard")
    entry = WaitingListEntry.objects.get()
    assert entry.priority == WaitingListEntry.Priority.EMERGENCY
    assert entry.department == orth and entry.doctor is None and entry.created_by == desk


def test_the_dashboard_shows_the_waiting_list_in_order(client, desk, orth, card):
    for name, minute, priority in [("Late", 1, 0), ("Urgent", 3, 1), ("Early", 0, 0)]:
        walkins.add_to_waiting_list(
            department=orth, patient_name=name, mobile=f"+9198765000{minute:02d}",
            reason="Fever", priority=priority, actor=desk, now=at(WEDNESDAY, 8, minute),
        )  # fmt: skip
    html = page(client.get(reverse("reception_dashboard")))
    assert "Waiting list (3)" in html
    assert html.index("Urgent") < html.index("Early") < html.index("Late")
    assert "1 h 05 min" in html  # Early: 08:00 to 09:05
    assert "Free slot now: book" not in html
    assert reverse("reception_walk_in") in html and reverse("reception_daily_report") in html


def test_a_free_slot_now_is_offered_on_the_dashboard(client, desk, session, dr_rao, orth):
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Waiting Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    html = page(client.get(reverse("reception_dashboard")))
    url = reverse("reception_waiting_offer", args=[entry.pk])
    assert "Free slot now: book" in html
    assert f"{url}?doctor={dr_rao.pk}&amp;date=2026-11-18&amp;start=09%3A00" in html


def test_offering_a_freed_slot_books_and_checks_in(client, desk, session, dr_rao, orth):
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Waiting Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    url = reverse("reception_waiting_offer", args=[entry.pk])
    params = {"doctor": dr_rao.pk, "date": "2026-11-18", "start": "09:00"}
    html = page(client.get(url, params))
    assert "Patient is here: check in now" in html
    assert 'name="check_in" id="id_check_in" value="1" checked' in html
    response = client.post(url, {**params, "check_in": "1"})
    appointment = Appointment.objects.get()
    assert response["Location"] == reverse("reception_appointment", args=[appointment.public_id])
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.BOOKED and entry.appointment == appointment
    assert appointment.status == Appointment.Status.CHECKED_IN
    # Offered again: refused with a message.
    assert "no longer on the waiting list" in page(client.post(url, params))


def test_offering_without_checking_in(client, desk, session, dr_rao, orth):
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Waiting Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    url = reverse("reception_waiting_offer", args=[entry.pk])
    client.post(url, {"doctor": dr_rao.pk, "date": "2026-11-18", "start": "09:00"})
    assert Appointment.objects.get().status == Appointment.Status.BOOKED
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"doctor": "1", "date": "not-a-date", "start": "09:00"}, "is not a date"),
        ({"doctor": "1", "date": "2026-11-18", "start": "9am"}, "is not a time"),
        ({"doctor": "999999", "date": "2026-11-18", "start": "09:00"}, "could not be found"),
        ({"doctor": "abc", "date": "2026-13-45", "start": "x"}, "could not be found"),
        ({"doctor": "9" * 30, "date": "2026-11-18", "start": "09:00"}, "could not be found"),
        ({"doctor": "1", "date": "2026-11-18", "start": "09:00", "check_in": "x"}, "Tick the box"),
    ],
)
def test_a_bad_offer_link_is_a_message(client, desk, session, dr_rao, orth, params, message):
    if params["doctor"] == "1":  # a doctor who exists
        params = {**params, "doctor": dr_rao.pk}
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    url = reverse("reception_waiting_offer", args=[entry.pk])
    for response in (client.get(url, params), client.post(url, params)):
        assert response.status_code == 200
        assert message in page(response)
    assert not Appointment.objects.exists()
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.WAITING


def test_the_offer_page_without_a_slot_lists_free_slots(client, desk, session, dr_rao, orth):
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    html = page(client.get(reverse("reception_waiting_offer", args=[entry.pk])))
    assert "Dr. Rao, room 4, 09:00–09:15" in html


def test_unknown_entries_are_404(client, desk):
    assert client.get(reverse("reception_waiting_offer", args=[999999])).status_code == 404
    assert client.post(reverse("reception_waiting_remove", args=[999999])).status_code == 404


def test_removing_from_the_list(client, desk, orth):
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    url = reverse("reception_waiting_remove", args=[entry.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert "taken off the waiting list" in page(response)
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.LEFT
    response = client.post(url, follow=True)
    assert "no longer on the waiting list" in page(response)


def test_removing_asks_why_and_records_it(client, desk, orth):
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    assert 'name="reason"' in page(client.get(reverse("reception_dashboard")))
    url = reverse("reception_waiting_remove", args=[entry.pk])
    client.post(url, {"reason": "Seen in casualty"})
    event = entry.events.get(kind=WaitingListEvent.Kind.REMOVED)
    assert (event.actor, event.at, event.reason) == (desk, NOW, "Seen in casualty")


def test_an_over_long_removal_reason_is_refused_and_nothing_changes(client, desk, orth):
    entry = walkins.add_to_waiting_list(
        department=orth, patient_name="Wanda", mobile="+919876500001",
        reason="Fever", priority=0, actor=desk, now=at(WEDNESDAY, 8),
    )  # fmt: skip
    url = reverse("reception_waiting_remove", args=[entry.pk])
    response = client.post(url, {"reason": "x" * 201}, follow=True)
    assert "at most 200 characters" in page(response)
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.WAITING
    assert not entry.events.filter(kind=WaitingListEvent.Kind.REMOVED).exists()


def test_state_changes_need_the_csrf_token(desk, orth, dr_rao, session):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(desk)
    data = {**PATIENT, "action": "book", "option": f"{dr_rao.pk}@09:00"}
    assert csrf_client.post(reverse("reception_walk_in"), data).status_code == 403
    assert not Appointment.objects.exists()
