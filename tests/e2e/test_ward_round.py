"""A doctor goes on a ward round: the waiting-room TV and a waiting patient's phone say so
live ("Dr. Rao, Room 4: on a ward round, back about 11:30"), and the notice goes when the
doctor presses Resume."""

import datetime

import pytest
from django.utils import timezone

from queues import services
from tests.e2e.conftest import log_in, press

pytestmark = pytest.mark.browser


def back_time() -> str:
    """A time later today on the hospital's clock (what the form asks for)."""
    now = timezone.localtime()
    later = now + datetime.timedelta(minutes=40)
    return f"{later:%H:%M}" if later.date() == now.date() else "23:59"


def test_a_ward_round_shows_on_the_tv_and_the_phone_and_goes_on_resume(
    server, new_page, orth, dr_rao
):
    services.issue_token(orth, "Asha Rao")
    mine = services.issue_token(orth, "Bala Iyer")

    display = new_page()
    display.goto(f"{server.url}/display/?departments=orth&sound=0&voice=0")
    display.wait_for_selector("#tv-status.live")
    phone = new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{server.url}/tokens/{mine.public_id}/")
    phone.wait_for_selector("#live-status.live")
    assert display.locator(".tv-notices").is_hidden()

    doctor = new_page()
    log_in(doctor, server.url, "rao", "pw-rao")
    doctor.goto(f"{server.url}/doctor/")
    doctor.get_by_text("Pause or start late").click()
    doctor.select_option("#pause-reason", "ward round")
    back = back_time()
    doctor.fill("#pause-back", back)
    press(doctor, "Pause")
    assert f"You are paused: ward round, back about {back}." in doctor.inner_text("body")

    expected = f"Dr. Rao, Room 4: on a ward round, back about {back}"
    display.wait_for_selector(f'.tv-notices p:has-text("{expected}")', timeout=5000)
    phone.wait_for_selector(f'[data-role="notices"] p:has-text("{expected}")', timeout=5000)
    # Nobody was moved: the patient's place in the queue is the same.
    assert phone.locator('[data-role="ahead"]').inner_text() == "1"

    press(doctor, "Resume")
    display.wait_for_selector(".tv-notices p", state="detached", timeout=5000)
    phone.wait_for_selector('[data-role="notices"] p', state="detached", timeout=5000)
    assert display.locator(".tv-notices").is_hidden()
