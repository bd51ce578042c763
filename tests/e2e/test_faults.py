"""Faults a hospital's servers survive (issue 17), on the production layout: gunicorn for
pages, daphne for the screens' sockets, nginx in front (deploy/nginx.conf) where the
screens go through the proxy, and real Chromium TVs.

- Redis stopped in the middle of a burst of calls: every call succeeds and is recorded,
  /readyz names the channel layer as down; Redis back, every TV is right again within
  10 s without a reload. (tests/e2e/test_display_through_a_redis_outage.py shows one TV's
  light turning amber and back; tests/queues/test_redis_outage.py the socket protocol.)
- One of two daphne processes killed: its TVs reconnect through nginx to the other one
  and show the right state within 10 s.
- PostgreSQL (a cluster of the test's own) restarted under a load of kiosks: the failed
  requests get the app's own error page, never a traceback; gunicorn and daphne recover
  without a restart; every token is whole (its ISSUED event, its visit and stop, numbers
  gapless). PostgreSQL pass only.
- A server process killed in the middle of confirming a booking, held deterministically
  by a row lock of the test's: killed before its commit, the slot is still held and then
  expires; killed while committing, it is booked with its event and its confirmation
  message. Never booked without its history, never held for ever. PostgreSQL pass only.
- The worker killed mid-send is tested with the SMS gateway in
  tests/appointments/test_sms_gateway.py (test_a_worker_killed_while_the_gateway_hangs_
  loses_no_message, test_a_worker_killed_after_the_gateways_answer_sends_again_with_the_
  same_id): no message is lost, and a repeat carries the same message id.
"""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from appointments import booking, slots
from appointments.models import Appointment, AppointmentEvent, DoctorSchedule
from hospital.health import record_heartbeat
from hospital.models import Department
from queues import consumers, services
from queues.models import Token, TokenEvent
from queues.state import public_state
from tests.conftest import require_in_ci
from tests.servers import (
    DaphneServer,
    GunicornServer,
    NginxProxy,
    PostgresCluster,
    RedisServer,
    child_env,
    database_url,
    nginx_path,
    postgres_program,
    reachable_redis_url,
    set_server_password,
    unique_prefix,
)

pytestmark = [pytest.mark.browser, pytest.mark.redis]

# What the issue asks of every screen after a fault.
WITHIN_10_S = 10.0
ERROR_PAGE = "Something went wrong on our side"  # templates/500.html
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SKIP_FORM = re.compile(r'action="(/doctor/tokens/[0-9a-f-]{36}/skip/)"')
TOKEN_PAGE = re.compile(r"^/tokens/([0-9a-f-]{36})/$")
POSTGRES_ONLY = "runs in the PostgreSQL pass only (DATABASE_URL is not PostgreSQL)"


# --- Helpers ----------------------------------------------------------------------------


def ms_left(deadline: float) -> float:
    """Milliseconds until `deadline` (time.monotonic()), for Playwright's timeouts."""
    return max(1.0, (deadline - time.monotonic()) * 1000)


def open_tv(new_page, base_url: str, slugs: list[str]):
    """A waiting-room TV showing `slugs`, live, marked so that a reload would show."""
    tv = new_page(viewport={"width": 1920, "height": 1080})
    tv.goto(f"{base_url}/display/?departments={','.join(slugs)}&sound=0&voice=0")
    tv.wait_for_selector("#tv-status.live")
    tv.evaluate("window.__loadedAt = performance.timeOrigin")
    tv.slugs = slugs
    return tv


def never_reloaded(tv) -> bool:
    return tv.evaluate("window.__loadedAt === performance.timeOrigin")


# True once every department section of the TV shows the tokens being served, the next
# ones and how many are waiting, as given.
SHOWS = """(expected) => Object.entries(expected).every(([slug, want]) => {
  const section = document.querySelector(`[data-department-slug="${slug}"]`);
  if (!section) return false;
  const tokens = (selector) =>
    [...section.querySelectorAll(selector)].map((li) => li.dataset.token).join(" ");
  const waiting = (section.querySelector(".tv-waiting").textContent.match(/\\d+/) || ["0"])[0];
  return tokens(".tv-serving li") === want.serving && tokens(".tv-next-list li") === want.next
    && Number(waiting) === want.waiting;
})"""


