"""Completing and sending the patient on from a terminal: the Send on part of the
Complete form, what it accepts and refuses, and what the doctor sees of the patient."""

import datetime

import pytest
from django.urls import reverse

from appointments.models import Appointment, Patient
from hospital.models import Department
from queues import services
from queues.models import Token, TokenEvent, Visit, VisitStop
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at, make_doctor, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def in_consultation(orth, dr_rao):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    services.call_next(dr_rao, now=NOW)
    return services.start_consultation(dr_rao, token, now=NOW)


@pytest.fixture
def rao_client(client, dr_rao):
    client.force_login(dr_rao.user)
    return client


def complete(client, token, **data):
    return client.post(reverse("doctor_complete", args=[token.public_id]), data, follow=True)


def department(d) -> str:
    return f"department-{d.pk}"


def stops_of(token) -> list[tuple]:
    return [
        (s.department.code, s.doctor.name if s.doctor else None, s.status, s.kind, s.note)
        for s in Visit.objects.get(pk=token.visit_id).stops.order_by("position")
    ]


def test_the_panel_offers_every_destination_while_in_consultation(
    rao_client, in_consultation, lab, pharmacy, card, dr_shah, dr_iyer
):
    Department.objects.create(name="Closed ward", code="SHUT", is_active=False)
    page = page_text(rao_client.get(reverse("doctor_terminal")))
    assert "Complete and send on" in page
    assert 'value="review">Back to me for review' in page
    assert f'value="{department(lab)}">Laboratory' in page
    assert f'value="{department(card)}">Cardiology (any doctor)' in page
    assert f'value="doctor-{dr_shah.pk}">Dr. Shah — Cardiology' in page
    assert f'value="doctor-{dr_iyer.pk}">Dr. Iyer — Orthopedic Surgery' in page
    assert "Dr. Rao —" not in page  # themselves: "Back to me for review"
    assert "Closed ward" not in page


def test_sending_on_in_order_says_where_the_patient_goes(
    rao_client, dr_rao, in_consultation, lab, pharmacy
):
    response = complete(
        rao_client,
        in_consultation,
        stop_1=department(lab),
        note_1="  Fasting   sugar ",
        stop_2="review",
        stop_3=department(pharmacy),
    )
    assert response.redirect_chain == [("/doctor/", 302)]
    assert "ORTH-001 completed; sent to Laboratory, then back to you, then Pharmacy." in page_text(
        response
    )
    assert stops_of(in_consultation) == [
        ("ORTH", None, "done", "first", ""),
        ("LAB", None, "current", "sent", "Fasting sugar"),
        ("ORTH", "Dr. Rao", "planned", "review", ""),
        ("PHAR", None, "planned", "sent", ""),
    ]
    assert Token.objects.get(department=lab).display_number == "LAB-001"
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.SENT_ON)
    assert event.actor == dr_rao.user


def test_a_referral_to_a_named_doctor(rao_client, in_consultation, dr_shah):
    response = complete(
        rao_client, in_consultation, stop_1=f"doctor-{dr_shah.pk}", note_1="Chest pain on exertion"
    )
    assert "ORTH-001 completed; sent to Dr. Shah (Cardiology)." in page_text(response)
    referred = Token.objects.get(department=dr_shah.department)
    assert referred.assigned_doctor == dr_shah
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.REFERRED).count() == 1


def test_complete_without_send_on_closes_the_visit(rao_client, in_consultation):
    response = complete(rao_client, in_consultation, stop_1="", note_1="")
    assert "ORTH-001 completed." in page_text(response)
    assert Visit.objects.get().status == Visit.Status.CLOSED


BAD_INPUT = [
    ({"stop_1": "department-999999"}, "Stop 1: choose a destination from the list."),
    ({"stop_1": "doctor-999999"}, "Stop 1: choose a destination from the list."),
    ({"stop_2": "nonsense"}, "Stop 2: choose a destination from the list."),
    ({"stop_1": "department-\x00"}, "choose a destination from the list"),
    # A repeated field: the last value counts.
    ({"stop_1": ["review", "department-999999"]}, "Stop 1: choose a destination from the list."),
    ({"note_1": "Fasting"}, "Stop 1 has a note but no destination."),
    ({"stop_1": "review", "note_1": "x" * 201}, "Stop 1: The note for the next stop is too long"),
    ({"stop_1": "review", "note_1": "bad\x07bell"}, "cannot be printed"),
    ({"stop_1": "review", "note_1": "nul\x00"}, "Null characters are not allowed."),
]


@pytest.mark.parametrize("data, message", BAD_INPUT)
def test_bad_send_on_input_is_a_message_and_changes_nothing(
    rao_client, in_consultation, lab, data, message
):
    data = {"stop_1": "", **data}
    response = complete(rao_client, in_consultation, **data)
    assert response.status_code == 200
    page = page_text(response)
    assert "Nothing was changed." in page and message in page
    assert Token.objects.get(pk=in_consultation.pk).status == Token.Status.IN_CONSULTATION
    assert Token.objects.count() == 1
    assert VisitStop.objects.count() == 1


