"""Run the real app under daphne, as a separate process, against the test database.

Used by the multi-process Redis test and the browser tests: what they exercise is the
same `hospital.asgi:application` that `make run` serves.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database the test run is using, for a child process."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def reachable_redis_url() -> str | None:
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


def child_env() -> dict:
    """The environment for a child process of the app on the test run's database: the
    real settings, a test key, no Redis and no DEBUG unless the caller adds them."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DEBUG"}}
    env.update(
        DJANGO_SETTINGS_MODULE="hospital.settings",
        SECRET_KEY="test-only-daphne-key",
        DATABASE_URL=database_url(),
    )
    return env


class DaphneServer:
    def __init__(
        self,
        *,
        redis_url: str = "",
        prefix: str = "",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ):
        self.port = port or free_port()
        self.redis_url = redis_url
        self.prefix = prefix
        # Settings for this server only, e.g. {"SMS_BACKEND": "outbox", "OUTBOX_DIR": ...}.
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen | None = None
        self.log = ROOT / ".pytest_cache" / f"daphne-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def env(self) -> dict:
        env = child_env()
        env.update(
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DB_POOL_MAX="4",
            LOG_LEVEL="WARNING",
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
            env["CHANNEL_PREFIX"] = self.prefix
        env.update({key: str(value) for key, value in self.extra_env.items()})
        return env

    def start(self) -> "DaphneServer":
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
             "hospital.asgi:application"],
            cwd=ROOT, env=self.env(), stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"daphne did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def set_server_password(user, raw: str) -> None:
    """Give `user` a password the server process can check: the test settings hash with
    MD5 for speed, which the real settings (Argon2, PBKDF2) do not accept."""
    from django.contrib.auth.hashers import make_password

    user.password = make_password(raw, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])


def unique_prefix() -> str:
    return f"opdq-test-{uuid.uuid4().hex[:8]}"
