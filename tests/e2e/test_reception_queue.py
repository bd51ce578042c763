"""The front desk in the browser: the receptionist recalls a skipped patient and calls a
called token again from /reception/queue/; an open waiting-room TV shows the recalled
token in Next and flashes the repeated call, live, with the category in words."""

import pytest

from queues import services
from queues.models import PriorityCategory, Token, TokenEvent
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser


def test_a_recall_and_a_call_again_from_the_desk_reach_the_tv_live(
    server, new_page, frontdesk, orth, dr_rao
):
    senior = PriorityCategory.objects.get(name="Senior citizen (60+)")
    services.issue_token(orth, "Asha Rao")
    services.issue_token(orth, "Bala Iyer", category=senior)
    asha = services.call_next(dr_rao)
    services.skip_token(dr_rao, asha)  # Asha did not come when called
    services.call_next(dr_rao)  # Bala
    base = server.url

    display = new_page()
    display.goto(f"{base}/display/?departments=orth&sound=0&voice=0")
    display.wait_for_selector("#tv-status.live")
    assert display.locator(".tv-next-list li").all_inner_texts() == []
    serving = display.locator('.tv-serving li[data-token="ORTH-002"]')
    assert "Senior citizen (60+)" in serving.locator(".tv-category").inner_text()
    # An old call is not replayed when the page opens.
    assert "tv-flash" not in (serving.get_attribute("class") or "")
    display.evaluate("window.__loadedAt = performance.timeOrigin")

    desk = new_page()
    log_in(desk, base, "frontdesk", "pw-frontdesk-e2e")
    desk.goto(f"{base}/reception/queue/?department=orth")
    row = desk.locator('tr.queue-row[data-token="ORTH-001"]')
    assert "Skipped" in row.inner_text()
    row.locator("summary", has_text="Recall").click()
    row.get_by_label("Why recall:").fill("Came back to the desk")
    with desk.expect_navigation():
        row.get_by_role("button", name="Recall ORTH-001").click()
    assert "ORTH-001 is recalled" in desk.inner_text(".messagelist")

    display.wait_for_selector('.tv-next-list li[data-token="ORTH-001"]', timeout=5000)
    assert "tv-flash" not in (serving.get_attribute("class") or "")

    with desk.expect_navigation():
        desk.locator('tr.queue-row[data-token="ORTH-002"]').get_by_role(
            "button", name="Call ORTH-002 again"
        ).click()
    assert "called again" in desk.inner_text(".messagelist")
    display.wait_for_selector('.tv-serving li.tv-flash[data-token="ORTH-002"]', timeout=5000)
    assert display.evaluate("window.__loadedAt === performance.timeOrigin")

    assert Token.objects.get(pk=asha.pk).status == Token.Status.WAITING
    kinds = TokenEvent.objects.filter(actor=frontdesk).values_list("kind", flat=True)
    assert {TokenEvent.Kind.RECALLED, TokenEvent.Kind.ANNOUNCED} <= set(kinds)
