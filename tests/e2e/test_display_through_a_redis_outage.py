"""A waiting-room TV through a Redis outage, in Chromium: its light turns amber when it
cannot be sure it is current, it still shows every call, and it is green and live again
once Redis is back, all without a reload."""

import shutil

import pytest

from queues import services
from tests.conftest import require_in_ci
from tests.servers import DaphneServer, RedisServer, unique_prefix

pytestmark = [pytest.mark.browser, pytest.mark.redis]

# A ping every 10 s, the server's version check at most 3 s old: 15 s covers both.
WITHIN_15_S = 15_000


def test_a_display_says_it_is_unsure_during_an_outage_and_recovers_without_a_reload(
    transactional_db, new_page, orth, dr_rao, dr_iyer
):
    if shutil.which("redis-server") is None:
        require_in_ci("redis-server", "install the Debian package `redis-server`")
    for name in ("Asha Rao", "Bala Iyer"):
        services.issue_token(orth, name)
    redis = RedisServer().start()
    try:
        with DaphneServer(redis_url=redis.redis_url_of, prefix=unique_prefix()) as server:
            display = new_page(viewport={"width": 1920, "height": 1080})
            display.goto(f"{server.url}/display/?departments=orth&sound=0&voice=0")
            display.wait_for_selector("#tv-status.live")
            display.evaluate("window.__loadedAt = performance.timeOrigin")

            redis.stop()
            # Called in this process: no push reaches the TV, as with any lost message.
            services.call_next(dr_rao)
            display.wait_for_selector('#tv-status[data-status="unsure"]', timeout=WITHIN_15_S)
            assert "Not sure" in display.locator("#tv-status").inner_text()
            display.wait_for_selector('.tv-serving li[data-token="ORTH-001"]', timeout=WITHIN_15_S)
            display.screenshot(path=str(server.log.parent / "display-unsure.png"))

            redis.start()
            services.call_next(dr_iyer)
            display.wait_for_selector('.tv-serving li[data-token="ORTH-002"]', timeout=WITHIN_15_S)
            display.wait_for_selector("#tv-status.live", timeout=WITHIN_15_S)
            assert display.evaluate("window.__loadedAt === performance.timeOrigin")
    finally:
        redis.stop()
