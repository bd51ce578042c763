"""The gate in front of the websockets (hospital/sockets.py, queues/routing.py): the
Origin must be this site's own scheme, host and port; one client address holds at most
WS_MAX_PER_CLIENT sockets; an unknown path is refused without an error in the log."""

import logging

import pytest
from channels.testing import WebsocketCommunicator

from hospital.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

PROXY = "127.0.0.1"


def socket(path="/ws/departments/orth/", *, origin="http://localhost", host="localhost",
           client=("203.0.113.5", 50000), scheme="ws", headers=()):  # fmt: skip
    sent = [(b"origin", origin.encode()), *headers]
    if host is not None:
        sent.append((b"host", host.encode()))
    communicator = WebsocketCommunicator(application, path, headers=sent)
    communicator.scope.update(client=list(client), scheme=scheme)
    return communicator


async def opens(communicator) -> bool:
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected


# --- Origin ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin, host",
    [
        ("http://localhost", "localhost"),
        ("http://localhost:8000", "localhost:8000"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
    ],
)
async def test_a_page_of_this_very_site_opens_a_socket(orth, origin, host):
    assert await opens(socket(origin=origin, host=host))


@pytest.mark.parametrize(
    "origin, host",
    [
        ("http://localhost:9999", "localhost:8000"),  # another port of an allowed host
        ("http://localhost:9999", "localhost"),
        ("https://localhost", "localhost"),  # another scheme
        ("http://127.0.0.1:8000", "localhost:8000"),  # another host, though allowed
        ("http://evil.example", "evil.example"),  # a host we do not serve (DNS rebinding)
        ("http://evil.example", "localhost"),
        ("null", "localhost"),
        ("", "localhost"),
        ("http://localhost", None),  # no Host header: nothing to compare with
    ],
)
async def test_any_other_origin_is_refused(orth, origin, host):
    assert not await opens(socket(origin=origin, host=host))


async def test_a_doctors_socket_is_refused_to_a_page_on_another_port(orth, dr_rao):
    from channels.db import database_sync_to_async

    from tests.queues.test_consumers import session_cookie

    cookie = await database_sync_to_async(session_cookie)(dr_rao.user)
    assert await opens(socket("/ws/doctor/", headers=[cookie]))
    assert not await opens(socket("/ws/doctor/", origin="http://localhost:9999", headers=[cookie]))


async def test_behind_a_tls_proxy_the_origin_is_https(orth, settings):
    settings.ALLOWED_HOSTS = ["opd.example.org"]
    settings.TRUSTED_PROXIES = [PROXY]
    proto = (b"x-forwarded-proto", b"https")
    via_proxy = {"host": "opd.example.org", "client": (PROXY, 40000), "headers": [proto]}
    assert await opens(socket(origin="https://opd.example.org", **via_proxy))
    assert not await opens(socket(origin="http://opd.example.org", **via_proxy))
    # Anyone else's X-Forwarded-Proto is not believed.
    direct = {**via_proxy, "client": ("203.0.113.5", 40000)}
    assert not await opens(socket(origin="https://opd.example.org", **direct))
    # A wss:// socket (TLS at daphne itself) is https.
    assert await opens(socket(origin="https://opd.example.org", host="opd.example.org",
                              scheme="wss"))  # fmt: skip


async def test_an_origin_in_csrf_trusted_origins_is_accepted(settings, orth):
    settings.CSRF_TRUSTED_ORIGINS = ["https://opd.example.org"]
    assert await opens(socket(origin="https://opd.example.org", host="localhost"))
    assert not await opens(socket(origin="https://other.example.org", host="localhost"))


# --- Sockets per client ---------------------------------------------------------------


async def test_a_client_may_hold_only_so_many_sockets(orth, settings):
    settings.WS_MAX_PER_CLIENT = 2
    first, second = socket(), socket()
    assert (await first.connect())[0]
    assert (await second.connect())[0]
    assert not (await socket().connect())[0]
    # Another address is not affected; a closed socket frees its place.
    assert await opens(socket(client=("198.51.100.7", 1)))
    await first.disconnect()
    third = socket()
    assert (await third.connect())[0]
    await second.disconnect()
    await third.disconnect()


async def test_behind_the_proxy_the_limit_is_per_patient_not_per_proxy(orth, settings):
    settings.WS_MAX_PER_CLIENT = 1
    settings.TRUSTED_PROXIES = [PROXY]

    def via_proxy(address):
        return socket(client=(PROXY, 1), headers=[(b"x-forwarded-for", address.encode())])

    held = via_proxy("203.0.113.5")
    assert (await held.connect())[0]
    assert not (await via_proxy("203.0.113.5").connect())[0]
    assert await opens(via_proxy("198.51.100.7"))
    await held.disconnect()


async def test_a_limit_of_zero_means_no_limit(orth, settings):
    settings.WS_MAX_PER_CLIENT = 0
    held = [socket() for _ in range(5)]
    for communicator in held:
        assert (await communicator.connect())[0]
    for communicator in held:
        await communicator.disconnect()


# --- Routes ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/", "/anything", "/ws/departments/"])
async def test_an_unrouted_path_is_refused_without_an_error_in_the_log(path, caplog):
    caplog.set_level(logging.INFO)
    connected, code = await socket(path).connect()
    assert not connected
    assert code == 1000 or code is None or code == 403
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
