"""Start-up: no SECRET_KEY with DEBUG off is a clear error, except for the few commands
that only inspect code."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env["DJANGO_SETTINGS_MODULE"] = "hospital.settings"
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
