"""In Chromium: a Tamil-speaking patient at the kiosk picks தமிழ், a department tile,
types a name, gets the slip in Tamil with the token number and a QR code, and the kiosk
goes back to its start screen (in its own language) without the patient's name."""

import re

import pytest
from playwright.sync_api import expect

from hospital.models import ALL_WEEKDAYS, Department
from queues.models import Token

pytestmark = pytest.mark.browser


def test_a_tamil_patient_takes_a_token_and_the_kiosk_starts_again(server, new_page):
    # Open every day, so the test's day is known whatever the calendar says.
    Department.objects.create(
        name="Orthopedic Surgery", name_ta="எலும்பியல்", code="ORTH", open_weekdays=ALL_WEEKDAYS
    )
    page = new_page(viewport={"width": 1080, "height": 1920})
    page.goto(f"{server.url}/kiosk/")
    expect(page.locator(".site-header")).to_have_count(0)
    page.get_by_role("button", name="தமிழ்").click()
    expect(page.locator("html")).to_have_attribute("lang", "ta")

    page.get_by_role("link", name=re.compile("எலும்பியல்")).click()
    page.fill("#id_patient_name", "Kumar Selvam")
    page.locator("#kiosk-form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/tokens/[0-9a-f-]+/slip/\?kiosk=1$"))
    expect(page.locator("html")).to_have_attribute("lang", "ta")
    expect(page.locator(".ts-number")).to_have_text(re.compile("ORTH-001"))
    expect(page.locator(".ts-department")).to_have_text("எலும்பியல்")
    expect(page.locator(".ts-qr svg")).to_have_count(1)
    expect(page.locator("#countdown")).to_contain_text(re.compile(r"\d"))
    token = Token.objects.get()
    assert (token.display_number, token.language) == ("ORTH-001", "ta")

    # A few seconds later: the start screen, in the kiosk's language, with no name.
    page.wait_for_url(f"{server.url}/kiosk/", timeout=30_000)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".kiosk-tile")).to_have_count(1)
    assert "Kumar" not in page.content()
