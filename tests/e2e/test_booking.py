"""A receptionist books an appointment in the browser: finds the cardiologist by typing
"card", picks him with the keyboard, chooses a slot, enters the patient, confirms with
the code texted to the patient (read from the SMS outbox), and sees it on the dashboard."""

import datetime
import json
import re
import time

import pytest
from django.utils import timezone

from appointments.models import Appointment, DoctorSchedule
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def tomorrow():
    # Tomorrow, so every slot of the session is still ahead whenever the test runs.
    return timezone.localdate() + datetime.timedelta(days=1)


@pytest.fixture
def cardiologist(dr_shah, tomorrow):
    dr_shah.specialization = "Interventional cardiologist"
    dr_shah.save()
    DoctorSchedule.objects.create(
        doctor=dr_shah, weekday=tomorrow.weekday(), start=datetime.time(9), end=datetime.time(12)
    )
    return dr_shah


def texted_code(outbox_dir, mobile: str, timeout: float = 5.0) -> str:
    path = outbox_dir / "sms.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in reversed(path.read_text().splitlines()):
                message = json.loads(line)
                if message["purpose"] == "otp" and message["to"] == mobile:
                    return re.search(r"\b(\d{6})\b", message["body"]).group(1)
        time.sleep(0.1)
    raise AssertionError(f"no code texted to {mobile} in {path}")


def test_a_receptionist_books_with_the_keyboard_and_a_texted_code(
    reception_server, new_page, frontdesk, cardiologist, tomorrow, outbox_dir
):
    base = reception_server.url
    page = new_page()
    log_in(page, base, "frontdesk", "pw-frontdesk-e2e")
    page.goto(f"{base}/reception/")
    assert page.get_by_role("heading", name=re.compile("^Appointments today")).is_visible()

    # Search for tomorrow's cardiologist: type, then arrow down and Enter.
    page.fill("#doctor-date", tomorrow.isoformat())
    search = page.get_by_role("combobox", name="Name, speciality or department")
    search.press_sequentially("card", delay=40)
    option = page.get_by_role("option", name=re.compile("Dr. Shah"))
    option.wait_for()
    assert "12 free slots" in option.inner_text()
    assert search.get_attribute("aria-expanded") == "true"
    search.press("ArrowDown")
    assert search.get_attribute("aria-activedescendant") == f"doctor-option-{cardiologist.pk}"
    assert option.get_attribute("aria-selected") == "true"
    with page.expect_navigation():
        search.press("Enter")
    assert f"doctor={cardiologist.pk}" in page.url and f"date={tomorrow.isoformat()}" in page.url
    page.get_by_role("heading", name="Book an appointment with Dr. Shah").wait_for()

    # A slot, the patient, and hold it.
    # The radio sits under its styled label; a person clicks the label.
    page.locator("label.slot").filter(has_text=re.compile(r"^\s*09:15\s*$")).click()
    slot = page.get_by_role("radio", name="09:15", exact=True)
    assert slot.is_checked()
    page.get_by_label("Patient's name").fill("Meera Bose")
    page.get_by_label("Mobile").fill("98123 45678")
    page.get_by_label("Illness or reason for the visit").fill("Chest pain on stairs")
    with page.expect_navigation():
        page.get_by_role("button", name="Hold the slot and send the code").click()
    assert page.url.endswith("/verify/")
    assert "A 6-digit code was sent to ••••••5678" in page.inner_text("#content-main")
    # The resend button waits out its cooldown, counting down.
    assert page.get_by_role("button", name="Send a new code").is_disabled()
    assert re.search(r"You can send a new code in \d+ s", page.inner_text("#resend-countdown"))

    # The patient reads out the code.
    code = texted_code(outbox_dir, "+919812345678")
    page.get_by_label("Code from the SMS").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm the booking").click()
    assert code not in page.url
    assert "Booked: Meera Bose with Dr. Shah" in page.inner_text(".messagelist")
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.BOOKED
    assert (appointment.date, appointment.start) == (tomorrow, datetime.time(9, 15))

    # On the dashboard, the next day.
    with page.expect_navigation():
        page.get_by_role("link", name="Dashboard").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Next day ›").click()
    row = page.locator("#result_list tbody tr", has_text="Meera Bose")
    assert "09:15–09:30" in row.inner_text()
    assert "Dr. Shah" in row.inner_text() and "Booked" in row.inner_text()
    assert "••••••5678" in row.inner_text()
