"""queues.broadcast: the department's state goes out after commit, once, and a broken
channel layer never turns a queue change into a failed request."""

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction

from queues import services
from queues.broadcast import department_group
from queues.models import Token


@pytest.fixture
def listener(orth):
    """A channel subscribed to ORTH's group on the configured (in-memory) layer."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(department_group(orth.pk), channel)

    def messages():
        received = []
        while True:
            try:
                received.append(async_to_sync(_receive)(layer, channel))
            except TimeoutError:
                return received

    yield messages
    async_to_sync(layer.flush)()


async def _receive(layer, channel):
    async with asyncio.timeout(0.2):
        return await layer.receive(channel)


def test_the_state_is_published_only_after_commit(
    orth, listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        services.issue_token(orth, "Asha Rao")
        assert listener() == []
    assert len(callbacks) == 1

    callbacks[0]()
    [message] = listener()
    assert message["type"] == "queue.state"
    state = json.loads(message["text"])
    assert state["queue"] == ["ORTH-001"]
    assert message["version"] == state["version"] == 1


def test_nothing_is_published_for_a_rolled_back_change(orth, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                services.issue_token(orth, "Asha Rao")
                raise RuntimeError("rolled back")
    assert callbacks == []
    assert not Token.objects.exists()


def test_a_refused_change_publishes_nothing(orth, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(services.QueueError):
            services.issue_token(orth, "")
    assert callbacks == []


def test_a_dead_redis_is_logged_and_the_change_still_succeeds(
    orth, settings, caplog, django_capture_on_commit_callbacks
):
    # A real Redis client against a port where nothing listens.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    channel_layers.backends.clear()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            token = services.issue_token(orth, "Asha Rao")
    finally:
        channel_layers.backends.clear()
    assert Token.objects.get(pk=token.pk).number == 1
    assert "Could not publish the state of department" in caplog.text


@pytest.fixture
def server_loop():
    """An event loop running in its own thread, standing in for daphne's."""
    import threading

    from queues.broadcast import ServerLoop

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    ServerLoop.loop = loop
    yield loop
    ServerLoop.loop = None
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


@pytest.mark.django_db(transaction=True)
def test_a_rush_of_changes_is_coalesced_into_a_few_publishes_ending_with_the_latest(
    orth, server_loop
):
    layer = get_channel_layer()

    async def subscribe():
        channel = await layer.new_channel()
        await layer.group_add(department_group(orth.pk), channel)
        return channel

    channel = asyncio.run_coroutine_threadsafe(subscribe(), server_loop).result(5)

    # Hold the server's loop busy while twenty kiosks issue tokens: the publisher's
    # first send waits, and the other changes pile up behind it.
    server_loop.call_soon_threadsafe(time.sleep, 0.5)
    for i in range(20):
        services.issue_token(orth, f"Patient {i}")

    async def drain():
        messages = []
        while True:
            try:
                async with asyncio.timeout(2):
                    messages.append(await layer.receive(channel))
            except TimeoutError:
                return messages

    messages = asyncio.run_coroutine_threadsafe(drain(), server_loop).result(30)
    versions = [m["version"] for m in messages]
    assert versions == sorted(versions)
    assert versions[-1] == 20
    assert len(json.loads(messages[-1]["text"])["queue"]) == 20
    assert len(messages) <= 3
    # Each message names the one before it, so a screen can tell a coalesced jump in
    # versions from a lost message.
    states = [json.loads(m["text"]) for m in messages]
    for before, after in zip(states, states[1:], strict=False):
        assert after["since"] == before["version"]
    async_to_sync(layer.flush)()


def test_under_a_rush_publishing_takes_at_most_its_share_of_the_time(server_loop):
    """A round that used c seconds of CPU is followed by the next no sooner than
    c / PUBLISH_SHARE after it started (but never more than MAX_PUBLISH_DELAY later);
    everything marked meanwhile is folded into it. After a quiet spell a change goes out
    at once."""
    from queues.broadcast import MAX_PUBLISH_DELAY, PUBLISH_SHARE, Publisher

    rounds: list[tuple[float, int]] = []
    cost = 0.04  # CPU seconds per department published: one department's gap is 0.8 s
    assert cost / PUBLISH_SHARE < MAX_PUBLISH_DELAY < 2 * cost / PUBLISH_SHARE

    def publish(department_id):
        rounds.append((time.monotonic(), department_id))
        busy_until = time.thread_time() + cost
        while time.thread_time() < busy_until:
            pass

    def wait_for(count, timeout):
        deadline = time.monotonic() + timeout
        while len(rounds) < count and time.monotonic() < deadline:
            time.sleep(0.002)
        assert len(rounds) >= count

    publisher = Publisher(publish=publish)
    publisher.mark(1)
    wait_for(1, 5)
    for department_id in (1, 2, 1, 2):  # while round one runs
        publisher.mark(department_id)
    wait_for(3, 10)
    assert sorted(d for _, d in rounds[1:]) == [1, 2]  # four marks, one round
    assert rounds[1][0] - rounds[0][0] >= cost / PUBLISH_SHARE * 0.95

    # Round two cost 2 * cost: its share alone would hold round three back 1.6 s; the
    # cap lets it go after MAX_PUBLISH_DELAY.
    for department_id in (1, 2):
        publisher.mark(department_id)
    wait_for(5, 10)
    assert rounds[3][0] - rounds[1][0] >= MAX_PUBLISH_DELAY * 0.95
    assert rounds[3][0] - rounds[1][0] < 2 * cost / PUBLISH_SHARE

    # After as long a quiet spell as round three earned, no wait at all.
    time.sleep(rounds[3][0] + MAX_PUBLISH_DELAY + 0.2 - time.monotonic())
    marked = time.monotonic()
    publisher.mark(3)
    wait_for(6, 5)
    assert rounds[5][1] == 3
    assert rounds[5][0] - marked < cost / PUBLISH_SHARE / 2
