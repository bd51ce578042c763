"""Two daphne processes sharing Redis: the deployment a hospital runs behind a proxy.

A doctor presses Call next through one process; a display connected to the other
receives the change. Needs a Redis server (REDIS_URL / TEST_REDIS_URL, or the default
127.0.0.1:6379); skipped without one on a laptop, required in CI.
"""

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from hospital.clock import local_today
from queues import services
from tests.conftest import require_in_ci
from tests.servers import DaphneServer, reachable_redis_url, set_server_password, unique_prefix

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_url():
    url = reachable_redis_url()
    if url is None:
        require_in_ci("Redis", "no server answered at REDIS_URL / 127.0.0.1:6379")
    return url


@pytest.fixture
def two_servers(redis_url, dr_rao):
    set_server_password(dr_rao.user, "pw-rao")
    prefix = unique_prefix()
    with DaphneServer(redis_url=redis_url, prefix=prefix) as a:
        with DaphneServer(redis_url=redis_url, prefix=prefix) as b:
            yield a, b


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> None:
    await client.get("/accounts/login/")
    response = await client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:500]


async def next_message(ws, timeout: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def test_a_doctor_on_one_server_updates_a_display_on_another(orth, dr_rao, two_servers):
    a, b = two_servers
    services.issue_token(orth, "Asha Rao")
    services.issue_token(orth, "Bala Iyer")

    async def scenario():
        async with connect(b.ws_url("/ws/departments/orth/"), origin=b.url) as display:
            state = await next_message(display)
            assert state["queue"] == ["ORTH-001", "ORTH-002"]

            async with httpx.AsyncClient(base_url=a.url) as doctor:
                await log_in(doctor, "rao", "pw-rao")
                response = await doctor.post(
                    "/doctor/call-next/",
                    data={"csrfmiddlewaretoken": doctor.cookies["csrftoken"]},
                )
                assert response.status_code == 302

            pushed = await next_message(display)
            assert pushed["version"] == state["version"] + 1
            assert [s["token"] for s in pushed["serving"]] == ["ORTH-001"]
            assert pushed["serving"][0]["room"] == "4"
            assert pushed["queue"] == ["ORTH-002"]

    asyncio.run(scenario())


def test_a_kiosk_token_on_one_server_reaches_the_doctor_on_another(orth, dr_rao, two_servers):
    a, b = two_servers

    async def scenario():
        async with httpx.AsyncClient(base_url=b.url) as doctor_http:
            await log_in(doctor_http, "rao", "pw-rao")
            doctor_cookies = dict(doctor_http.cookies.items())
            cookies = "; ".join(f"{k}={v}" for k, v in doctor_cookies.items())
        async with connect(
            b.ws_url("/ws/doctor/"), origin=b.url, additional_headers={"Cookie": cookies}
        ) as terminal:
            first = await next_message(terminal)
            assert first["type"] == "doctor"

            async with httpx.AsyncClient(base_url=a.url) as kiosk:
                await kiosk.get("/")
                response = await kiosk.post(
                    "/",
                    data={
                        "department": "orth",
                        "patient_name": "Chitra Menon",
                        "mobile": "",
                        "service_date": local_today().isoformat(),
                        "csrfmiddlewaretoken": kiosk.cookies["csrftoken"],
                    },
                )
                assert response.status_code == 302, response.text[:500]

            pushed = await next_message(terminal)
            assert pushed["version"] == first["version"] + 1
            # The page then fetches its panel, from whichever server the proxy picks.
            async with httpx.AsyncClient(base_url=a.url, cookies=doctor_cookies) as page:
                panel = (await page.get("/doctor/panel/")).json()
            assert panel["waiting"] == ["ORTH-001"] and panel["version"] == pushed["version"]

    asyncio.run(scenario())
