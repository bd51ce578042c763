"""Visits through the API: read the stops in order (never the staff's notes), and send the
patient on to next stops through queues.visits.send_on; refusals are 409 in the queue's
words, bad input a 400, and neither writes anything."""

import datetime

import pytest
from django.urls import reverse

from api.models import Scope
from hospital.models import ALL_WEEKDAYS, Department
from queues import services, visits
from queues.models import Token, TokenEvent, Visit, VisitStop
from tests.conftest import WEDNESDAY, at, race

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def desk_app(api, make_key):
    """The hospital system's client: a key that reads visits and sends patients on."""
    key, raw = make_key(Scope.READ, Scope.VISITS)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api.key = key
    return api


def seen_by(doctor, token, send_on=None):
    """The doctor calls, sees and completes the patient (sending them on, perhaps)."""
    services.call_next(doctor, now=NOW)
    services.start_consultation(doctor, token, now=NOW)
    services.complete_token(doctor, token, now=NOW, send_on=send_on)


def send_on_url(visit: Visit) -> str:
    return reverse("api-visit-send-on", args=[visit.public_id])


def written() -> tuple:
    return (
        Token.objects.count(),
        TokenEvent.objects.count(),
        list(VisitStop.objects.values_list("visit", "position", "status", "department")),
        list(Visit.objects.values_list("status", flat=True)),
    )


def test_a_visit_lists_its_stops_in_order_without_staff_notes(reader, orth, dr_rao, lab):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    seen_by(dr_rao, token, [visits.NextStop(lab, note="Fasting sample, see file")])
    response = reader.get(reverse("api-visit", args=[token.visit.public_id]))
    assert response.status_code == 200
    body = response.json()
    assert body["patient_name"] == "A. R." and body["status"] == "open"
    stops = body["stops"]
    assert [(s["position"], s["kind"], s["status"], s["department"]) for s in stops] == [
        (1, "first", "done", "orth"),
        (2, "sent", "current", "lab"),
    ]
    assert stops[0]["token"]["number"] == "ORTH-001" and stops[0]["token"]["status"] == (
        "completed"
    )
    assert stops[1]["token"]["number"] == "LAB-001"
    assert "Fasting" not in response.content.decode() and "note" not in stops[1]
    assert body["page"] == f"http://testserver/visits/{token.visit.public_id}/"


