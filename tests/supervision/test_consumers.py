"""`/ws/supervisor/` through the real ASGI application: admins and supervisors only,
and a pushed board on every change."""

import json
import time

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group

from hospital.models import Roles
from queues import services as queue_services
from supervision.models import Threshold
from tests.queues.test_consumers import doctor_session, session_cookie, socket
from tests.supervision.conftest import make_supervisor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

issue = database_sync_to_async(queue_services.issue_token)


async def board(communicator) -> dict:
    message = json.loads(await communicator.receive_from(timeout=5))
    assert message["type"] == "supervisor"
    return message


async def connects(*headers) -> bool:
    communicator = socket("/ws/supervisor/", *headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


async def test_the_board_socket_refuses_anyone_but_admins_and_supervisors(
    dr_rao, receptionist, plain_user, lab_tech, admin_user
):
    assert not await connects()
    for user in [dr_rao.user, receptionist, plain_user, lab_tech.user]:
        cookie = await database_sync_to_async(session_cookie)(user)
        assert not await connects(cookie), user

    def group_admin():
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_user(username="hadmin")
        user.groups.add(Group.objects.get_or_create(name=Roles.HOSPITAL_ADMIN)[0])
        return user

    supervisor = await database_sync_to_async(make_supervisor)()
    for user in [admin_user, supervisor, await database_sync_to_async(group_admin)()]:
        cookie = await database_sync_to_async(session_cookie)(user)
        assert await connects(cookie), user


async def test_the_board_socket_refuses_another_sites_page(admin_user):
    from channels.testing import WebsocketCommunicator

    from hospital.asgi import application

    cookie = await database_sync_to_async(session_cookie)(admin_user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/supervisor/",
        headers=[(b"origin", b"http://evil.example"), (b"host", b"localhost"), cookie],
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_the_board_socket_refuses_a_session_left_idle(orth):
    from hospital.middleware import LAST_SEEN

    supervisor = await database_sync_to_async(make_supervisor)()
    cookie, session = await database_sync_to_async(doctor_session)(supervisor)
    assert await connects(cookie)

    def left_idle():
        session[LAST_SEEN] = int(time.time()) - 31 * 60
        session.save()

    await database_sync_to_async(left_idle)()
    assert not await connects(cookie)


async def test_a_department_crossing_its_threshold_turns_its_tile_red_live(orth, card, settings):
    settings.DUTY_MANAGER_MOBILE = settings.DUTY_MANAGER_EMAIL = ""
    await database_sync_to_async(Threshold.objects.create)(department=orth, max_waiting=1)
    supervisor = await database_sync_to_async(make_supervisor)()
    cookie = await database_sync_to_async(session_cookie)(supervisor)
    communicator = socket("/ws/supervisor/", cookie)
    connected, _ = await communicator.connect()
    assert connected
    first = await board(communicator)
    assert "Orthopedic Surgery" in first["html"] and "Cardiology" in first["html"]
    assert "dept-tile-alert" not in first["html"]
    assert 'value="abc"' not in first["html"]  # no alert yet, no form

    await issue(orth, "Asha Rao")
    pushed = await board(communicator)
    assert "dept-tile-alert" not in pushed["html"]

    await issue(orth, "Bala Iyer")
    # The next redraw is held back to the end of the board's interval, then sent.
    red = await board(communicator)
    while "dept-tile-alert" not in red["html"]:
        red = await board(communicator)
    assert "ALERT</strong>: 2 waiting (more than 1)" in red["html"]
    # The alert is listed with an Acknowledge form carrying the page's CSRF cookie.
    assert "/acknowledge/" in red["html"] and 'value="abc"' in red["html"]
    assert "Asha" not in red["html"] and "Bala" not in red["html"]
    await communicator.disconnect()


async def test_a_burst_of_changes_is_one_redraw_per_interval(orth):
    supervisor = await database_sync_to_async(make_supervisor)()
    cookie = await database_sync_to_async(session_cookie)(supervisor)
    communicator = socket("/ws/supervisor/", cookie)
    await communicator.connect()
    await board(communicator)
    for i in range(5):
        await issue(orth, f"Patient {i}")
    await board(communicator)  # the held-back redraw after the interval
    assert await communicator.receive_nothing(timeout=1.3)
    await communicator.disconnect()


async def test_a_ping_redraws_the_board_and_is_answered(orth):
    supervisor = await database_sync_to_async(make_supervisor)()
    cookie = await database_sync_to_async(session_cookie)(supervisor)
    communicator = socket("/ws/supervisor/", cookie)
    await communicator.connect()
    await board(communicator)
    await communicator.send_to(text_data=json.dumps({"type": "ping"}))
    await board(communicator)
    assert json.loads(await communicator.receive_from(timeout=3)) == {"type": "pong", "live": True}
    await communicator.send_to(text_data="junk")
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
