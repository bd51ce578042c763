"""A receptionist in the browser: (a) cancels an appointment with a reason and finds it in
the cancellations log; (b) checks a booked patient in from the dashboard, and their token
appears on the waiting-room display without a reload."""

import datetime
import re

import pytest
from django.utils import timezone

from appointments.models import Appointment, AppointmentEvent, Patient
from queues.models import Token
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser


def booked_today(doctor, name: str, mobile: str) -> Appointment:
    # Late in the day, so the slot is still ahead whenever the test runs.
    patient = Patient.objects.create(name=name, mobile=mobile)
    return Appointment.objects.create(
        patient=patient, doctor=doctor, date=timezone.localdate(), start=datetime.time(23, 30),
        end=datetime.time(23, 45), reason="Knee pain", status=Appointment.Status.BOOKED,
        created_at=timezone.now(), booked_at=timezone.now(),
    )  # fmt: skip


def test_a_receptionist_cancels_with_a_reason_and_sees_it_in_the_log(
    reception_server, new_page, frontdesk, dr_rao
):
    appointment = booked_today(dr_rao, "Meera Bose", "+919812345678")
    base = reception_server.url
    page = new_page()
    log_in(page, base, "frontdesk", "pw-frontdesk-e2e")
    page.goto(f"{base}/reception/")
    with page.expect_navigation():
        page.locator("#result_list").get_by_role("link", name="Meera Bose").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Cancel", exact=True).click()
    page.get_by_label("Reason:", exact=True).select_option("Doctor unavailable")
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel the appointment").click()
    assert "Cancelled: Meera Bose. The slot is free." in page.inner_text(".messagelist")
    assert "Doctor unavailable" in page.inner_text("#change-history")

    with page.expect_navigation():
        page.get_by_role("link", name="Dashboard").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Cancellations").click()
    row = page.locator("#result_list tbody tr", has_text="Meera Bose")
    assert "Doctor unavailable" in row.inner_text()
    assert "frontdesk" in row.inner_text()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert AppointmentEvent.objects.get(kind="cancelled").reason == "Doctor unavailable"


def test_check_in_puts_the_patient_on_the_waiting_room_display_live(
    reception_server, new_page, frontdesk, orth, dr_rao
):
    booked_today(dr_rao, "Asha Rao", "+919812345670")
    base = reception_server.url
    display = new_page()
    display.goto(f"{base}/display/?departments={orth.slug}&sound=0&voice=0")
    display.wait_for_selector("#tv-status.live")
    assert display.locator(".tv-next-list li").all_inner_texts() == []
    display.evaluate("window.__loadedAt = performance.timeOrigin")

    desk = new_page()
    log_in(desk, base, "frontdesk", "pw-frontdesk-e2e")
    desk.goto(f"{base}/reception/")
    row = desk.locator("#result_list tbody tr", has_text="Asha Rao")
    with desk.expect_navigation():
        row.get_by_role("button", name="Check in").click()
    assert re.search(r"Checked in: Asha Rao has token ORTH-001", desk.inner_text(".messagelist"))
    assert "Checked in" in desk.locator("#result_list tbody tr", has_text="Asha Rao").inner_text()

    display.wait_for_selector('.tv-next-list li:has-text("ORTH-001")', timeout=5000)
    assert display.evaluate("window.__loadedAt === performance.timeOrigin")
    token = Token.objects.get()
    assert token.appointment.patient.name == "Asha Rao" and token.assigned_doctor == dr_rao
