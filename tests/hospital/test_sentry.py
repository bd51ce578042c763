"""Error reports to Sentry when SENTRY_DSN is set: a failed request reaches the ingest
endpoint with its exception, and no mobile number, code or cookie goes with it.

The endpoint is a real HTTP server in a thread, acting as Sentry's; the app runs in a
process of its own, configured only through the environment, as in production."""

import gzip
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.http import HttpResponse
from django.urls import path

from hospital.sentry import FILTERED, scrub_event, scrub_text
from tests.servers import ROOT, child_env

MOBILE = "+919812345678"
SPACED_MOBILE = "+91 98123 45678"
CODE = "482913"


def failing_view(request):
    mobile, code = MOBILE, CODE  # noqa: F841 (local variables Sentry would report)
    raise ValueError(f"Could not text {mobile} the code {code}")


def quiet_view(request):
    return HttpResponse("ok")


# The URLs of the child process's request (ROOT_URLCONF is pointed here).
urlpatterns = [path("boom/", failing_view), path("ok/", quiet_view)]


class IngestEndpoint(ThreadingHTTPServer):
    """Sentry's ingest endpoint as far as the SDK can tell: it takes envelopes."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), IngestHandler)
        self.envelopes: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server_address[1]}/1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class IngestHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/api/1/envelope/":
            self.server.envelopes.append(body.decode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "0"}')

    def log_message(self, *args):
        pass


def events(envelopes: list[str]) -> list[dict]:
    """The event items of the envelopes (header line, then item header / payload pairs)."""
    found = []
    for envelope in envelopes:
        lines = envelope.split("\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


# The child: the real settings (SENTRY_DSN from its environment), Django's WSGI handler as
# gunicorn calls it, and this module's URLs.
CHILD = f"""
import logging
from wsgiref.util import setup_testing_defaults

import django
django.setup()
import sentry_sdk
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings

def get(app, path, query=""):
    environ = {{}}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING=query,
                   HTTP_COOKIE="sessionid=secret-session-cookie")
    status = []
    b"".join(app(environ, lambda line, headers, exc_info=None: status.append(line)))
    return status[0]

with override_settings(ROOT_URLCONF="tests.hospital.test_sentry"):
    app = get_wsgi_application()
    assert get(app, "/boom/", "mobile=%2B919812345678").startswith("500"), "no error"
    assert get(app, "/ok/").startswith("200")
logging.getLogger("queues.notify").error("SMS to %s failed", "{SPACED_MOBILE}")
sentry_sdk.flush(timeout=10)
"""


def run_app_process(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_failed_request_is_reported_without_mobile_numbers_or_codes():
    with IngestEndpoint() as sentry:
        env = child_env()
        env.update(SENTRY_DSN=sentry.dsn, SENTRY_ENVIRONMENT="staging", SENTRY_RELEASE="opdq@16")
        result = run_app_process(env)
        assert result.returncode == 0, result.stderr[-3000:]
        deadline = time.monotonic() + 10
        while len(events(sentry.envelopes)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    raw = "\n".join(sentry.envelopes)
    reported = events(sentry.envelopes)

    crash = next(e for e in reported if "exception" in e)
    exception = crash["exception"]["values"][-1]
    assert exception["type"] == "ValueError"
    assert exception["value"] == f"Could not text {FILTERED} the code {FILTERED}"
    assert crash["environment"] == "staging" and crash["release"] == "opdq@16"
    assert crash["request"]["url"] == "http://127.0.0.1/boom/"
    assert crash["request"]["query_string"] == f"mobile={FILTERED}"
    # No personal data: no cookies, no user, no address.
    assert crash["request"]["headers"]["Cookie"] == FILTERED
    assert "user" not in crash or "ip_address" not in crash.get("user", {})

    logged = next(e for e in reported if e.get("logentry"))
    assert logged["logentry"]["message"] == "SMS to %s failed"

    # Nowhere in anything sent: not in the message, the local variables, the query string
    # or the logged message's parameters.
    for secret in (MOBILE, "9812345678", SPACED_MOBILE, "98123 45678", CODE, "secret-session"):
        assert secret not in raw
    assert "%2B919812345678" not in raw


def test_nothing_is_sent_without_a_dsn():
    with IngestEndpoint() as sentry:
        env = child_env()
        env.pop("SENTRY_DSN", None)
        result = run_app_process(env)
        assert result.returncode == 0, result.stderr[-3000:]
    assert sentry.envelopes == []


def test_the_scrubber_leaves_ids_and_times_and_filters_numbers_anywhere():
    event = {
        "event_id": "0123456789abcdef0123456789abcdef",
        "timestamp": "2026-11-18T10:00:00.123456Z",
        "message": "Reset link /accounts/reset/MQ/cz5-abc123/ sent to 098123 45678",
        "extra": {"mobile": 919812345678, "code": "123456", "port": 5432,
                  "key": "opdq_abcdEFGH1234"},
        "breadcrumbs": {"values": [{"message": "OTP 654321 for +91-98123-45678"}]},
        "tags": {"token": "ORTH-007", "year": "2026"},
    }  # fmt: skip
    scrubbed = scrub_event(event, {})
    assert scrubbed["event_id"] == event["event_id"]
    assert scrubbed["timestamp"] == event["timestamp"]
    assert scrubbed["message"] == f"Reset link /accounts/reset/{FILTERED}/ sent to {FILTERED}"
    assert scrubbed["extra"] == {"mobile": FILTERED, "code": FILTERED, "port": 5432,
                                 "key": FILTERED}  # fmt: skip
    assert scrubbed["breadcrumbs"]["values"][0]["message"] == f"OTP {FILTERED} for {FILTERED}"
    assert scrubbed["tags"] == {"token": "ORTH-007", "year": "2026"}
    assert scrub_text("UH0000042 at 10:15:00") == "UH0000042 at 10:15:00"
    assert scrub_text("?mobile=%2B91+98123%2045678&x=1") == f"?mobile={FILTERED}&x=1"
