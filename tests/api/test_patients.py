"""Registering and finding patients through the API, as the desk does on its pages: a
hospital number for each, the mobile optional and never someone else's, each patient's
recent visits; bad input is a 400 naming the field, with nothing written."""

import logging

import pytest
from django.urls import reverse

from api.models import Scope
from appointments import patients
from appointments.models import Patient, PatientEvent
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.usefixtures("clock")

NOW = at(WEDNESDAY, 8)
PATIENTS = reverse("api-patients")
MOBILE = "+919812345678"


@pytest.fixture
def desk(api, make_key):
    """An API client holding the front-desk system's key."""
    key, raw = make_key(Scope.PATIENTS, name="Front desk system")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api.key = key
    return api


def register(client, **details):
    body = {"name": "Asha Rao", "age": 40, "sex": "F", "mobile": "98123 45678"}
    body.update(details)
    return client.post(PATIENTS, body, format="json")


def nothing_written():
    return Patient.objects.count() == 0 and PatientEvent.objects.count() == 0


def test_a_registered_patient_gets_a_hospital_number_and_the_key_is_named(desk):
    response = register(desk, email="asha@example.org", language="hi", age_is_estimate=True)
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get()
    assert body["hospital_number"] == patient.hospital_number == f"UH{patient.pk:07d}"
    assert (body["name"], body["mobile"], body["email"]) == ("Asha Rao", MOBILE, "asha@example.org")
    assert (body["year_of_birth"], body["age_is_estimate"], body["language"]) == (1986, True, "hi")
    event = PatientEvent.objects.get()
    assert (event.kind, event.actor) == (PatientEvent.Kind.REGISTERED, desk.key.user)


def test_a_patient_without_a_phone_is_registered_too(desk):
    assert register(desk, mobile="", name="Ravi", age=None, year_of_birth=1950).status_code == 201
    assert register(desk, mobile="", name="Meena", age=3).status_code == 201
    assert list(Patient.objects.values_list("mobile", flat=True)) == [None, None]


def test_a_mobile_already_registered_is_refused_naming_who_has_it(desk):
    first = register(desk).json()
    response = register(desk, name="Someone Else")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "Asha Rao" in detail and first["hospital_number"] in detail
    assert MOBILE not in detail  # masked: ••••••5678
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    "details, field",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "A" * 10_000}, "name"),
        ({"name": "Asha\x00Rao"}, "name"),
        ({"name": "Asha\x07Rao"}, "name"),
        ({"name": ["Asha"]}, "name"),
        ({"age": -1}, "age"),
        ({"age": 1000}, "age"),
        ({"age": "forty"}, "age"),
        ({"age": 10**30}, "age"),
        ({"age": None}, "age"),  # neither an age nor a year of birth
        ({"age": None, "year_of_birth": 3000}, "year_of_birth"),
        ({"age": None, "year_of_birth": 1800}, "year_of_birth"),
        ({"age": None, "year_of_birth": 0}, "year_of_birth"),
        ({"age": 40, "year_of_birth": 1950}, "year_of_birth"),  # both, and they disagree
        ({"sex": "X"}, "sex"),
        ({"sex": 1}, "sex"),
        ({"language": "fr"}, "language"),
        ({"mobile": "12"}, "mobile"),
        ({"mobile": "9" * 5000}, "mobile"),
        ({"mobile": "98123\x0045678"}, "mobile"),
        ({"mobile": "080 2222 0000"}, "mobile"),  # a landline cannot get an SMS
        ({"email": "not an email"}, "email"),
        ({"email": "a" * 300 + "@example.org"}, "email"),
        ({"age_is_estimate": "perhaps"}, "age_is_estimate"),
    ],
)
def test_bad_details_are_a_400_naming_the_field_and_nothing_is_written(desk, details, field):
    response = register(desk, **details)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert nothing_written()


@pytest.mark.parametrize("body", ["[]", '"Asha"', "{", "null", "\x00"])
def test_a_body_that_is_no_object_is_a_400(desk, body):
    response = desk.post(PATIENTS, body, content_type="application/json")
    assert response.status_code == 400
    assert nothing_written()


def test_patients_are_found_by_hospital_number_mobile_or_name(desk, receptionist):
    asha = patients.register_patient("Asha Rao", age=40, mobile=MOBILE, actor=receptionist)
    patients.register_patient("Ravi Kumar", age=60, actor=receptionist)
    number = int(asha.hospital_number[2:])
    for q in (asha.hospital_number, f"uh{number}", "98123 45678", "+91 98123-45678", "asha"):
        response = desk.get(PATIENTS, {"q": q})
        assert response.status_code == 200, q
        assert [p["hospital_number"] for p in response.json()] == [asha.hospital_number], q
    # The desk sees the whole mobile (the patients scope).
    assert response.json()[0]["mobile"] == MOBILE
    assert desk.get(PATIENTS, {"q": "nobody"}).json() == []


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 101}, {"q": "asha\x00"}])
def test_a_search_needs_a_short_query(desk, params):
    response = desk.get(PATIENTS, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["q"]


def test_a_patient_is_read_by_hospital_number_with_their_visits(desk, receptionist, orth, lab):
    asha = patients.register_patient("Asha Rao", age=40, mobile=MOBILE, actor=receptionist)
    token = patients.give_token(asha, orth, actor=receptionist, now=NOW)
    response = desk.get(reverse("api-patient", args=[asha.hospital_number]))
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["mobile"]) == ("Asha Rao", MOBILE)
    (visit,) = body["visits"]
    assert (visit["public_id"], visit["service_date"]) == (str(token.visit.public_id), "2026-11-18")
    assert visit["source"] == "walk_in"
    (stop,) = visit["stops"]
    assert (stop["department"], stop["status"], stop["token"]) == ("orth", "current", "ORTH-001")
    # Written any way the slip can be read.
    lower = desk.get(reverse("api-patient", args=[asha.hospital_number.lower()]))
    assert lower.json()["hospital_number"] == asha.hospital_number


@pytest.mark.parametrize("number", ["UH9999999", "nobody", "UH" + "9" * 40, "%00", "UH-1"])
def test_an_unknown_hospital_number_is_a_404_problem(desk, receptionist, number):
    patients.register_patient("Asha Rao", age=40, actor=receptionist)
    response = desk.get(f"/api/v1/patients/{number}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_no_mobile_reaches_the_log(desk, receptionist, caplog):
    with caplog.at_level(logging.DEBUG):
        register(desk)
        register(desk, name="Someone Else")  # refused: the mobile is Asha's
        desk.get(PATIENTS, {"q": "98123 45678"})
        register(desk, mobile="98123 4567x")
    assert "45678" not in caplog.text


def test_a_receptionist_registers_from_the_browser_with_the_csrf_token(receptionist):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(receptionist)
    refused = register(browser)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert nothing_written()
    page = browser.get("/reception/patients/new/")
    token = page.cookies["csrftoken"].value
    body = {"name": "Asha Rao", "age": 40}
    response = browser.post(PATIENTS, body, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    assert PatientEvent.objects.get().actor == receptionist
