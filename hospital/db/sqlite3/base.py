"""SQLite, with writers queued on locks that hand over at once, instead of in SQLite.

Every write transaction here starts with BEGIN IMMEDIATE, which takes SQLite's single
write lock. A second writer that finds it taken waits in SQLite's busy handler, which
sleeps in growing steps (1, 2, 5, 10 ... 100 ms) and polls: the lock is often free while
writers sleep, and an unlucky writer loses many times in a row. Under fifty kiosks that
gave a p99 of ~5 s. So a writer first takes its turn on two locks of our own, and only
then begins:

1. This process's writers queue on a threading lock, handed over as soon as the holder
   commits or rolls back.
2. The processes queue on an advisory lock (flock) on a file beside the database,
   `<database>-writer-lock`. Each process's first writer polls it at a fine step
   (0.1 ms, doubling to 1 ms), so when another process commits the turn passes within
   about a millisecond, not after SQLite's next sleep. With two server processes,
   BEGIN IMMEDIATE had averaged 1.3-2.2 ms, and a third of the transactions slept in
   SQLite's handler (up to 335 ms); docs/PERFORMANCE.md has the before and after.

The kernel drops a dead process's flock with its file, so a crash never leaves the
turn taken. SQLite's own lock still decides: programs that don't queue here (the
sqlite3 shell, a backup) are waited for by the busy timeout, as before. An in-memory
database has no file and one process, so it takes only the threading lock.
"""

import logging
import os
import threading
import time

from django.db.backends.sqlite3 import base, creation
from django.db.utils import OperationalError

try:
    import fcntl
except ImportError:  # Windows: no flock; SQLite's busy handler queues the processes
    fcntl = None

logger = logging.getLogger(__name__)

# One writer at a time in this process.
_writer = threading.Lock()

# Polling steps for another process's turn: the first retry soon, since a transaction
# here takes about a millisecond, and never sleeping long past a release.
_FIRST_STEP = 0.0001
_LONGEST_STEP = 0.001


def writer_lock_path(database_name) -> str:
    return f"{os.fspath(database_name)}-writer-lock"


def _locked(timeout: float) -> OperationalError:
    return OperationalError(f"database is locked (no turn to write within {timeout:g} s)")


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name, verbosity):
        super()._destroy_test_db(test_database_name, verbosity)
        if test_database_name and not self.is_in_memory_db(test_database_name):
            # Django removes the database file; its WAL files and our lock file go too.
            name = os.fspath(test_database_name)
            for leftover in (f"{name}-wal", f"{name}-shm", writer_lock_path(name)):
                try:
                    os.remove(leftover)
                except FileNotFoundError:
                    pass


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
    _holds_writer_lock = False
    # This connection's own open file for the flock: a flock belongs to an open file,
    # so each connection (one per thread) needs its own to queue against the others.
    _turn_file: int | None = None
    _holds_turn = False

    def _start_transaction_under_autocommit(self):
        timeout = self.settings_dict["OPTIONS"].get("timeout", 20)
        deadline = time.monotonic() + timeout
        if not _writer.acquire(timeout=timeout):
            raise _locked(timeout)
        self._holds_writer_lock = True
        try:
            self._take_turn(deadline, timeout)
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _take_turn(self, deadline: float, timeout: float) -> None:
        if fcntl is None or self.is_in_memory_db():
            return
        if self._turn_file is None:
            name = writer_lock_path(self.settings_dict["NAME"])
            try:
                # Read-only is enough for flock, and world-readable lets a server running
                # as another user (or a command run as root first) share the file.
                self._turn_file = os.open(name, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError as exc:
                # SQLite's own lock still keeps writers apart; only the quick handover
                # between processes is lost.
                logger.warning("Writers queue in SQLite's busy handler: %s", exc)
                self._turn_file = -1
        if self._turn_file < 0:
            return
        step = _FIRST_STEP
        while True:
            try:
                fcntl.flock(self._turn_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _locked(timeout) from None
                time.sleep(step)
                step = min(step * 2, _LONGEST_STEP)
            else:
                self._holds_turn = True
                return

    def _release_writer_lock(self):
        if self._holds_turn:
            self._holds_turn = False
            fcntl.flock(self._turn_file, fcntl.LOCK_UN)
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            _writer.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()
            if self._turn_file is not None and self._turn_file >= 0:
                os.close(self._turn_file)
            self._turn_file = None