def database_state(slugs: list[str]) -> dict:
    """What a TV must show for each department: the database's state, as the screens get it."""
    expected = {}
    for slug in slugs:
        state = public_state(Department.objects.get(slug=slug))
        expected[slug] = {
            "serving": " ".join(entry["token"] for entry in state["serving"]),
            "next": " ".join(state["next"]),
            "waiting": state["waiting_count"],
        }
    return expected


def wait_until_every_tv_shows_the_database(tvs, deadline: float) -> None:
    for tv in tvs:
        tv.wait_for_function(SHOWS, arg=database_state(tv.slugs), timeout=ms_left(deadline))


class Desk:
    """A doctor at the terminal, through the proxy: the terminal's buttons as HTTP POSTs."""

    def __init__(self, base_url: str, username: str):
        password = f"pw-{username}-faults"
        set_server_password(get_user_model().objects.get(username=username), password)
        self.client = httpx.Client(base_url=base_url, timeout=20)
        self.client.get("/accounts/login/")
        signed_in = self.post(
            "/accounts/login/", {"username": username, "password": password}, record=False
        )
        assert signed_in == 302, f"{username} could not sign in ({signed_in})"
        self.statuses: list[tuple[str, int]] = []

    def post(self, path: str, data: dict | None = None, *, record: bool = True) -> int:
        form = {"csrfmiddlewaretoken": self.client.cookies["csrftoken"], **(data or {})}
        status = self.client.post(path, data=form).status_code
        if record:
            self.statuses.append((path, status))
        return status

    def call_next(self) -> None:
        self.post("/doctor/call-next/")

    def skip_current(self) -> None:
        terminal = self.client.get("/doctor/")
        self.statuses.append(("/doctor/", terminal.status_code))
        skip = SKIP_FORM.search(terminal.text)
        assert skip, "the terminal shows no called patient to skip"
        self.post(skip.group(1))

    def close(self) -> None:
        self.client.close()


def established(port: int) -> int:
    """Open TCP connections on the server side of local `port` (Linux /proc)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, _remote, state = row.split()[1:4]
            count += int(local.rsplit(":", 1)[1], 16) == port and state == "01"
    return count


def worker_pids(server) -> list[int]:
    """gunicorn's worker processes (children of its master)."""
    pid = server.process.pid
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def all_workers(server, count: int) -> list[int]:
    """gunicorn's workers, once all `count` of them have started (after the port opens)."""
    return wait_for(
        lambda: len(worker_pids(server)) == count and sorted(worker_pids(server)),
        30, "gunicorn's workers",
    )  # fmt: skip


def wait_for(condition, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not within {timeout:.0f} s: {what() if callable(what) else what}"
            )
        time.sleep(step)


# --- The layout: nginx, gunicorn, two daphnes, and a Redis of the test's own ---------------


@dataclass
class Layout:
    proxy: NginxProxy
    http: GunicornServer
    daphnes: list[DaphneServer]
    redis: RedisServer

    @property
    def url(self) -> str:
        return self.proxy.url


@pytest.fixture(scope="module")
def own_redis():
    if shutil.which("redis-server") is None:
        require_in_ci("redis-server", "install the Debian package `redis-server`")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def layout(django_db_setup, tmp_path_factory, own_redis):
    """Shared by the module's tests, which leave it whole but for the daphne that
    test_the_tvs_of_a_killed_daphne_... kills (its survivor serves every screen after)."""
    if nginx_path() is None:
        require_in_ci("nginx", "install the Debian package `nginx-light` (/usr/sbin/nginx)")
    shared = {"redis_url": own_redis.redis_url_of, "prefix": unique_prefix()}
    # The app trusts X-Forwarded-For only from the proxy's own address.
    proxied = {"TRUSTED_PROXIES": "127.0.0.1"}
    with GunicornServer(workers=2, extra_env=proxied, **shared) as http:
        with DaphneServer(**shared) as ws1, DaphneServer(**shared) as ws2:
            workdir = tmp_path_factory.mktemp("nginx")
            ws_ports = [ws1.port, ws2.port]
            with NginxProxy(http_port=http.port, ws_ports=ws_ports, workdir=workdir) as proxy:
                yield Layout(proxy=proxy, http=http, daphnes=[ws1, ws2], redis=own_redis)