def test_a_waiting_patient_is_sent_on_after_the_stop_they_are_at(desk_app, orth, lab, pharmacy):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    response = desk_app.post(
        send_on_url(token.visit),
        {"stops": [{"department": "lab", "note": "CBC"}, {"department": "phar"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    stops = response.json()["stops"]
    assert [(s["department"], s["kind"], s["status"]) for s in stops] == [
        ("orth", "first", "current"),
        ("lab", "sent", "planned"),
        ("phar", "sent", "planned"),
    ]
    # Still waiting at orthopaedics: the next stops open when that one is done.
    assert Token.objects.count() == 1 and stops[1]["token"] is None
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.SENT_ON)
    assert event.actor == desk_app.key.user and event.token == token
    assert event.note == "To Laboratory, then Pharmacy"
    assert VisitStop.objects.get(position=2).note == "CBC"


def test_new_stops_go_before_stops_planned_earlier(desk_app, orth, lab, pharmacy):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    desk_app.post(send_on_url(token.visit), {"stops": [{"department": "phar"}]}, format="json")
    response = desk_app.post(
        send_on_url(token.visit), {"stops": [{"department": "lab"}]}, format="json"
    )
    assert [s["department"] for s in response.json()["stops"]] == ["orth", "lab", "phar"]


def test_a_finished_visit_is_opened_again_with_the_next_stops_token(
    desk_app, orth, dr_rao, lab, lab_counter
):
    token = services.issue_token(orth, "Asha Rao", mobile="9812345678", now=NOW)
    seen_by(dr_rao, token)
    assert Visit.objects.get().status == Visit.Status.CLOSED
    response = desk_app.post(
        send_on_url(token.visit), {"stops": [{"department": "lab"}]}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "open" and body["closed_at"] is None
    lab_stop = body["stops"][1]
    assert (lab_stop["status"], lab_stop["token"]["number"]) == ("current", "LAB-001")
    new = Token.objects.get(department=lab)
    assert new.status == Token.Status.WAITING and new.mobile == "+919812345678"
    assert new.visit_id == token.visit_id


def test_a_named_doctor_for_a_clinical_stop_is_a_referral(desk_app, orth, dr_rao, card, dr_shah):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    seen_by(dr_rao, token)
    response = desk_app.post(
        send_on_url(token.visit),
        {"stops": [{"department": "card", "doctor": dr_shah.pk}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    stop = response.json()["stops"][1]
    assert (stop["kind"], stop["doctor"], stop["department"]) == ("referral", "Dr. Shah", "card")
    assert Token.objects.get(department=card).assigned_doctor == dr_shah
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.REFERRED).count() == 1


def test_a_doctor_of_another_department_is_refused_in_the_queues_words(
    desk_app, orth, dr_rao, card
):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    before = written()
    response = desk_app.post(
        send_on_url(token.visit),
        {"stops": [{"department": "card", "doctor": dr_rao.pk}]},
        format="json",
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "Dr. Rao does not work in Cardiology."
    assert written() == before


def test_a_department_closed_today_is_refused(desk_app, orth):
    not_wednesday = ALL_WEEKDAYS & ~(1 << WEDNESDAY.weekday())
    Department.objects.create(
        name="X-ray", code="XRAY", kind=Department.Kind.SERVICE, open_weekdays=not_wednesday
    )
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    before = written()
    response = desk_app.post(
        send_on_url(token.visit), {"stops": [{"department": "xray"}]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "X-ray is closed today."
    assert written() == before


def test_only_todays_visits_are_sent_on(desk_app, orth, lab):
    tomorrow = WEDNESDAY + datetime.timedelta(days=1)
    token = services.issue_token(orth, "Asha Rao", service_date=tomorrow, now=NOW)
    before = written()
    response = desk_app.post(
        send_on_url(token.visit), {"stops": [{"department": "lab"}]}, format="json"
    )
    assert response.status_code == 409
    assert "only today's visits can be sent on" in response.json()["detail"]
    assert written() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"stops": []}, "stops"),
        ({}, "stops"),
        ({"stops": [{"department": "lab"}] * 6}, "stops"),
        ({"stops": {"department": "lab"}}, "stops"),
        ({"stops": "lab"}, "stops"),
        ({"stops": ["lab"]}, "stops"),
        ({"stops": [None]}, "stops"),
        ({"stops": [{"department": "nope"}]}, "stops"),
        ({"stops": [{"department": 7}]}, "stops"),
        ({"stops": [{"department": "l\x00ab"}]}, "stops"),
        ({"stops": [{"department": "x" * 100_000}]}, "stops"),
        ({"stops": [{"department": "lab", "note": "x" * 201}]}, "stops"),
        ({"stops": [{"department": "lab", "note": "bad\x07bell"}]}, "stops"),
        ({"stops": [{"department": "lab", "note": ["x"]}]}, "stops"),
        ({"stops": [{"department": "lab", "doctor": 1}]}, "stops"),  # a service stop
        ({"stops": [{"department": "orth", "doctor": 999999}]}, "stops"),
        ({"stops": [{"department": "orth", "doctor": "Dr. Rao"}]}, "stops"),
        ({"stops": [{"department": "orth", "doctor": 10**30}]}, "stops"),
        ({"stops": [{"department": "orth", "doctor": -1}]}, "stops"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(desk_app, orth, dr_rao, lab, body, field):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    before = written()
    response = desk_app.post(send_on_url(token.visit), body, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    # Flat, as every problem's `errors` is documented: a list of messages per field.
    assert errors[field] and all(isinstance(message, str) for message in errors[field])
    assert written() == before


def test_a_stops_errors_say_which_stop(desk_app, orth, lab):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    response = desk_app.post(
        send_on_url(token.visit),
        {"stops": [{"department": "lab"}, {"department": "nope"}, {}]},
        format="json",
    )
    assert response.json()["errors"]["stops"] == [
        "Stop 2: department: Choose a department from the list.",
        "Stop 3: department: This field is required.",
    ]


@pytest.mark.parametrize("content", ["[]", '[{"department": "lab"}]', '"lab"', "{nope", "null"])
def test_a_body_that_is_not_an_object_is_a_400(desk_app, orth, lab, content):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    before = written()
    response = desk_app.generic("POST", send_on_url(token.visit), content, "application/json")
    assert response.status_code == 400
    assert written() == before


@pytest.mark.parametrize("public_id", ["nope", "0" * 36, "12345678-1234-1234-1234-1234567890ab"])
def test_an_unknown_or_malformed_visit_is_a_404_problem(desk_app, db, public_id):
    for response in (
        desk_app.get(f"/api/v1/visits/{public_id}/"),
        desk_app.post(
            f"/api/v1/visits/{public_id}/send-on/", {"stops": [{"department": "x"}]}, format="json"
        ),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_the_reception_desk_sends_on_from_the_browser(api, receptionist, orth, dr_rao, lab):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    seen_by(dr_rao, token)
    api.force_login(receptionist)
    response = api.post(send_on_url(token.visit), {"stops": [{"department": "lab"}]}, format="json")
    assert response.status_code == 200
    assert response.json()["patient_name"] == "Asha Rao"  # staff see the name
    assert TokenEvent.objects.get(kind=TokenEvent.Kind.SENT_ON).actor == receptionist


@pytest.mark.django_db(transaction=True)
def test_two_send_ons_at_once_leave_one_consistent_visit(make_key, orth, dr_rao, lab, pharmacy):
    from rest_framework.test import APIClient

    token = services.issue_token(orth, "Asha Rao", now=NOW)
    seen_by(dr_rao, token)  # the visit is finished: each request would open a stop
    _, raw = make_key(Scope.VISITS)
    url = send_on_url(token.visit)

    def send(slug):
        def job():
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            return client.post(url, {"stops": [{"department": slug}]}, format="json").status_code

        return job

    results, errors = race([send("lab"), send("phar")])
    assert not errors and results == [200, 200]
    stops = list(VisitStop.objects.filter(visit=token.visit_id).order_by("position"))
    assert [s.position for s in stops] == [1, 2, 3]
    assert [s.status for s in stops] == ["done", "current", "planned"]
    # Exactly one new token: the stop that opened first; the other waits its turn.
    assert Token.objects.filter(department__in=[lab, pharmacy]).count() == 1
    assert stops[1].token is not None and stops[2].token is None
    assert Visit.objects.get().status == Visit.Status.OPEN
