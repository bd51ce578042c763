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


@pytest.mark.django_db(transaction=True)
def test_a_dead_redis_is_logged_and_the_change_still_succeeds(orth, settings, caplog):
    # A real Redis client against a port where nothing listens.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    channel_layers.backends.clear()
    try:
        token = services.issue_token(orth, "Asha Rao")
        assert Token.objects.get(pk=token.pk).number == 1
        # The publisher thread finds Redis down, and says so.
        deadline = time.monotonic() + 10
        while "Could not publish" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        channel_layers.backends.clear()
    assert "Could not publish the state of department" in caplog.text


def test_with_redis_changes_are_sent_off_the_request_and_a_rush_is_folded(orth, monkeypatch):
    """The Redis path: requests only mark the department; the process's publisher thread
    sends. A few changes in a row go out one by one at once; a rush is folded into at
    most RUSH_RATE messages a second, the last one after the last change."""
    import threading

    from queues import broadcast

    sent, lock = [], threading.Lock()

    def record(department_id, send=None):
        with lock:
            sent.append(time.monotonic())

    def wait_for(count):
        deadline = time.monotonic() + 5
        while len(sent) < count and time.monotonic() < deadline:
            time.sleep(0.005)

    monkeypatch.setattr(broadcast, "publish_department", record)
    publisher = broadcast.Publisher()
    for i in range(broadcast.BURST):  # a call, a skip, a call: each at once
        publisher.mark(orth.pk)
        wait_for(i + 1)
    assert len(sent) == broadcast.BURST
    assert sent[-1] - sent[0] < 0.5

    # A rush: 100 changes in a second are folded into about RUSH_RATE messages.
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        publisher.mark(orth.pk)
        time.sleep(0.01)
    time.sleep(2 / broadcast.RUSH_RATE)
    rush = [t for t in sent if t >= started]
    assert 2 <= len(rush) <= broadcast.RUSH_RATE + 2
    assert rush[-1] >= started + 1.0  # the last change is not left unsent