# --- Redis stopped in the middle of a burst of calls --------------------------------------

ROUNDS = 4  # per doctor: a first call, then skip-and-call twice; the fourth once Redis is back


def test_a_burst_of_calls_through_a_redis_outage_loses_nothing_and_every_tv_recovers(
    layout, transactional_db, new_page, orth, card, dr_rao, dr_iyer, dr_shah
):
    for i in range(12):
        services.issue_token(orth, f"Orth Patient {i}")
    for i in range(6):
        services.issue_token(card, f"Card Patient {i}")
    # The worker is not what this test stops: with its heartbeat fresh, /readyz can name
    # the one part that is down.
    record_heartbeat()
    tvs = [open_tv(new_page, layout.url, slugs) for slugs in (["orth"], ["orth", "card"])]
    desks = [Desk(layout.url, name) for name in ("rao", "iyer", "shah")]

    redis_down = threading.Event()
    last_change = [time.monotonic()]
    errors = []

    def burst(desk: Desk) -> None:
        try:
            for round_ in range(ROUNDS - 1):
                if round_ == ROUNDS - 2:
                    # At least this round is made while Redis is down, however fast the rest.
                    redis_down.wait(timeout=30)
                if round_:
                    desk.skip_current()
                desk.call_next()
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        last_change[0] = max(last_change[0], time.monotonic())

    threads = [threading.Thread(target=burst, args=(desk,), daemon=True) for desk in desks]
    for thread in threads:
        thread.start()
    # In the middle of the burst: once every doctor has called a first patient.
    wait_for(lambda: all(desk.statuses for desk in desks), 30, "a first call from each doctor")
    layout.redis.stop()
    redis_down.set()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []

    # Every request succeeded (a POST answers with its redirect), and nothing is lost.
    assert all(status in (200, 302) for desk in desks for _path, status in desk.statuses), [
        desk.statuses for desk in desks
    ]
    for doctor in (dr_rao, dr_iyer, dr_shah):
        events = TokenEvent.objects.filter(actor=doctor.user)
        assert events.filter(kind=TokenEvent.Kind.CALLED).count() == ROUNDS - 1
        assert events.filter(kind=TokenEvent.Kind.SKIPPED).count() == ROUNDS - 2
        assert Token.objects.filter(doctor=doctor, status=Token.Status.CALLED).count() == 1

    ready = httpx.get(f"{layout.url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["channel_layer"]
    assert ready.json()["checks"]["database"]["ok"] is True

    # A TV's ping compares its version with the database's as read at most VERSION_TTL
    # seconds before: past that, its next ping (one every 10 s) brings any state it missed.
    time.sleep(max(0.0, last_change[0] + consumers.VERSION_TTL - time.monotonic()))
    layout.redis.start()
    back = time.monotonic()
    wait_until_every_tv_shows_the_database(tvs, back + WITHIN_10_S)
    # The light turns green on the first pong through Redis. A ping in the second before
    # the server has subscribed again loses its echo: then the next ping, 10 s later.
    for tv in tvs:
        tv.wait_for_selector("#tv-status.live", timeout=ms_left(back + 15))

    # Pushes flow again: the burst's last round reaches every TV as it happens.
    for desk in desks:
        desk.skip_current()
        desk.call_next()
    assert all(status in (200, 302) for desk in desks for _path, status in desk.statuses)
    wait_until_every_tv_shows_the_database(tvs, time.monotonic() + WITHIN_10_S)
    assert all(never_reloaded(tv) for tv in tvs)
    for desk in desks:
        desk.close()


# --- One daphne killed ------------------------------------------------------------------


def test_the_tvs_of_a_killed_daphne_reconnect_through_nginx_and_are_right_within_10_s(
    layout, transactional_db, new_page, orth, dr_rao
):
    for i in range(5):
        services.issue_token(orth, f"Orth Patient {i}")
    # nginx deals the sockets out in turn: one TV on each daphne.
    tvs = [open_tv(new_page, layout.url, ["orth"]) for _ in range(2)]
    doomed, survivor = layout.daphnes
    assert established(doomed.port) >= 1 and established(survivor.port) >= 1

    doomed.process.send_signal(signal.SIGKILL)  # no goodbye to its sockets
    doomed.process.wait()
    killed = time.monotonic()
    desk = Desk(layout.url, "rao")
    desk.call_next()
    assert desk.statuses == [("/doctor/call-next/", 302)]

    wait_until_every_tv_shows_the_database(tvs, killed + WITHIN_10_S)
    for tv in tvs:
        tv.wait_for_selector("#tv-status.live", timeout=ms_left(killed + WITHIN_10_S))
    assert all(never_reloaded(tv) for tv in tvs)
    assert established(survivor.port) >= len(tvs)
    desk.close()


# --- PostgreSQL restarted under load ----------------------------------------------------

# Every token whole: one ISSUED event, a visit and its stop; and numbers gapless.
WHOLE_TOKENS = """
SELECT d.code || ' ' || t.service_date, t.number, t.public_id::text,
       (SELECT count(*) FROM queues_tokenevent e WHERE e.token_id = t.id AND e.kind = 'issued'),
       t.visit_id IS NOT NULL,
       EXISTS (SELECT 1 FROM queues_visitstop s WHERE s.token_id = t.id)
FROM queues_token t JOIN hospital_department d ON d.id = t.department_id
"""


def copy_database(source_url: str, target_url: str) -> None:
    """The test run's database (migrated, and what the test wrote) into another server:
    a dump and restore takes a second where migrating takes many."""
    dump = subprocess.run(
        [postgres_program("pg_dump") or "pg_dump", "--format=custom", "--no-owner", source_url],
        check=True, capture_output=True, timeout=120,
    ).stdout  # fmt: skip
    subprocess.run(
        [postgres_program("pg_restore") or "pg_restore", "--no-owner", "--exit-on-error",
         "--dbname", target_url],
        input=dump, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY)


@pytest.fixture
def own_postgres():
    require_postgresql()
    if postgres_program("initdb") is None or postgres_program("pg_ctl") is None:
        require_in_ci("PostgreSQL's initdb and pg_ctl", "install the Debian package `postgresql`")
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.remove()


@dataclass
class Answer:
    started: float
    status: int
    location: str = ""
    body: str = ""


def kiosk(base_url: str, slug: str, day: str, stop: threading.Event, answers: list) -> None:
    """A kiosk taking tokens one after another, as fast as the server answers: the form
    (once), then a POST per patient. Every answer is recorded, the form's too."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        csrf, n = None, 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                if csrf is None:
                    response = client.get("/")
                    form = CSRF_INPUT.search(response.text)
                    csrf = form and form.group(1)
                    if csrf:
                        continue
                else:
                    n += 1
                    response = client.post("/", data={
                        "csrfmiddlewaretoken": csrf, "department": slug, "service_date": day,
                        "patient_name": f"Kiosk Patient {threading.get_ident() % 1000}-{n}",
                        "mobile": "",
                    })  # fmt: skip
            except httpx.HTTPError as exc:
                answers.append(Answer(started, 0, body=repr(exc)))
                continue
            location = response.headers.get("location", "")
            body = "" if response.status_code == 302 else response.text
            answers.append(Answer(started, response.status_code, location, body))


def issued(answer: Answer) -> str | None:
    match = TOKEN_PAGE.match(answer.location) if answer.status == 302 else None
    return match.group(1) if match else None


def test_a_postgresql_restart_under_load_shows_the_error_page_and_leaves_no_token_half_written(
    own_postgres, transactional_db, orth, new_page
):
    redis_url = reachable_redis_url()
    if redis_url is None:
        require_in_ci("Redis", "no server answered at REDIS_URL / 127.0.0.1:6379")
    copy_database(database_url(), own_postgres.url)
    setup = {"slug": orth.slug, "day": timezone.localdate().isoformat()}
    # A load from one address: the kiosks' abuse limits would (rightly) refuse it.
    app = {"DATABASE_URL": own_postgres.url, "TOKEN_LIMIT": "off",
           "TOKEN_LIMIT_PER_ADDRESS": "off", "TOKEN_LIMIT_PER_MOBILE": "off"}  # fmt: skip
    shared = {"redis_url": redis_url, "prefix": unique_prefix(), "extra_env": app}
    with GunicornServer(workers=2, **shared) as http, DaphneServer(**shared) as ws:
        workers = all_workers(http, 2)
        tv = open_tv(new_page, ws.url, [setup["slug"]])
        answers: list[Answer] = []
        stop = threading.Event()
        kiosks = [
            threading.Thread(
                target=kiosk,
                args=(http.url, setup["slug"], setup["day"], stop, answers),
                daemon=True,
            )
            for _ in range(3)
        ]
        for thread in kiosks:
            thread.start()
        try:
            wait_for(lambda: sum(map(bool, map(issued, answers))) >= 3, 30, "tokens before")
            own_postgres.stop("fast")  # ends every session, in the middle of requests
            down = time.monotonic()
            wait_for(
                lambda: any(a.started >= down and a.status != 302 for a in answers),
                30, "requests failing while PostgreSQL is down",
            )  # fmt: skip
            own_postgres.start()
            up = time.monotonic()
            # Recovered in the same processes: nobody restarts gunicorn or daphne.
            wait_for(
                lambda: sum(a.started >= up and bool(issued(a)) for a in answers) >= 3,
                30, "tokens again once PostgreSQL is back",
            )  # fmt: skip
        finally:
            stop.set()
            for thread in kiosks:
                thread.join(timeout=60)
        done = time.monotonic()
        assert http.process.poll() is None and ws.process.poll() is None
        assert sorted(worker_pids(http)) == workers

        failed = [a for a in answers if not issued(a)]
        assert failed, "no request met the outage"
        for answer in failed:
            assert answer.status in (500, 503), (answer.status, answer.body[:500])
            assert ERROR_PAGE in answer.body
            assert "Traceback" not in answer.body

        with psycopg.connect(own_postgres.url) as database:
            tokens = database.execute(WHOLE_TOKENS).fetchall()
        assert [t for t in tokens if t[3:] != (1, True, True)] == []
        numbers = {}
        for day, number, *_ in tokens:
            numbers.setdefault(day, []).append(number)
        for day_numbers in numbers.values():
            assert sorted(day_numbers) == list(range(1, len(day_numbers) + 1))
        # Every token a kiosk was given is there; a failed request may have been written
        # whole before its answer was lost, never in part.
        given = {issued(a) for a in answers} - {None}
        stored = {t[2] for t in tokens}
        assert given <= stored
        assert len(given) <= len(stored) <= len(given) + len(failed)

        # The TV, on daphne's own pooled connections through the same restart, is right.
        count = len(stored)
        expected = {setup["slug"]: {
            "serving": "", "waiting": count,
            "next": " ".join(f"ORTH-{n:03d}" for n in range(1, min(count, 6) + 1)),
        }}  # fmt: skip
        # A screen whose socket broke in the outage reconnects with a backoff of at most
        # 15 s (static/js/live.js); one that kept it has every push since.
        tv.wait_for_function(SHOWS, arg=expected, timeout=ms_left(done + 30))
        assert tv.locator(".tv-waiting").inner_text() == f"Waiting: {count}"
        assert never_reloaded(tv)


# --- A server killed in the middle of confirming a booking --------------------------------


def blocked_backend() -> int:
    """The PostgreSQL session (its pid) of the server, waiting for a lock of the test's."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps showing its first look at the sessions.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def sessions() -> str:
    """The database's other sessions, for a failure's message."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return "the confirm to block; sessions: " + repr(cursor.fetchall())


def backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 0


def confirm_and_kill(server, desk: httpx.Client, appointment, code: str, lock):
    """Confirm `appointment` with `code` through `server` while the test holds `lock`, so
    that the confirm stops where it needs that lock; SIGKILL the server process there,
    then let go of the lock and wait for PostgreSQL to finish with its session."""

    def confirm() -> None:
        try:
            answered.append(
                desk.post(
                    f"/reception/appointments/{appointment.public_id}/verify/",
                    data={"code": code, "csrfmiddlewaretoken": desk.cookies["csrftoken"]},
                )
            )
        except httpx.HTTPError as exc:
            answered.append(exc)  # the server died with the request: that is the point

    (worker,) = all_workers(server, 1)
    answered = []
    request = threading.Thread(target=confirm, daemon=True)
    with transaction.atomic():
        lock()
        request.start()
        backend = wait_for(blocked_backend, 20, sessions)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: worker not in worker_pids(server), 10, "the killed worker to go")
    request.join(timeout=20)
    wait_for(lambda: backend_gone(backend), 20, "PostgreSQL to end the dead server's session")
    # gunicorn starts a new worker in its place.
    all_workers(server, 1)


def history(appointment) -> list[str]:
    return list(appointment.events.order_by("at", "pk").values_list("kind", flat=True))


def test_a_server_killed_while_confirming_a_booking_leaves_it_held_then_expired_or_booked_whole(
    transactional_db, dr_rao, receptionist, settings, tmp_path
):
    require_postgresql()
    settings.SMS_BACKEND, settings.OUTBOX_DIR = "outbox", tmp_path
    # A code is kept as an HMAC under SECRET_KEY: the server must be able to check it.
    settings.SECRET_KEY = child_env()["SECRET_KEY"]
    # Tomorrow, so every slot of the session is still ahead whenever the test runs.
    day = timezone.localdate() + datetime.timedelta(days=1)
    DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=day.weekday(), start=datetime.time(9), end=datetime.time(12)
    )
    holds = [
        booking.hold_slot(doctor=dr_rao, day=day, start=datetime.time(9, minute),
                          patient_name=name, mobile=mobile, reason="Knee pain", actor=receptionist)
        for minute, name, mobile in ((0, "Asha Rao", "+919812345001"),
                                     (15, "Bala Iyer", "+919812345002"))
    ]  # fmt: skip
    # The codes, as texted (tests run the worker's tasks in-process, at once).
    texts = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    codes = [
        re.search(r"\b(\d{6})\b", next(t["body"] for t in texts if t["to"] == a.patient.mobile))[1]
        for a in holds
    ]
    set_server_password(receptionist, "pw-desk-faults-1")
    with GunicornServer(workers=1) as server, httpx.Client(base_url=server.url, timeout=30) as desk:
        desk.get("/accounts/login/")
        signed_in = desk.post(
            "/accounts/login/",
            data={"username": receptionist.username, "password": "pw-desk-faults-1",
                  "csrfmiddlewaretoken": desk.cookies["csrftoken"]},
        )  # fmt: skip
        assert signed_in.status_code == 302

        # Killed before its commit: the confirm waits for the appointment's row lock,
        # inside its transaction, when its process dies.
        held = holds[0]
        confirm_and_kill(
            server, desk, held, codes[0],
            lock=lambda: list(Appointment.objects.select_for_update().filter(pk=held.pk)),
        )  # fmt: skip

        # Killed while committing: every row is written, and the commit waits for the
        # check that the event's author (a foreign key PostgreSQL checks at commit) is
        # still there, which the test's lock on that user holds up.
        booked = holds[1]
        confirm_and_kill(
            server, desk, booked, codes[1],
            lock=lambda: list(
                get_user_model().objects.select_for_update().filter(pk=receptionist.pk)
            ),
        )  # fmt: skip

    # The first is still held, with nothing of a booking...
    held.refresh_from_db()
    assert held.status == Appointment.Status.HELD
    assert history(held) == [AppointmentEvent.Kind.HELD, AppointmentEvent.Kind.OTP_SENT]
    assert not held.notifications.filter(purpose="confirmation").exists()
    # ...and then expires, as the worker's schedule (expire_holds) does, freeing the slot.
    later = held.hold_expires_at + datetime.timedelta(seconds=1)
    assert booking.expire_holds(now=later) == 1
    held.refresh_from_db()
    assert held.status == Appointment.Status.EXPIRED
    assert history(held)[-1] == AppointmentEvent.Kind.EXPIRED
    assert slots.doctor_day(dr_rao, day, now=later).slot_at(datetime.time(9)) is not None

    # The second is booked, with its event and its confirmation message in the outbox.
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
    assert history(booked)[-1] == AppointmentEvent.Kind.BOOKED
    assert booked.notifications.filter(purpose="confirmation").count() == 1
