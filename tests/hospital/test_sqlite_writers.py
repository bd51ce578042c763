"""The SQLite backend queues this process's writers on a lock (hospital/db/sqlite3)."""

import threading
import time

import pytest
from django.db import connection, transaction

from hospital.db.sqlite3 import base as writer_backend
from queues import services
from queues.models import Token

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
