"""A real HTTP receiver for webhook tests, and endpoints that point at it.

The receiver is a plain http.server on 127.0.0.1 in a thread. It checks every request's
signature as an integrator would, with the `standardwebhooks` library's
Webhook(secret).verify(body, headers), and answers each request with the next status of
its script (the last one repeats)."""

import http.server
import json
import threading
import time
from dataclasses import dataclass, field

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

# The reception desk's personas, for the appointment events.
from tests.appointments.conftest import desk, outbox, rao_morning, run_on_commit  # noqa: F401
from webhooks.models import Event, WebhookEndpoint


@dataclass
class Received:
    path: str
    headers: dict
    body: str
    # The payload as Webhook.verify returned it, or None when the signature was refused.
    verified: dict | None
    refusal: str = ""

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    statuses: list[int]
    delay: float = 0.0
    location: str = ""
    secret: str = ""
    requests: list[Received] = field(default_factory=list)

    def start(self) -> "Receiver":
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    verified, refusal = Webhook(receiver.secret).verify(body, headers), ""
                except WebhookVerificationError as exc:
                    verified, refusal = None, str(exc)
                receiver.requests.append(Received(self.path, headers, body, verified, refusal))
                if receiver.delay:
                    time.sleep(receiver.delay)
                index = min(len(receiver.requests), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if 200 <= status < 300 else b"not now")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/opd"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """receiver(statuses=[200], delay=0, location="") -> a running Receiver."""
    started = []

    def start(statuses=(200,), *, delay=0.0, location=""):
        server = Receiver(list(statuses), delay=delay, location=location).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def endpoint_for(db):
    """endpoint_for(receiver, events=all, personal_data=False) -> a WebhookEndpoint whose
    secret the receiver verifies with."""

    def make(server, events=None, *, personal_data=False, name=None, **extra):
        endpoint = WebhookEndpoint.objects.create(
            name=name or f"Receiver {WebhookEndpoint.objects.count() + 1}",
            url=server.url,
            events=list(events or Event.values),
            personal_data=personal_data,
            **extra,
        )
        server.secret = endpoint.secret
        return endpoint

    return make
