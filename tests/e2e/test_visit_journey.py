"""One patient's visit through the OPD, in Chromium: a kiosk token; the doctor sends the
patient to the laboratory, then back for review; the laboratory's TV shows
`LAB-001 → Counter 1` when its staff call; the patient's page follows every stop live;
and the patient comes back to the doctor ahead of whoever arrived while they were away.
"""

import pytest

from queues import services
from queues.models import Token
from tests.e2e.conftest import log_in, press

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TV = {"width": 1920, "height": 1080}


def take_token_at_the_kiosk(page, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/")
    page.select_option("#id_department", "orth")
    page.fill("#id_patient_name", name)
    press(page, "Get my token")


def wait_for_stop(phone, token: str) -> None:
    """The visit page follows the patient to the stop whose token is `token`."""
    phone.wait_for_selector(f'#token-page[data-token="{token}"]', timeout=10_000)
    phone.wait_for_selector("#live-status.live")


def test_a_patient_follows_one_page_from_the_doctor_to_the_laboratory_and_back(
    server, new_page, orth, dr_rao, lab, lab_counter, lab_tech, pharmacy
):
    services.issue_token(orth, "Bala Iyer")  # waiting before Asha comes

    # The patient takes a token and opens the slip's QR address on their phone.
    phone = new_page(viewport=PHONE)
    take_token_at_the_kiosk(phone, server.url, "Asha Rao")
    visit_url = phone.locator(".slip-url").inner_text().strip()
    assert "/visits/" in visit_url
    phone.goto(visit_url)
    wait_for_stop(phone, "ORTH-002")
    assert phone.locator('[data-role="ahead"]').inner_text() == "1"

    doctor = new_page()
    log_in(doctor, server.url, "rao", "pw-rao")
    doctor.goto(f"{server.url}/doctor/")
    press(doctor, "Call next")  # Bala
    press(doctor, "Start consultation")
    press(doctor, "Complete")
    press(doctor, "Call next")  # Asha
    phone.wait_for_selector('[data-role="your-turn"]')
    assert "Room 4" in phone.locator('[data-role="your-turn"]').inner_text()
    press(doctor, "Start consultation")

    # Laboratory, then back to Dr. Rao for review, then the pharmacy.
    doctor.select_option("#id_stop_1", label="Laboratory")
    doctor.fill("#id_note_1", "Fasting blood sugar")
    doctor.select_option("#id_stop_2", label="Back to me for review")
    doctor.select_option("#id_stop_3", label="Pharmacy")
    press(doctor, "Complete and send on")
    assert "sent to Laboratory" in doctor.locator(".messages, .alert").first.inner_text()

    # The phone moves on to the laboratory's queue by itself.
    wait_for_stop(phone, "LAB-001")
    stops = phone.locator(".stops li").all_inner_texts()
    assert [" ".join(s.split()) for s in stops] == [
        "✓ Done Orthopedic Surgery ORTH-002",
        "▶ Now Laboratory LAB-001",
        "Next Back to Dr. Rao (Orthopedic Surgery)",
        "Next Pharmacy",
    ]
    assert "Fasting" not in phone.content()  # the note is for the lab's staff only

    display = new_page(viewport=TV)
    display.goto(f"{server.url}/display/?departments=lab&sound=0&voice=0")
    display.wait_for_selector("#tv-status.live")

    # While Asha is at the laboratory, another patient arrives for orthopaedics.
    services.issue_token(orth, "Chitra Menon")

    lab_staff = new_page()
    log_in(lab_staff, server.url, "labtech", "pw-labtech")
    lab_staff.goto(f"{server.url}/counter/")
    press(lab_staff, "Call next")
    assert "Fasting blood sugar" in lab_staff.content()  # the doctor's note, for the lab
    called = display.locator('.tv-serving li[data-token="LAB-001"]')
    called.wait_for(timeout=5000)
    assert "Counter 1" in called.inner_text() and "Room" not in called.inner_text()
    phone.wait_for_selector('[data-role="your-turn"]')
    assert "Counter 1" in phone.locator('[data-role="your-turn"]').inner_text()
    press(lab_staff, "Start serving")
    press(lab_staff, "Complete")

    # Back to Dr. Rao: ahead of Chitra, who came while Asha was at the laboratory.
    review = Token.objects.get(visit__patient_name="Asha Rao", department=orth, status="waiting")
    wait_for_stop(phone, review.display_number)
    assert phone.locator('[data-role="ahead"]').inner_text() == "0"
    doctor.goto(f"{server.url}/doctor/")
    waiting = doctor.locator("#waiting-heading ~ table tbody tr").all_inner_texts()
    assert review.display_number in waiting[0] and "Chitra Menon" in waiting[1]
    press(doctor, "Call next")
    press(doctor, "Start consultation")
    press(doctor, "Complete")
    wait_for_stop(phone, "PHAR-001")
