"""SQLite, with this process's writers queued on a lock instead of in SQLite.

Every write transaction here starts with BEGIN IMMEDIATE, which takes SQLite's single
write lock. A second writer that finds it taken waits in SQLite's busy handler, which
sleeps in growing steps (1, 2, 5 ... 100 ms) and polls: the lock is often free while
writers sleep, and an unlucky writer loses many times in a row. Under fifty kiosks that
gave a p99 of ~5 s. Writers of one process now wait on a lock that hands over as soon as
the holder commits or rolls back; SQLite's busy timeout still arbitrates between
processes (run one server process on SQLite; PostgreSQL for more).
"""

import threading

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

# One writer at a time in this process.
_writer = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_lock = False

    def _start_transaction_under_autocommit(self):
        timeout = self.settings_dict["OPTIONS"].get("timeout", 20)
        if not _writer.acquire(timeout=timeout):
            raise OperationalError(f"database is locked (no turn to write within {timeout} s)")
        self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self):
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
