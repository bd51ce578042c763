"""queues.broadcast: the department's state goes out after commit, once, and a broken
channel layer never turns a queue change into a failed request."""

import asyncio
import json

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


def test_changes_committed_while_a_state_is_being_sent_are_folded_into_one_more(orth, monkeypatch):
    """Two request threads of one process: while the first sends the department's state,
    the second commits three changes. They cost one more round, not three, and the last
    round carries the latest state."""
    import threading

    from queues import broadcast

    sent, first_round_started, release = [], threading.Event(), threading.Event()

    def slow_publish(department_id):
        sent.append(department_id)
        if len(sent) == 1:
            first_round_started.set()
            release.wait(5)

    monkeypatch.setattr(broadcast, "publish_department", slow_publish)
    first = threading.Thread(target=broadcast.publish_soon, args=(orth.pk,))
    first.start()
    assert first_round_started.wait(5)
    for _ in range(3):
        broadcast.publish_soon(orth.pk)  # returns at once: folded into the running one
    assert sent == [orth.pk]
    release.set()
    first.join(5)
    assert sent == [orth.pk, orth.pk]
    broadcast.publish_soon(orth.pk)  # a quiet department again: published at once
    assert sent == [orth.pk] * 3
