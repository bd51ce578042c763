"""The real worker process (`manage.py qcluster`) sends webhook deliveries: woken through
its queue after the commit, as in production. On the real clock: the worker runs on it."""

import time

from django.conf import settings
from django_q.conf import Conf

from queues import services
from tests.servers import WorkerProcess
from webhooks.models import Event, WebhookDelivery


def test_the_worker_process_sends_a_committed_delivery_signed(
    transactional_db, orth, receiver, endpoint_for, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # the task goes to the database queue
    server = receiver()
    endpoint_for(server, [Event.TOKEN_ISSUED])
    services.issue_token(orth, "Asha Kumar")  # commits, and queues the wake-up
    assert server.requests == []
    # The same key as this test process, which signed the queued task.
    with WorkerProcess(extra_env={"SECRET_KEY": settings.SECRET_KEY}) as worker:
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            assert worker.process.poll() is None, worker.log.read_text()[-3000:]
            time.sleep(0.2)
        assert server.requests, worker.log.read_text()[-3000:]
        for _ in range(50):  # the worker records the answer just after it comes
            if WebhookDelivery.objects.get().status == "delivered":
                break
            time.sleep(0.1)
    (request,) = server.requests
    assert request.verified["type"] == "token.issued"
    assert WebhookDelivery.objects.get().status == "delivered"
