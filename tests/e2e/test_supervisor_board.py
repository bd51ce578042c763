"""A supervisor's board turns a department's tile red the moment it crosses its
threshold, without a reload; the supervisor acknowledges the alert."""

import pytest

from queues import services
from supervision.models import Alert, Threshold
from tests.e2e.conftest import log_in, press
from tests.supervision.conftest import make_supervisor

pytestmark = pytest.mark.browser


def test_a_tile_turns_red_live_and_the_supervisor_acknowledges(server, new_page, orth, card):
    Threshold.objects.create(department=orth, max_waiting=1)
    services.issue_token(orth, "Bala Iyer")
    make_supervisor("super")

    board = new_page()
    log_in(board, server.url, "super", "pw-super-2026-long")
    board.goto(f"{server.url}/supervisor/")
    board.wait_for_selector("#live-status.live")
    tile = board.locator('[data-department="orth"]')
    assert "Within thresholds" in tile.inner_text()
    assert "dept-tile-alert" not in tile.get_attribute("class")
    board.evaluate("window.__loadedAt = performance.timeOrigin")

    # A second patient takes a token at the kiosk: more than 1 waiting.
    kiosk = new_page()
    kiosk.goto(f"{server.url}/")
    kiosk.select_option("#id_department", "orth")
    kiosk.fill("#id_patient_name", "Asha Rao")
    press(kiosk, "Get my token")

    board.wait_for_selector('[data-department="orth"].dept-tile-alert', timeout=5000)
    assert "ALERT: 2 waiting (more than 1)" in tile.inner_text()
    assert "dept-tile-alert" not in board.locator('[data-department="card"]').get_attribute("class")
    assert board.evaluate("window.__loadedAt === performance.timeOrigin")  # no reload
    alerts = board.locator(".alert-list")
    assert "Orthopedic Surgery: 2 waiting (more than 1)" in alerts.inner_text()

    with board.expect_navigation():
        board.get_by_role("button", name="Acknowledge the alert for Orthopedic Surgery").click()
    assert "Alert for Orthopedic Surgery acknowledged." in board.inner_text("main")
    assert "Acknowledged by super" in board.locator(".alert-list").inner_text()
    alert = Alert.objects.get()
    assert alert.acknowledged_by.username == "super" and alert.is_open
