"""The kiosk's "take a token" form at /."""

import datetime

import pytest
from django.urls import reverse

from hospital.models import MON_TO_SAT, Department
from queues.models import PriorityCategory, Token, TokenEvent
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


def form_data(**overrides):
    data = {
        "department": "orth",
        "patient_name": "Asha Rao",
        "mobile": "98123 45678",
        "service_date": WEDNESDAY.isoformat(),
    }
    data.update(overrides)
    return data


def test_it_offers_active_departments_by_slug_and_only_open_days(client, orth, card):
    Department.objects.update(open_weekdays=MON_TO_SAT)
    Department.objects.create(name="Dermatology", code="DERM", is_active=False)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    page = page_text(response)
    assert 'value="orth"' in page and 'value="card"' in page
    assert "Dermatology" not in page
    assert 'name="patient_name"' in page and 'name="mobile"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    offered = [
        WEDNESDAY + datetime.timedelta(days=i)
        for i in range(10)
        if f'value="{(WEDNESDAY + datetime.timedelta(days=i)).isoformat()}"' in page
    ]
    sunday = datetime.date(2026, 11, 22)
    assert offered[0] == WEDNESDAY
    assert sunday not in offered
    assert offered[-1] == WEDNESDAY + datetime.timedelta(days=7)


def test_it_issues_a_token_and_redirects_to_its_page(client, orth):
    response = client.post(reverse("home"), form_data())
    token = Token.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tokens/{token.public_id}/"
    assert token.display_number == "ORTH-001"
    assert token.patient_name == "Asha Rao"
    assert token.mobile == "+919812345678"
    assert token.service_date == WEDNESDAY


def test_it_issues_for_a_later_open_day(client, orth):
    thursday = WEDNESDAY + datetime.timedelta(days=1)
    client.post(reverse("home"), form_data(service_date=thursday.isoformat(), mobile=""))
    token = Token.objects.get()
    assert token.service_date == thursday
    assert token.mobile == ""


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"department": "nope"}, "Choose a department from the list"),
        ({"department": "derm"}, "Choose a department from the list"),
        ({"department": ""}, "Choose a department."),
        ({"patient_name": ""}, "Enter the patient's name."),
        ({"patient_name": "   "}, "Enter the patient's name."),
        ({"patient_name": "x" * 101}, "The patient's name is too long"),
        ({"mobile": "12345"}, "Enter a valid mobile number"),
        ({"service_date": "2026-11-17"}, "That date has passed"),
        ({"service_date": "2026-11-26"}, "at most 7 day(s) ahead"),
        ({"service_date": "2026-11-22"}, "closed on Sundays"),
        ({"service_date": "2026-02-30"}, "Choose a date from the list"),
        ({"service_date": "abc"}, "Choose a date from the list"),
        ({"service_date": "99999-01-01"}, "Choose a date from the list"),
    ],
)
def test_it_refuses_bad_input_shows_why_and_writes_nothing(client, orth, overrides, message):
    orth.open_weekdays = MON_TO_SAT
    orth.save()
    Department.objects.create(name="Dermatology", code="DERM", is_active=False)
    response = client.post(reverse("home"), form_data(**overrides))
    assert response.status_code == 200
    assert message in page_text(response)
    assert Token.objects.count() == 0
    assert TokenEvent.objects.count() == 0


def test_it_refuses_past_the_daily_limit(client, orth):
    orth.daily_token_limit = 1
    orth.save()
    client.post(reverse("home"), form_data())
    response = client.post(reverse("home"), form_data(patient_name="Bala"))
    assert response.status_code == 200
    assert "All 1 tokens for Orthopedic Surgery" in page_text(response)
    assert Token.objects.count() == 1


def test_it_keeps_what_was_typed_after_an_error(client, orth):
    response = client.post(reverse("home"), form_data(mobile="12345", patient_name="Asha R"))
    page = page_text(response)
    assert 'value="Asha R"' in page
    assert 'value="12345"' in page
    assert '<option value="orth" selected>' in page


def test_it_says_so_when_no_department_takes_tokens(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "No department is taking tokens" in page_text(response)


def test_the_patient_chooses_a_category_at_the_kiosk(client, orth):
    senior = PriorityCategory.objects.get(name="Senior citizen (60+)")
    page = page_text(client.get(reverse("home")))
    assert "★ Senior citizen (60+)" in page and "♿ Person with disability" in page
    assert "Emergency" not in page  # staff mark emergencies
    assert "Staff may ask for proof" in page
    client.post(reverse("home"), form_data(category=str(senior.pk)))
    token = Token.objects.get()
    assert token.category == senior and token.priority == Token.Priority.NORMAL
    slip = page_text(client.get(reverse("token_detail", args=[token.public_id])))
    assert "★ Senior citizen (60+)" in slip


@pytest.mark.parametrize("chosen", ["emergency", "999999", "x" * 500, "\x00"])
def test_a_category_not_offered_is_refused_and_no_token_is_issued(client, orth, chosen):
    if chosen == "emergency":
        chosen = str(PriorityCategory.objects.get(name="Emergency").pk)
    response = client.post(reverse("home"), form_data(category=chosen))
    assert response.status_code == 200
    assert "Choose a category from the list." in page_text(response)
    assert not Token.objects.exists()
