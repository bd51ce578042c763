"""Tokens through the API: issued with exactly the kiosk's rules (TokenForm, issue_token,
the per-mobile limit), read by public id; bad input is a 400 that writes nothing."""

import datetime
import uuid

import pytest
from django.urls import reverse

from api.models import Scope
from hospital.models import ALL_WEEKDAYS, Department
from queues import services
from queues.models import PriorityCategory, Token, TokenEvent, Visit
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")

URL = "/api/v1/tokens/"


@pytest.fixture
def issuer(api, make_key):
    """A kiosk app's client: a key that issues tokens (and only that)."""
    key, raw = make_key(Scope.TOKENS)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api.key = key
    return api


def written() -> tuple[int, int, int]:
    return Token.objects.count(), Visit.objects.count(), TokenEvent.objects.count()


def test_a_token_is_issued_as_the_kiosk_issues_it(issuer, orth, dr_rao):
    services.issue_token(orth, "Earlier Patient", now=NOW)
    response = issuer.post(
        URL,
        {"department": "orth", "patient_name": "  Asha   Rao ", "mobile": "98123 45678"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    token = Token.objects.get(public_id=body["public_id"])
    assert body["number"] == "ORTH-002" == token.display_number
    assert (body["department"], body["service_date"], body["status"]) == (
        "orth",
        "2026-11-18",
        "waiting",
    )
    assert body["patient_name"] == "Asha Rao"  # cleaned as the kiosk cleans it
    assert body["ahead"] == 1 and body["estimated_wait_minutes"] is not None
    assert body["category"] is None and body["language"] == "en" and body["place"] is None
    assert body["visit"] == str(token.visit.public_id)
    pages = body["pages"]
    assert pages["visit"] == f"http://testserver/visits/{token.visit.public_id}/"
    assert pages["slip"] == f"http://testserver/tokens/{token.public_id}/slip/"
    assert response["Location"] == f"/api/v1/tokens/{token.public_id}/"
    # The mobile is kept for the patient's SMS, and never sent back.
    assert token.mobile == "+919812345678"
    assert "98123" not in response.content.decode() and "mobile" not in body


def test_the_token_is_logged_with_the_keys_own_account(issuer, orth):
    response = issuer.post(URL, {"department": "orth", "patient_name": "Asha"}, format="json")
    assert response.status_code == 201
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.ISSUED)
    assert event.actor == issuer.key.user
    assert event.token.visit.source == Visit.Source.KIOSK


def test_language_and_category_by_name_or_id(issuer, orth):
    senior = PriorityCategory.objects.get(name__istartswith="Senior")
    by_name = issuer.post(
        URL,
        {"department": "orth", "patient_name": "A B", "category": senior.name.upper(),
         "language": "ta"},
        format="json",
    )  # fmt: skip
    by_id = issuer.post(
        URL, {"department": "orth", "patient_name": "C D", "category": senior.pk}, format="json"
    )
    general = issuer.post(
        URL, {"department": "orth", "patient_name": "E F", "category": "General"}, format="json"
    )
    assert [r.status_code for r in (by_name, by_id, general)] == [201, 201, 201]
    assert by_name.json()["category"]["id"] == by_id.json()["category"]["id"] == senior.pk
    assert by_name.json()["language"] == "ta"
    assert general.json()["category"] is None


def test_a_department_closed_today_gives_tokens_for_its_next_open_day(issuer, db):
    not_wednesday = ALL_WEEKDAYS & ~(1 << WEDNESDAY.weekday())
    derm = Department.objects.create(name="Dermatology", code="DERM", open_weekdays=not_wednesday)
    response = issuer.post(URL, {"department": derm.slug, "patient_name": "A"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["service_date"] == "2026-11-19"


def test_a_closed_day_is_refused_in_the_queues_own_words(issuer, db):
    not_wednesday = ALL_WEEKDAYS & ~(1 << WEDNESDAY.weekday())
    derm = Department.objects.create(name="Dermatology", code="DERM", open_weekdays=not_wednesday)
    before = written()
    response = issuer.post(
        URL,
        {"department": derm.slug, "patient_name": "A", "service_date": "2026-11-25"},
        format="json",
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith("Dermatology OPD is closed on Wednesdays")
    assert written() == before


def test_all_tokens_given_out_is_refused(issuer, orth):
    orth.daily_token_limit = 1
    orth.save()
    services.issue_token(orth, "First", now=NOW)
    response = issuer.post(URL, {"department": "orth", "patient_name": "B"}, format="json")
    assert response.status_code == 409
    assert "have been given out" in response.json()["detail"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"department": "nope"}, "department"),
        ({"department": "ORTH"}, "department"),
        ({"language": "fr"}, "language"),
        ({"language": 5}, "language"),
        ({"category": "Emergency"}, "category"),  # staff only, as at the kiosk
        ({"category": "Unheard of"}, "category"),
        ({"category": 999999}, "category"),
        ({"category": True}, "category"),
        ({"category": [1]}, "category"),
        ({"category": {"id": 1}}, "category"),
        ({"category": 1.5}, "category"),
        ({"category": "x" * 5000}, "category"),
        ({"service_date": "2026-13-45"}, "service_date"),
        ({"service_date": 20261118}, "service_date"),
        ({"service_date": "18/11/2026"}, "service_date"),
        ({"patient_name": ""}, "patient_name"),
        ({"patient_name": "   "}, "patient_name"),
        ({"patient_name": "A" * 101}, "patient_name"),
        ({"patient_name": "A" * 1_000_000}, "patient_name"),
        ({"patient_name": "Asha\x00Rao"}, "patient_name"),
        ({"patient_name": "Asha\x1bRao"}, "patient_name"),
        ({"patient_name": 12345}, "patient_name"),
        ({"patient_name": None}, "patient_name"),
        ({"patient_name": ["Asha"]}, "patient_name"),
        ({"patient_name": {"first": "Asha"}}, "patient_name"),
        ({"mobile": "12"}, "mobile"),
        ({"mobile": "9" * 5000}, "mobile"),
        ({"mobile": 9812345678}, "mobile"),
        ({"department": ["orth"]}, "department"),
        ({"department": "o\x00rth"}, "department"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(issuer, orth, changes, field):
    before = written()
    body = {"department": "orth", "patient_name": "Asha Rao", **changes}
    response = issuer.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert written() == before


@pytest.mark.parametrize(
    "content, content_type",
    [
        ("[]", "application/json"),
        ('["orth", "Asha"]', "application/json"),
        ('"orth"', "application/json"),
        ("null", "application/json"),
        ("{not json", "application/json"),
        ("", "application/json"),
        ("\x00\x01", "application/json"),
    ],
)
def test_a_body_that_is_not_an_object_is_a_400(issuer, orth, content, content_type):
    before = written()
    response = issuer.generic("POST", URL, content, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert written() == before


def test_a_form_post_is_refused_as_an_unsupported_media_type(issuer, orth):
    response = issuer.post(URL, {"department": "orth", "patient_name": "A"})  # multipart
    assert response.status_code == 415
    assert not Token.objects.exists()


def test_one_mobile_number_gets_only_so_many_tokens(issuer, orth, settings):
    settings.TOKEN_LIMIT_PER_MOBILE = "2/d"
    body = {"department": "orth", "patient_name": "Asha", "mobile": "9812345678"}
    assert [issuer.post(URL, body, format="json").status_code for _ in range(2)] == [201, 201]
    before = written()
    response = issuer.post(URL, {**body, "mobile": "+91 98123 45678"}, format="json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert "This mobile number has been given as many tokens" in response.json()["detail"]
    assert written() == before
    # Another number, or none, is not held up: a key counts like a registered kiosk.
    other = issuer.post(URL, {**body, "mobile": "9876543210"}, format="json")
    assert other.status_code == 201
    assert issuer.post(URL, {**body, "mobile": ""}, format="json").status_code == 201


def test_a_key_is_not_held_to_the_per_device_limit(issuer, orth, settings):
    settings.TOKEN_LIMIT = "2/h"
    codes = [
        issuer.post(
            URL, {"department": "orth", "patient_name": f"P {i}"}, format="json"
        ).status_code
        for i in range(4)
    ]
    assert codes == [201] * 4


def test_staff_issue_from_the_browser_counted_as_the_page_counts_them(
    api, orth, receptionist, settings
):
    settings.TOKEN_LIMIT = "2/h"
    api.force_login(receptionist)
    codes = [
        api.post(URL, {"department": "orth", "patient_name": f"P {i}"}, format="json").status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    assert set(TokenEvent.objects.values_list("actor", flat=True)) == {receptionist.pk}


# --- Reading ------------------------------------------------------------------------------


def test_a_reader_sees_where_the_token_stands_with_initials_only(reader, orth, dr_rao):
    token = services.issue_token(orth, "Asha Rao", mobile="9812345678", now=NOW)
    second = services.issue_token(orth, "Ravi Kumar", now=NOW)
    response = reader.get(reverse("api-token", args=[second.public_id]))
    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["status"], body["ahead"]) == ("ORTH-002", "waiting", 1)
    assert body["patient_name"] == "R. K."
    services.call_next(dr_rao, now=NOW)
    called = reader.get(reverse("api-token", args=[token.public_id])).json()
    assert called["status"] == "called" and called["ahead"] == 0
    assert called["estimated_wait_minutes"] is None
    place = called["place"]
    assert (place["kind"], place["name"], place["names"]["en"]) == ("room", "Room 4", "Room 4")
    assert set(place["names"]) == {"en", "hi", "ta"}
    assert datetime.datetime.fromisoformat(called["called_at"]) == NOW
    assert "+919812345678" not in str(called) and "9812345678" not in str(called)


def test_the_issuer_and_staff_see_the_full_name(api, make_key, orth, dr_rao):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    _, raw = make_key(Scope.READ, Scope.TOKENS)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(reverse("api-token", args=[token.public_id])).json()["patient_name"] == (
        "Asha Rao"
    )
    api.credentials()
    api.force_login(dr_rao.user)
    assert api.get(reverse("api-token", args=[token.public_id])).json()["patient_name"] == (
        "Asha Rao"
    )


def test_a_signed_in_account_that_is_not_staff_sees_initials(api, plain_user, orth):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    api.force_login(plain_user)
    assert api.get(reverse("api-token", args=[token.public_id])).json()["patient_name"] == "A. R."


@pytest.mark.parametrize(
    "public_id", ["not-a-uuid", "1234", "%00", "x" * 500, str(uuid.uuid4()), "ORTH-001"]
)
def test_an_unknown_or_malformed_id_is_a_404_problem(reader, db, public_id):
    response = reader.get(f"/api/v1/tokens/{public_id}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_future_token_reads_its_own_day(reader, orth):
    token = services.issue_token(
        orth, "Asha Rao", service_date=WEDNESDAY + datetime.timedelta(days=2), now=NOW
    )
    body = reader.get(reverse("api-token", args=[token.public_id])).json()
    assert body["service_date"] == "2026-11-20" and body["ahead"] == 0


def test_the_schema_documents_every_answer(client, db):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    issue = schema["paths"]["/api/v1/tokens/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "415", "429"} <= set(issue)
    detail = schema["paths"]["/api/v1/tokens/{public_id}/"]["get"]["responses"]
    assert {"200", "401", "403", "404", "429"} <= set(detail)