def test_an_inactive_department_or_a_doctor_who_left_is_refused(
    rao_client, in_consultation, lab, card, dr_shah
):
    lab_key, shah_key = department(lab), f"doctor-{dr_shah.pk}"
    lab.is_active = False
    lab.save()
    dr_shah.on_duty = False
    dr_shah.save()
    for key in [lab_key, shah_key]:
        page = page_text(complete(rao_client, in_consultation, stop_1=key))
        assert "Stop 1: choose a destination from the list." in page
    assert Token.objects.get(pk=in_consultation.pk).status == Token.Status.IN_CONSULTATION


def test_a_department_closed_today_is_the_services_message(rao_client, in_consultation, lab):
    lab.open_weekdays = 0b1111111 & ~(1 << WEDNESDAY.weekday())
    lab.save()
    page = page_text(complete(rao_client, in_consultation, stop_1=department(lab)))
    assert "Laboratory is closed today." in page
    assert Token.objects.get(pk=in_consultation.pk).status == Token.Status.IN_CONSULTATION


def test_a_double_submitted_complete_and_send_on_creates_one_next_token(
    rao_client, in_consultation, lab
):
    first = complete(rao_client, in_consultation, stop_1=department(lab))
    assert "sent to Laboratory" in page_text(first)
    second = complete(rao_client, in_consultation, stop_1=department(lab))
    assert "start the consultation before completing it" in page_text(second)
    assert Token.objects.filter(department=lab).count() == 1
    assert VisitStop.objects.filter(department=lab).count() == 1


def test_the_doctor_sees_the_reason_the_source_and_a_review_mark(
    client, orth, dr_rao, lab, lab_counter, lab_tech
):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    services.call_next(dr_rao, now=NOW)
    services.start_consultation(dr_rao, token, now=NOW)
    services.complete_token(
        dr_rao, token, now=NOW, send_on=[NextStop(lab), NextStop(orth, doctor=dr_rao, note="X-ray")]
    )
    lab_token = Token.objects.get(department=lab)
    services.call_next(lab_counter, actor=lab_tech.user, now=NOW)
    services.start_consultation(lab_counter, lab_token, actor=lab_tech.user, now=NOW)
    services.complete_token(lab_counter, lab_token, actor=lab_tech.user, now=NOW)

    client.force_login(dr_rao.user)
    page = page_text(client.get(reverse("doctor_terminal")))
    assert "Review" in page  # the waiting list marks the patient back for review
    response = client.post(reverse("doctor_call_next"), follow=True)
    page = page_text(response)
    assert "Called ORTH-002 — Asha Rao." in page
    assert "Walk-in" not in page and "Kiosk" in page
    assert "Note from the previous stop" in page and "X-ray" in page
    stops = page[page.index("Today's visit") :]
    assert stops.index("ORTH-001") < stops.index("LAB-001") < stops.index("ORTH-002")


def test_the_doctor_sees_the_reason_typed_at_booking(client, orth, dr_rao):
    appointment = book_and_check_in(orth, dr_rao, reason="Knee pain for two weeks")
    client.force_login(dr_rao.user)
    page = page_text(client.post(reverse("doctor_call_next"), follow=True))
    assert appointment.token.patient_name in page
    assert "Reason for the visit" in page and "Knee pain for two weeks" in page
    assert "Booked appointment" in page


def test_another_doctor_cannot_send_my_patient_on(client, dr_iyer, in_consultation, lab):
    client.force_login(dr_iyer.user)
    page = page_text(complete(client, in_consultation, stop_1=department(lab)))
    assert "ORTH-001 was called by another doctor." in page
    assert not Token.objects.filter(department=lab).exists()


def test_a_doctor_of_another_department_is_not_offered_back_for_review_of_mine(
    client, card, in_consultation
):
    cardiologist = make_doctor("mehta", "Dr. Mehta", card, "14")
    client.force_login(cardiologist.user)
    page = page_text(complete(client, in_consultation, stop_1="review"))
    assert "ORTH-001 is not in your department's queue." in page
    assert Token.objects.count() == 1


def book_and_check_in(orth, dr_rao, *, reason):
    """A booked patient checked in for 09:00: their token names the appointment."""
    patient = Patient.objects.create(name="Kiran Das", mobile="+919800000001")
    appointment = Appointment.objects.create(
        patient=patient, doctor=dr_rao, date=WEDNESDAY, start=datetime.time(9),
        end=datetime.time(9, 15), reason=reason, status=Appointment.Status.CHECKED_IN,
        created_at=at(WEDNESDAY, 7),
    )  # fmt: skip
    services.issue_token(
        orth, "Kiran Das", now=at(WEDNESDAY, 8, 50), assigned_doctor=dr_rao,
        appointment=appointment, source=Visit.Source.BOOKED,
    )  # fmt: skip
    return appointment
