"""The patient's token page at /tokens/<public_id>/."""

import datetime
import json
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from queues import services
from queues.models import Token
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


def words(response) -> str:
    """The page as a person reads it: scripts and tags dropped, spaces collapsed."""
    page = re.sub(r"<script\b.*?</script>", " ", page_text(response), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


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


# --- In the patient's language, the live status first (issue 15) --------------------------


@pytest.fixture
def orth_names(orth):
    orth.name_hi, orth.name_ta = "हड्डी रोग", "எலும்பு மருத்துவம்"
    orth.save()
    return orth


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


def test_a_tamil_token_s_page_is_in_tamil_with_the_token_number_in_latin(client, orth_names):
    token = services.issue_token(orth_names, "Kavya S", language="ta", now=NOW)
    response = client.get(reverse("token_detail", args=[token.public_id]))
    assert response.status_code == 200
    assert html_lang(response) == "ta"
    assert response["Content-Language"] == "ta"
    page = page_text(response)
    assert "எலும்பு மருத்துவம்" in page
    assert "Orthopedic Surgery" not in page
    # The date's weekday in Tamil script (Django's own catalog); the number stays Latin.
    assert "புதன்" in page
    assert 'data-token="ORTH-001"' in page and ">ORTH-001<" in page


def test_the_patient_can_switch_the_page_to_hindi(client, orth_names):
    token = services.issue_token(orth_names, "Kavya S", language="ta", now=NOW)
    response = client.get(reverse("token_detail", args=[token.public_id]), {"lang": "hi"})
    assert html_lang(response) == "hi"
    page = page_text(response)
    assert "हड्डी रोग" in page and "எலும்பு மருத்துவம்" not in page
    # The switch offers every language in its own script, the current one marked.
    assert f'href="/tokens/{token.public_id}/?lang=hi" lang="hi" hreflang="hi" aria-current' in page
    assert ">தமிழ்<" in page and ">English<" in page


@pytest.mark.parametrize("bad", ["xx", "ta-IN", "\x00", "<script>", "x" * 5000, ""])
def test_an_unknown_lang_is_ignored_and_the_token_s_language_kept(client, orth_names, bad):
    token = services.issue_token(orth_names, "Kavya S", language="ta", now=NOW)
    response = client.get(reverse("token_detail", args=[token.public_id]), {"lang": bad})
    assert response.status_code == 200
    assert html_lang(response) == "ta"
    assert "<script>" not in response.content.decode()


def test_an_english_token_stays_english_whatever_the_browser_asks(client, orth_names):
    token = services.issue_token(orth_names, "Asha", now=NOW)
    response = client.get(
        reverse("token_detail", args=[token.public_id]), HTTP_ACCEPT_LANGUAGE="ta"
    )
    assert html_lang(response) == "en"
    assert "Orthopedic Surgery" in page_text(response)


def test_when_called_the_turn_comes_before_anything_else(client, orth, dr_rao):
    token = services.issue_token(orth, "Asha", now=NOW)
    services.call_next(dr_rao, now=NOW)
    response = client.get(reverse("token_detail", args=[token.public_id]))
    page = page_text(response)
    body = page[page.index('id="token-page"') :]
    turn = body.index('data-role="your-turn"')
    assert words(response).count("It's your turn — Room 4") == 2  # the title, and the page
    assert turn < body.index('class="slip-number"')
    assert turn < body.index("Patient")
    assert "Please go to Room 4 now." in words(response)
    assert "ahead of you" not in words(response)


def test_the_words_token_js_writes_come_in_the_pages_language(client, orth_names, dr_rao):
    token = services.issue_token(orth_names, "Kavya S", language="ta", now=NOW)
    services.call_next(dr_rao, now=NOW)
    response = client.get(reverse("token_detail", args=[token.public_id]))
    assert html_lang(response) == "ta"
    assert 'data-role="your-turn"' in page_text(response)
    # The page loads the catalog of its own language, not the browser's.
    catalog = reverse("javascript-catalog", args=["ta"])
    assert f'<script src="{catalog}">' in response.content.decode()
    script = client.get(catalog, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with translation.override("ta"):
        tamil = gettext("It's your turn — %(place)s")
    assert tamil != "It's your turn — %(place)s"
    assert json.dumps(tamil)[1:-1] in script


def test_while_waiting_the_position_and_wait_come_first(client, orth):
    services.issue_token(orth, "First", now=NOW)
    token = services.issue_token(orth, "Second", now=NOW)
    response = client.get(reverse("token_detail", args=[token.public_id]))
    text = words(response)
    assert text.index("1 patient ahead of you") < text.index("~10 min estimated wait")
    assert text.index("estimated wait") < text.index("Patient Second")


FRIDAY = WEDNESDAY + datetime.timedelta(days=2)


def test_a_future_token_shows_the_day_and_the_opening_time_not_a_wait(
    client, orth, dr_rao, dr_iyer
):
    from appointments.models import DoctorLeave, DoctorSchedule

    DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=FRIDAY.weekday(), start=datetime.time(9, 30),
        end=datetime.time(13),
    )  # fmt: skip
    DoctorSchedule.objects.create(
        doctor=dr_iyer, weekday=FRIDAY.weekday(), start=datetime.time(8, 45),
        end=datetime.time(12),
    )  # fmt: skip
    # Another weekday's earlier session does not count.
    DoctorSchedule.objects.create(
        doctor=dr_iyer, weekday=WEDNESDAY.weekday(), start=datetime.time(7),
        end=datetime.time(8),
    )  # fmt: skip
    services.issue_token(orth, "Before", service_date=FRIDAY, now=NOW)
    token = services.issue_token(orth, "Asha", service_date=FRIDAY, now=NOW)
    url = reverse("token_detail", args=[token.public_id])
    text = words(client.get(url))
    assert "This token is for Friday, 20 Nov 2026." in text
    assert "Opens at 08:45" in text
    assert "estimated wait" not in text and "ahead of you" not in text
    # A doctor on leave that day does not open the department.
    DoctorLeave.objects.create(doctor=dr_iyer, start_date=FRIDAY, end_date=FRIDAY)
    assert "Opens at 09:30" in words(client.get(url))


def test_a_future_token_without_sessions_says_the_usual_opd_time(client, orth):
    token = services.issue_token(orth, "Asha", service_date=FRIDAY, now=NOW)
    text = words(client.get(reverse("token_detail", args=[token.public_id])))
    assert "Opens at the usual OPD time" in text
    assert "estimated wait" not in text


@pytest.mark.parametrize(
    ("act", "says"),
    [
        ("skip", "You were called but were not there."),
        ("cancel", "This token was cancelled."),
        ("complete", "Your visit is complete. Thank you for visiting."),
    ],
)
def test_the_end_states_are_said_plainly(client, orth, dr_rao, admin_user, act, says):
    token = services.issue_token(orth, "Asha", now=NOW)
    if act == "cancel":
        services.cancel_token(token, actor=admin_user, reason="Left", now=NOW)
    else:
        services.call_next(dr_rao, now=NOW)
        if act == "skip":
            services.skip_token(dr_rao, token, now=NOW)
        else:
            services.start_consultation(dr_rao, token, now=NOW)
            services.complete_token(dr_rao, token, now=NOW)
    text = words(client.get(reverse("token_detail", args=[token.public_id])))
    assert says in text
    assert "ahead of you" not in text


def test_the_issue_time_is_on_the_hospital_s_clock(client, orth):
    token = services.issue_token(orth, "Asha", now=at(WEDNESDAY, 8, 5))
    assert "18 Nov 2026, 08:05" in words(
        client.get(reverse("token_detail", args=[token.public_id]))
    )


def test_the_page_links_the_slip_and_offers_to_stop_sms_without_the_number(client, orth):
    token = services.issue_token(orth, "Asha Rao", mobile="98123 45678", now=NOW)
    page = page_text(client.get(reverse("token_detail", args=[token.public_id])))
    assert f'href="{reverse("token_slip", args=[token.public_id])}"' in page
    assert f'action="{reverse("token_sms_off", args=[token.public_id])}"' in page
    assert "98123" not in page and "9812345678" not in page
