"""The SQLite backend queues writers on locks of its own (hospital/db/sqlite3): this
process's threads on a threading lock, processes on a flock beside the database."""

import subprocess
import sys
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from hospital.db.sqlite3 import base as writer_backend
from queues import services
from queues.models import Token
from tests.conftest import WEDNESDAY, at
from tests.servers import ROOT, child_env

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the writer queue is SQLite's; PostgreSQL locks rows"
)


@pytest.mark.django_db(transaction=True)
def test_the_writer_lock_is_released_after_commit_rollback_and_error(orth):
    services.issue_token(orth, "Asha Rao")
    with pytest.raises(services.QueueError):
        services.issue_token(orth, "")  # refused before any transaction
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.issue_token(orth, "Bala Iyer")
            raise RuntimeError("roll back")
    assert writer_backend._writer.acquire(blocking=False)
    writer_backend._writer.release()
    assert list(Token.objects.values_list("number", flat=True)) == [1]


@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_its_turn_instead_of_failing(orth):
    from django.db import connections

    started = threading.Event()

    def slow_writer():
        with transaction.atomic():
            services.issue_token(orth, "Slow Writer")
            started.set()
            time.sleep(0.3)
        connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert started.wait(5)
    # The slow writer holds the write lock; this one queues behind it and succeeds.
    token = services.issue_token(orth, "Next In Line")
    thread.join()
    assert token.number == 2
    assert list(Token.objects.values_list("number", flat=True)) == [1, 2]


# --- Between processes: the turn on the lock file -----------------------------------------

# A process that takes the write turn, says so, and holds it until told (or killed).
HOLD_TURN = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def other_process_turn():
    """Another process holding the write turn of the test database."""
    path = writer_backend.writer_lock_path(connection.settings_dict["NAME"])
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_TURN, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def issue_in_thread(department, name: str) -> tuple[threading.Thread, dict]:
    from django.db import connections

    outcome: dict = {}

    def run():
        try:
            outcome["token"] = services.issue_token(department, name)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_a_writer_waits_while_another_process_has_the_turn_then_writes(orth, other_process_turn):
    thread, outcome = issue_in_thread(orth, "Waits For Turn")
    thread.join(0.3)
    assert thread.is_alive(), "wrote while another process had the turn"
    assert not Token.objects.exists()

    other_process_turn.communicate("release\n", timeout=10)
    thread.join(10)
    assert not thread.is_alive()
    assert outcome["token"].number == 1


@pytest.mark.django_db(transaction=True)
def test_a_killed_process_leaves_the_turn_free(orth, other_process_turn):
    other_process_turn.kill()
    other_process_turn.wait(timeout=10)
    token = services.issue_token(orth, "After The Crash")
    assert token.number == 1


@pytest.mark.django_db(transaction=True)
def test_no_turn_within_the_timeout_is_a_locked_error_that_writes_nothing(
    orth, other_process_turn, monkeypatch
):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.3)
    with pytest.raises(OperationalError, match="database is locked"):
        services.issue_token(orth, "Gives Up")
    # Both locks were let go: this process can write again once the other is done.
    assert writer_backend._writer.acquire(blocking=False)
    writer_backend._writer.release()
    other_process_turn.communicate("release\n", timeout=10)
    assert services.issue_token(orth, "Next").number == 1
    assert Token.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_without_a_lock_file_writers_still_write_and_the_reason_is_logged(
    orth, monkeypatch, caplog, tmp_path
):
    from django.db import connections

    connections.close_all()  # the next connection opens its lock file anew
    monkeypatch.setattr(writer_backend, "writer_lock_path", lambda name: tmp_path / "no" / "lock")
    assert services.issue_token(orth, "Still Served").number == 1
    assert "busy handler" in caplog.text
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_where_there_is_no_flock_the_lock_file_is_not_waited_for(
    orth, other_process_turn, monkeypatch
):
    monkeypatch.setattr(writer_backend, "fcntl", None)  # as on Windows
    assert services.issue_token(orth, "No Flock Here").number == 1


# Issues `count` tokens for ORTH at the time given and prints their numbers.
ISSUE_TOKENS = """
import datetime, sys
import django
django.setup()
from hospital.models import Department
from queues.services import issue_token
now = datetime.datetime.fromisoformat(sys.argv[3])
orth = Department.objects.get(code="ORTH")
print(" ".join(str(issue_token(orth, f"Process {sys.argv[1]} #{i}", now=now).number)
               for i in range(int(sys.argv[2]))))
"""


@pytest.mark.django_db(transaction=True)
def test_two_processes_issuing_at_once_get_numbers_1_to_n(orth):
    each = 100
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", ISSUE_TOKENS, str(p), str(each), at(WEDNESDAY, 9).isoformat()],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "locked" not in err
    numbers = sorted(int(n) for out, _ in outputs for n in out.split())
    assert numbers == list(range(1, 2 * each + 1))
    assert sorted(Token.objects.values_list("number", flat=True)) == numbers


def test_a_destroyed_test_database_takes_its_wal_and_lock_files_with_it(tmp_path):
    name = tmp_path / "gone.sqlite3"
    leftovers = [name, *(tmp_path / f"gone.sqlite3{s}" for s in ("-wal", "-shm", "-writer-lock"))]
    for path in leftovers:
        path.write_bytes(b"")
    writer_backend.DatabaseCreation(connection)._destroy_test_db(str(name), verbosity=0)
    assert list(tmp_path.iterdir()) == []
