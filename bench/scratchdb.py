"""Throwaway databases for the benchmarks: a SQLite file in a temporary directory, or a
new PostgreSQL database on the local server, dropped afterwards. Only 127.0.0.1."""

import os
import secrets
import shutil
import tempfile
from pathlib import Path

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


class SqliteDatabase:
    name = "SQLite"
    prefix = "opdq-bench-"

    def __enter__(self):
        self.dir = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.path = self.dir / "bench.sqlite3"
        self.url = f"sqlite:///{self.path}"
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresDatabase:
    name = "PostgreSQL"
    prefix = "opdq_bench_"

    def __enter__(self):
        import psycopg

        self.psycopg = psycopg
        self.db_name = f"{self.prefix}{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.db_name}"')
        self.url = f"postgres://postgres@127.0.0.1:5432/{self.db_name}"
        return self

    def __exit__(self, *exc):
        with self.psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
