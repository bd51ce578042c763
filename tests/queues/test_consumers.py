"""Live sockets through the real ASGI application (origin check, auth, routing)."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from hospital.asgi import application
from queues import services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# A page of the site itself, as a browser sends it: the Origin matches the Host.
ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")


def socket(path: str, *headers) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[ORIGIN, HOST, *headers])


async def receive(communicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=3))


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken=abc"
    return (b"cookie", cookie.encode())


issue = database_sync_to_async(services.issue_token)
call_next = database_sync_to_async(services.call_next)


async def test_a_display_gets_the_full_state_on_connect(orth, dr_rao):
    await issue(orth, "Asha Rao")
    await issue(orth, "Bala Iyer")
    communicator = socket("/ws/departments/orth/")
    connected, _ = await communicator.connect()
    assert connected
    state = await receive(communicator)
    assert state["type"] == "state"
    assert state["department"]["code"] == "ORTH"
    assert state["queue"] == ["ORTH-001", "ORTH-002"]
    assert state["waiting_count"] == 2
    assert state["version"] == 2
    await communicator.disconnect()


async def test_a_display_is_pushed_each_change_with_a_rising_version(orth, dr_rao):
    communicator = socket("/ws/departments/orth/")
    await communicator.connect()
    first = await receive(communicator)

    await issue(orth, "Asha Rao")
    issued = await receive(communicator)
    assert issued["queue"] == ["ORTH-001"]
    assert issued["version"] == first["version"] + 1

    await call_next(dr_rao)
    called = await receive(communicator)
    assert called["version"] == issued["version"] + 1
    assert called["queue"] == []
    assert called["serving"] == [
        {
            "token": "ORTH-001",
            "room": "4",
            "place": "Room 4",
            "doctor": "Dr. Rao",
            "status": "called",
            "initials": "A. R.",
            "called_at": called["serving"][0]["called_at"],
            "announced_at": None,
            "category": "",
        }
    ]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_display_only_hears_its_own_department(orth, card, dr_rao):
    communicator = socket("/ws/departments/card/")
    await communicator.connect()
    await receive(communicator)
    await issue(orth, "Asha Rao")
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_public_messages_never_carry_a_mobile_or_a_full_name(orth, dr_rao):
    communicator = socket("/ws/departments/orth/")
    await communicator.connect()
    texts = [await communicator.receive_from(timeout=3)]
    await issue(orth, "Asha Ramachandran Kumar", mobile="98123 45678")
    texts.append(await communicator.receive_from(timeout=3))
    await call_next(dr_rao)
    texts.append(await communicator.receive_from(timeout=3))
    await communicator.send_to(text_data=json.dumps({"type": "state"}))
    texts.append(await communicator.receive_from(timeout=3))
    for text in texts:
        assert "9812345678" not in text and "98123" not in text
        assert "Asha" not in text and "Ramachandran" not in text and "Kumar" not in text
    assert "A. R. K." in texts[2]
    await communicator.disconnect()


async def test_a_display_can_ask_for_the_state_again_but_nothing_else(orth):
    communicator = socket("/ws/departments/orth/")
    await communicator.connect()
    await receive(communicator)
    for junk in ["hello", "{}", json.dumps({"type": "call_next"}), json.dumps([1, 2])]:
        await communicator.send_to(text_data=junk)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.send_to(text_data=json.dumps({"type": "state"}))
    assert (await receive(communicator))["type"] == "state"
    # Asking again at once is throttled: no database work on demand.
    await communicator.send_to(text_data=json.dumps({"type": "state"}))
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_ping_with_the_current_version_gets_a_live_pong_through_the_layer(orth):
    communicator = socket("/ws/departments/orth/")
    await communicator.connect()
    state = await receive(communicator)
    await communicator.send_to(text_data=json.dumps({"type": "ping", "version": state["version"]}))
    assert await receive(communicator) == {"type": "pong", "live": True}
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_ping_just_after_a_push_is_answered_live_without_its_own_round_trip(
    orth, monkeypatch
):
    from queues import consumers

    communicator = socket("/ws/departments/orth/")
    await communicator.connect()
    await receive(communicator)
    await issue(orth, "Asha Rao")
    pushed = await receive(communicator)  # the layer just brought this process a message
    # An echo of the ping's own would now be lost: the answer cannot come from it.
    echoes = []

    async def lost(self, event):
        echoes.append(event)

    monkeypatch.setattr(consumers.LiveConsumer, "layer_echo", lost)
    await communicator.send_to(text_data=json.dumps({"type": "ping", "version": pushed["version"]}))
    assert await receive(communicator) == {"type": "pong", "live": True}

    # With nothing heard for a while, the ping goes through the layer again.
    monkeypatch.setattr(consumers, "LAYER_HEARD_SECONDS", 0)
    await asyncio.sleep(1.05)  # past the one-a-second limit on pings
    await communicator.send_to(text_data=json.dumps({"type": "ping", "version": pushed["version"]}))
    assert await communicator.receive_nothing(timeout=0.3)  # its echo went to the stand-in
    assert len(echoes) == 1
    await communicator.disconnect()


async def test_a_ping_from_a_screen_that_missed_a_change_brings_the_state_again(orth, monkeypatch):
    from queues import broadcast, consumers

    communicator = socket("/ws/departments/orth/")
    await communicator.connect()
    shown = await receive(communicator)
    # The push is lost on the way (a Redis outage): the screen still shows ORTH's old state.
    monkeypatch.setattr(broadcast, "publish_department", lambda department_id: None)
    await issue(orth, "Asha Rao")
    assert await communicator.receive_nothing(timeout=0.3)

    monkeypatch.setattr(consumers, "VERSION_TTL", 0)  # this process's idea of it is old
    await communicator.send_to(text_data=json.dumps({"type": "ping", "version": shown["version"]}))
    replies = [await receive(communicator), await receive(communicator)]
    state = next(r for r in replies if r["type"] == "state")
    assert state["queue"] == ["ORTH-001"]
    assert state["version"] == shown["version"] + 1
    assert {"type": "pong", "live": True} in replies
    await communicator.disconnect()


async def test_pings_faster_than_one_a_second_are_ignored(orth):
    communicator = socket("/ws/departments/orth/")
    await communicator.connect()
    state = await receive(communicator)
    ping = json.dumps({"type": "ping", "version": state["version"]})
    await communicator.send_to(text_data=ping)
    await receive(communicator)
    await communicator.send_to(text_data=ping)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_an_unknown_or_inactive_department_is_refused(orth):
    communicator = socket("/ws/departments/nope/")
    connected, _ = await communicator.connect()
    assert not connected

    orth.is_active = False
    await database_sync_to_async(orth.save)()
    communicator = socket("/ws/departments/orth/")
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_foreign_origin_is_refused(orth):
    communicator = WebsocketCommunicator(
        application, "/ws/departments/orth/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_the_doctor_socket_refuses_anonymous_and_non_doctors(admin_user):
    communicator = socket("/ws/doctor/")
    connected, _ = await communicator.connect()
    assert not connected

    cookie = await database_sync_to_async(session_cookie)(admin_user)
    communicator = socket("/ws/doctor/", cookie)
    connected, _ = await communicator.connect()
    assert not connected


async def open_terminal(user, path: str = "/ws/doctor/") -> tuple[WebsocketCommunicator, dict]:
    """A signed-in staff member's terminal socket, and the panel it opens with."""
    cookie = await database_sync_to_async(session_cookie)(user)
    communicator = socket(path, cookie)
    connected, _ = await communicator.connect()
    assert connected
    return communicator, await receive(communicator)


