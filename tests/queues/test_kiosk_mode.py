"""Kiosk mode (/kiosk/): tiles in the patient's language, a department closed today said
plainly, nobody on duty marked, and a token issued under the kiosk's rules in the page's
language. The take-a-token page (/) says so too when a department is closed today."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from hospital.models import ALL_WEEKDAYS, Department
from queues.kiosk import KIOSK_COOKIE, key_hash
from queues.models import KioskDevice, PriorityCategory, Token
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
THURSDAY = WEDNESDAY + datetime.timedelta(days=1)
pytestmark = pytest.mark.usefixtures("clock")
KIOSK = reverse("kiosk")


def not_on_wednesdays(department: Department) -> Department:
    department.open_weekdays = ALL_WEEKDAYS & ~(1 << WEDNESDAY.weekday())
    department.save()
    return department


def in_language(client, code: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    return client


def department_url(department: Department) -> str:
    return reverse("kiosk_department", args=[department.slug])


def take(client, department, **overrides):
    data = {"patient_name": "Kumar Selvam", "mobile": "", "category": "",
            "service_date": WEDNESDAY.isoformat()}  # fmt: skip
    data.update(overrides)
    return client.post(department_url(department), data)


def test_the_start_screen_has_a_tile_per_department_in_the_patients_language(client, orth):
    orth.name_ta = "எலும்பியல்"
    orth.save()
    page = page_text(in_language(client, "ta").get(KIOSK))
    assert 'lang="ta"' in page
    assert "எலும்பியல்" in page and "Orthopedic Surgery" not in page
    assert f'href="{department_url(orth)}"' in page
    # Each language named in its own script; no site navigation on a kiosk.
    for name in ("English", "हिन्दी", "தமிழ்"):
        assert name in page
    assert "site-header" not in page and "Log in" not in page


def test_the_language_picker_sets_the_page_language(client, orth):
    response = client.post(reverse("set_language"), {"language": "hi", "next": KIOSK})
    assert response.status_code == 302 and response["Location"] == KIOSK
    assert 'lang="hi"' in page_text(client.get(KIOSK))


def test_a_department_closed_today_says_for_which_day_it_gives_tokens(client, orth, card):
    not_on_wednesdays(orth)
    page = page_text(client.get(KIOSK))
    assert "Closed today — tokens for tomorrow" in page
    # Not the next day: the weekday's name, in the patient's language.
    orth.open_weekdays = 1 << 0  # Mondays only
    orth.save()
    assert "Closed today — tokens for Monday" in page_text(client.get(KIOSK))
    with translation.override("hi"):
        monday_in_hindi = translation.gettext("Monday")
    assert monday_in_hindi != "Monday"
    assert monday_in_hindi in page_text(in_language(client, "hi").get(KIOSK))


def test_a_department_with_nobody_on_duty_is_marked(client, orth, card, dr_rao):
    page = page_text(client.get(KIOSK))
    assert page.count("No doctor on duty now") == 1  # Cardiology's, not Orthopaedics'
    dr_rao.on_duty = False
    dr_rao.save()
    assert page_text(client.get(KIOSK)).count("No doctor on duty now") == 2


def test_a_token_is_issued_in_the_page_language_and_the_slip_follows(client, orth):
    response = take(in_language(client, "ta"), orth)
    token = Token.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("token_slip", args=[token.public_id]) + "?kiosk=1"
    assert (token.display_number, token.language, token.service_date) == (
        "ORTH-001",
        "ta",
        WEDNESDAY,
    )
    assert token.visit.source == "kiosk"


def test_a_department_closed_today_issues_for_its_next_day_and_says_so(client, orth):
    not_on_wednesdays(orth)
    page = page_text(client.get(department_url(orth)))
    assert "Closed today — tokens for tomorrow" in page
    assert "Your token will be for Thursday, 19 November 2026" in page
    take(client, orth, service_date=THURSDAY.isoformat())
    assert Token.objects.get().service_date == THURSDAY


def test_a_page_opened_for_another_day_issues_nothing_and_says_why(client, orth):
    response = take(client, orth, service_date=THURSDAY.isoformat())
    assert "The day has changed" in page_text(response)
    assert Token.objects.count() == 0


def test_the_category_is_chosen_with_its_proof_note_in_the_language(client, orth):
    senior = PriorityCategory.objects.get(name="Senior citizen (60+)")
    emergency = PriorityCategory.objects.get(name="Emergency")
    page = page_text(in_language(client, "ta").get(department_url(orth)))
    assert senior.name_ta in page and senior.proof_note_ta in page
    assert emergency.name_ta not in page  # staff only
    take(client, orth, category=str(senior.pk))
    assert Token.objects.get().category == senior


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"patient_name": ""}, "Enter the patient's name."),
        ({"patient_name": "x" * 101}, "The patient's name is too long"),
        ({"mobile": "12345"}, "Enter a valid mobile number"),
        ({"category": "999999"}, "Choose a category from the list."),
    ],
)
def test_bad_input_issues_nothing_and_says_why(client, orth, overrides, message):
    response = take(client, orth, **overrides)
    assert response.status_code == 200
    assert message in page_text(response)
    assert Token.objects.count() == 0


def test_emergency_cannot_be_chosen_at_the_kiosk(client, orth):
    emergency = PriorityCategory.objects.get(name="Emergency")
    response = take(client, orth, category=str(emergency.pk))
    assert "Choose a category from the list." in page_text(response)
    assert Token.objects.count() == 0


@pytest.mark.parametrize("slug", ["nope", "derm"])
def test_an_unknown_or_inactive_department_goes_back_to_the_start(client, orth, slug):
    Department.objects.create(name="Dermatology", code="DERM", is_active=False)
    response = client.post(reverse("kiosk_department", args=[slug]), {"patient_name": "A"})
    assert response.status_code == 302 and response["Location"] == KIOSK
    assert "not taking tokens" in page_text(client.get(KIOSK))
    assert Token.objects.count() == 0


def test_a_department_with_no_day_to_give_is_not_offered(client, orth):
    orth.open_weekdays = 0
    orth.save()
    page = page_text(client.get(KIOSK))
    assert "Closed today — no tokens can be taken now." in page
    assert f'href="{department_url(orth)}"' not in page
    response = take(client, orth)
    assert response.status_code == 302 and Token.objects.count() == 0


def test_the_kiosk_keeps_the_token_limits_and_a_registered_kiosk_is_exempt(client, orth, settings):
    settings.TOKEN_LIMIT = "1/h"
    client.get(KIOSK)
    assert take(client, orth).status_code == 302
    refused = take(client, orth, patient_name="Second")
    assert refused.status_code == 429
    assert "ask at the reception desk" in page_text(refused)
    KioskDevice.objects.create(name="Entrance", key_hash=key_hash("k" * 20), registered_at=NOW)
    client.cookies[KIOSK_COOKIE] = "k" * 20
    assert take(client, orth, patient_name="Third").status_code == 302
    assert Token.objects.count() == 2


def test_only_get_and_post(client, orth):
    assert client.put(KIOSK).status_code == 405
    assert client.delete(department_url(orth)).status_code == 405


# --- The take-a-token page (/) ------------------------------------------------------------


def test_home_says_plainly_when_a_department_is_closed_today(client, orth, card):
    not_on_wednesdays(orth)
    page = page_text(client.get(reverse("home")))
    assert 'data-closed-today="Closed today — tokens for tomorrow"' in page
    assert 'id="date-notice"' in page
    # Cardiology is open today: nothing to say about it.
    assert page.count("data-closed-today=") == 1


def test_home_without_a_date_for_a_department_closed_today_refuses_plainly(client, orth):
    not_on_wednesdays(orth)
    response = client.post(
        reverse("home"), {"department": "orth", "patient_name": "Asha Rao", "service_date": ""}
    )
    assert "closed on Wednesdays" in page_text(response)
    assert Token.objects.count() == 0


def test_home_issues_the_token_in_the_page_language(client, orth):
    orth.name_hi = "हड्डी रोग"
    orth.save()
    in_language(client, "hi")
    assert "हड्डी रोग" in page_text(client.get(reverse("home")))
    client.post(
        reverse("home"),
        {"department": "orth", "patient_name": "Asha Rao", "service_date": WEDNESDAY.isoformat()},
    )
    assert Token.objects.get().language == "hi"
