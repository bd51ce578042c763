"""The patient's token page at /tokens/<public_id>/."""

import datetime
import re
import uuid

import pytest
from django.urls import reverse

from queues import services
from queues.models import Token
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


def words(response) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())


def test_the_issued_token_page_shows_number_position_wait_and_a_qr_code(client, orth):
    services.issue_token(orth, "First", now=NOW)
    services.issue_token(orth, "Second", now=NOW)
    response = client.post(
        reverse("home"),
        {
            "department": "orth",
            "patient_name": "Asha Rao",
            "mobile": "98123 45678",
            "service_date": WEDNESDAY.isoformat(),
        },
        follow=True,
    )
    token = Token.objects.get(patient_name="Asha Rao")
    assert response.redirect_chain == [(f"/tokens/{token.public_id}/", 302)]
    page = page_text(response)
    assert "ORTH-003" in page
    assert "Orthopedic Surgery" in page
    assert "Asha Rao" in page
    assert '<span class="stat-value" data-role="ahead">2</span>' in page
    # Two ahead at the default 10 minutes each, no doctor on duty counted as one.
    assert "~20 min" in page
    assert "<svg" in page and "segno" in page
    # The slip's QR code and address lead to the visit's page, for every stop of the visit.
    assert f"http://testserver/visits/{token.visit.public_id}/" in page
    assert 'data-department-slug="orth"' in page
    assert 'data-token="ORTH-003"' in page
    assert f'data-public-id="{token.public_id}"' in page
    assert "Print slip" in page


def test_it_never_shows_the_mobile_number(client, orth):
    token = services.issue_token(orth, "Asha Rao", mobile="98123 45678", now=NOW)
    page = page_text(client.get(reverse("token_detail", args=[token.public_id])))
    assert "+919812345678" not in page
    assert "9812345678" not in page
    assert "98123" not in page


def test_a_future_token_says_the_estimate_is_for_its_day(client, orth):
    friday = WEDNESDAY + datetime.timedelta(days=2)
    token = services.issue_token(orth, "Asha", service_date=friday, now=NOW)
    page = words(client.get(reverse("token_detail", args=[token.public_id])))
    assert "This token is for Friday, 20 Nov" in page


def test_a_called_token_shows_the_room(client, orth, dr_rao):
    token = services.issue_token(orth, "Asha", now=NOW)
    services.call_next(dr_rao, now=NOW)
    page = page_text(client.get(reverse("token_detail", args=[token.public_id])))
    assert "Room 4" in page
    assert "Called" in page


def test_an_unknown_token_is_a_friendly_404(client, db):
    response = client.get(reverse("token_detail", args=[uuid.uuid4()]))
    assert response.status_code == 404
    assert "couldn't find that page" in page_text(response)
    assert "Take a token" in page_text(response)


def test_the_page_links_the_print_script_and_stylesheet(client, orth):
    token = services.issue_token(orth, "Asha", now=NOW)
    page = page_text(client.get(reverse("token_detail", args=[token.public_id])))
    assert "js/token.js" in page
    assert "css/app.css" in page


def test_a_huge_query_string_leaves_the_qr_code_on_the_page_address(client, orth):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    response = client.get(reverse("token_detail", args=[token.public_id]), {"x": "y" * 5000})
    assert response.status_code == 200
    assert response.context["page_url"] == f"http://testserver/visits/{token.visit.public_id}/"
    assert "yyyy" not in response.content.decode()