def fetch_panel(user, name: str = "doctor_panel") -> dict:
    """The panel a terminal page's script fetches, as `user`."""
    client = Client()
    client.force_login(user)
    return client.get(reverse(name)).json()


async def test_a_doctor_s_socket_announces_each_change_and_the_panel_shows_it(orth, dr_rao):
    communicator, first = await open_terminal(dr_rao.user)
    assert first["type"] == "doctor"
    panel = await database_sync_to_async(fetch_panel)(dr_rao.user)
    assert panel["waiting"] == [] and panel["version"] == first["version"]

    await issue(orth, "Asha Rao")
    pushed = await receive(communicator)
    # The socket only says the version and the panel's key: the page fetches its panel
    # from the HTTP servers.
    assert pushed == {"type": "doctor", "version": first["version"] + 1, "key": pushed["key"]}
    assert pushed["key"] != first["key"]
    panel = await database_sync_to_async(fetch_panel)(dr_rao.user)
    assert panel["waiting"] == ["ORTH-001"] and panel["version"] == pushed["version"]
    assert panel["key"] == pushed["key"]
    await communicator.disconnect()


async def test_another_doctor_s_consultation_is_announced_with_this_panel_s_key_unchanged(
    orth, dr_rao, dr_iyer
):
    token = await issue(orth, "Asha Rao")
    communicator, first = await open_terminal(dr_rao.user)
    await call_next(dr_iyer)
    called = await receive(communicator)
    assert called["key"] != first["key"]  # off the waiting list: Rao's panel changed
    await database_sync_to_async(services.start_consultation)(dr_iyer, token)
    started = await receive(communicator)
    # Only Iyer's panel changed: Rao's page takes the new version without a fetch.
    assert started["version"] == called["version"] + 1 and started["key"] == called["key"]
    await communicator.disconnect()


async def test_a_terminal_behind_the_department_is_told_the_version_when_it_pings(orth, dr_rao):
    communicator, first = await open_terminal(dr_rao.user)
    await issue(orth, "Asha Rao")
    await receive(communicator)
    # A page that missed that push pings with the version it shows.
    ping = {"type": "ping", "version": first["version"]}
    await communicator.send_to(text_data=json.dumps(ping))
    told = await receive(communicator)
    assert told == {"type": "doctor", "version": first["version"] + 1, "key": told["key"]}
    assert told["key"] != first["key"]
    assert (await receive(communicator))["type"] == "pong"
    await communicator.disconnect()


