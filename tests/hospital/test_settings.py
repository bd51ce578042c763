"""Start-up: no SECRET_KEY with DEBUG off is a clear error, except for the few commands
that only inspect code. And what the database settings make of the connection."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from queues import services

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return run_with({}, *args)


def run_with(extra_env: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.pop("DB_POOL_TIMEOUT", None)
    env.update(extra_env, DJANGO_SETTINGS_MODULE="hospital.settings")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_server_refuses_to_start_without_a_secret_key():
    result = run("-c", "import hospital.asgi")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_serving_command_refuses_too():
    result = run("manage.py", "migrate", "--plan")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_checking_for_missing_migrations_needs_no_key():
    result = run("manage.py", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("env, timeout", [({}, 5), ({"DB_POOL_TIMEOUT": "2"}, 2)])
def test_the_postgresql_pool_waits_only_briefly_for_a_connection(env, timeout):
    # A database restart should give the error page in seconds, not hang each request.
    script = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['pool']['timeout'])"
    )
    result = run_with(
        {"SECRET_KEY": "x", "DATABASE_URL": "postgres://u@db.invalid:5432/opdq", **env},
        "-c", script,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(timeout)


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_statement_run_five_times_is_prepared(orth):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite caches its own")
    for i in range(6):
        services.issue_token(orth, f"Patient {i}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any('UPDATE "queues_tokencounter"' in statement for statement in prepared)
