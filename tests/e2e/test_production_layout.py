"""The documented production layout, for real: nginx (deploy/nginx.conf as written, but
for its ports) in front of gunicorn for HTTP and two daphne processes for websockets,
sharing Redis and the test database (PostgreSQL in CI's second run)."""

import time

import httpx
import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model

from queues import services
from tests.conftest import require_in_ci
from tests.e2e.conftest import log_in
from tests.servers import (
    DaphneServer,
    GunicornServer,
    NginxProxy,
    nginx_path,
    reachable_redis_url,
    set_server_password,
    unique_prefix,
)

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def layout(transactional_db, tmp_path):
    if nginx_path() is None:
        require_in_ci("nginx", "install the Debian package `nginx-light` (/usr/sbin/nginx)")
    redis_url = reachable_redis_url()
    if redis_url is None:
        require_in_ci("Redis", "no server answered at REDIS_URL / 127.0.0.1:6379")
    shared = {"redis_url": redis_url, "prefix": unique_prefix()}
    # The app trusts X-Forwarded-For only from the proxy's own address.
    proxied = {"TRUSTED_PROXIES": "127.0.0.1"}
    with GunicornServer(workers=2, extra_env=proxied, **shared) as http:
        with DaphneServer(**shared) as ws1, DaphneServer(**shared) as ws2:
            proxy = NginxProxy(
                http_port=http.port, ws_ports=[ws1.port, ws2.port], workdir=tmp_path / "nginx"
            )
            with proxy:
                yield proxy


def test_call_next_through_nginx_reaches_a_display_connected_through_nginx(
    layout, new_page, orth, dr_rao
):
    services.issue_token(orth, "Asha Rao")
    services.issue_token(orth, "Bala Iyer")
    display = new_page(viewport={"width": 1920, "height": 1080})
    display.goto(f"{layout.url}/display/?departments=orth&sound=0&voice=0")
    display.wait_for_selector("#tv-status.live")
    assert display.locator(".tv-next-list li").all_inner_texts() == ["ORTH-001", "ORTH-002"]

    doctor = new_page()
    log_in(doctor, layout.url, "rao", "pw-rao")
    doctor.goto(f"{layout.url}/doctor/")
    doctor.get_by_role("button", name="Call next").click()

    display.wait_for_selector('.tv-serving li[data-token="ORTH-001"]', timeout=5000)
    assert "Room 4" in display.locator('.tv-serving li[data-token="ORTH-001"]').inner_text()
    assert display.locator(".tv-next-list li").all_inner_texts() == ["ORTH-002"]


def test_forged_forwarded_for_headers_through_nginx_do_not_dodge_the_lockout(layout, db):
    user = get_user_model().objects.create_user(username="desk")
    set_server_password(user, "pw-desk-right")
    with httpx.Client(base_url=layout.url) as client:
        client.get("/accounts/login/")
        for i in range(6):
            response = client.post(
                "/accounts/login/",
                data={
                    "username": "desk",
                    "password": f"guess-{i}",
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
                # A new made-up address on every guess, as an attacker would send.
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            assert response.status_code in (200, 429)
        right = client.post(
            "/accounts/login/",
            data={
                "username": "desk",
                "password": "pw-desk-right",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
            headers={"X-Forwarded-For": "198.51.100.200"},
        )
    assert right.status_code == 429
    # Every failure is put down to the address nginx saw, never to a forged one.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_a_search_by_mobile_through_nginx_leaves_no_number_in_its_log(layout, receptionist):
    set_server_password(receptionist, "pw-desk-right-12")
    with httpx.Client(base_url=layout.url) as client:
        client.get("/accounts/login/")
        client.post(
            "/accounts/login/",
            data={"username": receptionist.username, "password": "pw-desk-right-12",
                  "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )  # fmt: skip
        search = client.get("/reception/", params={"q": "9876543001"})
    assert search.status_code == 200
    # nginx writes the log line after the response has gone: wait for it.
    deadline = time.monotonic() + 5
    logged = layout.access_log.read_text()
    while '"GET /reception/"' not in logged and time.monotonic() < deadline:
        time.sleep(0.05)
        logged = layout.access_log.read_text()
    assert '"GET /reception/"' in logged
    assert "9876543001" not in logged