async def test_a_burst_of_connects_computes_the_state_once_and_later_ones_reuse_the_push(
    orth, dr_rao, monkeypatch
):
    from queues import consumers

    consumers._states.clear()
    computed = []
    real_public_state = consumers.public_state

    def counting_public_state(department):
        computed.append(department.pk)
        return real_public_state(department)

    monkeypatch.setattr(consumers, "public_state", counting_public_state)
    await issue(orth, "Asha Rao")
    displays = [socket("/ws/departments/orth/") for _ in range(5)]
    for display in displays:
        await display.connect()
        assert (await receive(display))["queue"] == ["ORTH-001"]
    assert len(computed) == 1

    await issue(orth, "Bala Iyer")  # a new version: the next connect sees it
    for display in displays:
        await receive(display)  # the broadcast itself
    late = socket("/ws/departments/orth/")
    await late.connect()
    assert (await receive(late))["queue"] == ["ORTH-001", "ORTH-002"]
    # The late screen was sent the state this process had just pushed: nothing computed.
    assert len(computed) == 1
    for display in [*displays, late]:
        await display.disconnect()


def doctor_session(user) -> tuple[tuple[bytes, bytes], object]:
    """A signed-in session cookie for `user`, and the session itself to change."""
    client = Client()
    client.force_login(user)
    key = client.cookies["sessionid"].value
    from django.contrib.sessions.backends.db import SessionStore

    return (b"cookie", f"sessionid={key}; csrftoken=abc".encode()), SessionStore(key)


async def connects(cookie) -> bool:
    communicator = socket("/ws/doctor/", cookie)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


async def test_the_doctor_socket_needs_the_second_step_and_a_session_not_left_idle(dr_rao):
    import time

    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from hospital.middleware import LAST_SEEN

    cookie, session = await database_sync_to_async(doctor_session)(dr_rao.user)
    assert await connects(cookie)

    device = await database_sync_to_async(TOTPDevice.objects.create)(
        user=dr_rao.user, name="phone", confirmed=True
    )
    assert not await connects(cookie)  # a password alone no longer shows the panel

    def passed_second_step():
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    await database_sync_to_async(passed_second_step)()
    assert await connects(cookie)

    def left_idle():
        session[LAST_SEEN] = int(time.time()) - 31 * 60
        session.save()

    await database_sync_to_async(left_idle)()
    assert not await connects(cookie)


async def test_the_counter_socket_refuses_anonymous_doctors_and_admins(dr_rao, admin_user):
    communicator = socket("/ws/counter/")
    connected, _ = await communicator.connect()
    assert not connected
    for user in [dr_rao.user, admin_user]:
        cookie = await database_sync_to_async(session_cookie)(user)
        communicator = socket("/ws/counter/", cookie)
        connected, _ = await communicator.connect()
        assert not connected


async def test_counter_staff_see_their_queue_live_and_a_change_of_counter(
    lab, lab_tech, lab_counter, lab_counter_2
):
    from queues import terminal

    panel = database_sync_to_async(fetch_panel)
    communicator, first = await open_terminal(lab_tech.user, "/ws/counter/")
    assert first["type"] == "counter"
    shown = await panel(lab_tech.user, "counter_panel")
    assert shown["waiting"] == [] and shown["counter"] == "Counter 1"

    await issue(lab, "Asha Rao")
    pushed = await receive(communicator)
    assert pushed == {"type": "counter", "version": first["version"] + 1, "key": pushed["key"]}
    shown = await panel(lab_tech.user, "counter_panel")
    assert shown["waiting"] == ["LAB-001"] and shown["key"] == pushed["key"]

    # The staff member moves to Counter 2 (in another tab): the panel follows them.
    staff = await database_sync_to_async(terminal.load_counter_staff)(lab_tech.pk)
    await database_sync_to_async(terminal.choose_counter)(staff, lab_counter_2, actor=lab_tech.user)
    moved = await receive(communicator)
    assert moved["version"] == pushed["version"] + 1 and moved["key"] != pushed["key"]
    assert (await panel(lab_tech.user, "counter_panel"))["counter"] == "Counter 2"

    await call_next(lab_counter_2, actor=lab_tech.user)
    await receive(communicator)
    called = await panel(lab_tech.user, "counter_panel")
    assert called["current"] == "LAB-001" and called["waiting"] == []
    await communicator.disconnect()


async def test_the_counter_socket_refuses_a_session_left_idle(lab_tech):
    import time

    from hospital.middleware import LAST_SEEN

    cookie, session = await database_sync_to_async(doctor_session)(lab_tech.user)

    async def counter_connects() -> bool:
        communicator = socket("/ws/counter/", cookie)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert await counter_connects()

    def left_idle():
        session[LAST_SEEN] = int(time.time()) - 31 * 60
        session.save()

    await database_sync_to_async(left_idle)()
    assert not await counter_connects()
