"""Headers, sessions and passwords: HTTPS with HSTS behind one switch, a strict
Content-Security-Policy, no caching of staff pages, an idle timeout for staff sessions,
passwords of at least 12 characters, and `check --deploy` clean as DEPLOYMENT.md sets up."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from hospital import middleware

ROOT = Path(__file__).resolve().parents[2]

# /etc/opdq.env as docs/DEPLOYMENT.md writes it, with working transports.
DEPLOYMENT_ENV = {
    "SECRET_KEY": "k3y-" + "x7Q9pL2mZr" * 6,
    "ALLOWED_HOSTS": "opd.example-hospital.in",
    "CSRF_TRUSTED_ORIGINS": "https://opd.example-hospital.in",
    "HTTPS": "1",
    "TRUSTED_PROXIES": "127.0.0.1",
    "SMS_BACKEND": "http",
    "SMS_GATEWAY_URL": "https://sms.example-gateway.in/send",
    "SMS_GATEWAY_KEY": "gateway-key",
    "EMAIL_URL": "smtp://opd:secret@mail.example-hospital.in:587",
}


def settings_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECURE_COOKIES"}}
    env.update(DJANGO_SETTINGS_MODULE="hospital.settings", **DEPLOYMENT_ENV, **extra)
    return env


def test_check_deploy_is_clean_with_the_documented_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=settings_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_https_switch_turns_on_hsts_redirects_and_secure_cookies():
    probe = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {probe}"],
        cwd=ROOT, env=settings_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.split() == ["True", "31536000", "True", "True"], result.stderr


def test_over_https_a_plain_http_request_is_redirected_and_hsts_is_sent(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    assert client.get("/").status_code == 301
    secure = client.get("/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


def test_every_page_carries_a_strict_content_security_policy(client, db):
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.IGNORECASE)


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(ROOT) for p in (ROOT / "templates").rglob("*.html"))
)
def test_no_template_has_inline_script_or_style(template):
    text = (ROOT / template).read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: use a file in static/js"
    assert not INLINE_STYLE.search(text), "inline style: use a class in static/css"
    assert not INLINE_HANDLER.search(text), "inline event handler: use static/js"


def test_staff_pages_are_never_stored_by_browsers_or_proxies(client, dr_rao, receptionist):
    client.force_login(dr_rao.user)
    assert "no-store" in client.get(reverse("doctor_terminal"))["Cache-Control"]
    client.force_login(receptionist)
    assert "no-store" in client.get(reverse("reception_dashboard"))["Cache-Control"]


def test_a_staff_session_idle_for_longer_than_the_limit_is_signed_out(
    client, receptionist, settings, monkeypatch
):
    settings.STAFF_IDLE_MINUTES = 30
    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    client.force_login(receptionist)
    dashboard = reverse("reception_dashboard")
    assert client.get(dashboard).status_code == 200

    clock[0] += 29 * 60  # still within the limit; this request counts as activity
    assert client.get(dashboard).status_code == 200
    clock[0] += 29 * 60
    assert client.get(dashboard).status_code == 200

    clock[0] += 31 * 60
    response = client.get(dashboard)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_a_terminal_s_live_panel_fetches_do_not_keep_its_session_awake(
    client, dr_rao, settings, monkeypatch
):
    # The panel refreshes on every change of the queue: a terminal left watching it
    # must still be signed out, and its next refresh takes it to the sign-in page.
    settings.STAFF_IDLE_MINUTES = 30
    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    client.force_login(dr_rao.user)
    assert client.get(reverse("doctor_terminal")).status_code == 200

    for _ in range(2):
        clock[0] += 12 * 60
        assert client.get(reverse("doctor_panel")).status_code == 200
    clock[0] += 12 * 60  # 36 minutes since the page was last used
    response = client.get(reverse("doctor_panel"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_passwords_need_at_least_12_characters(db):
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Kx9#mQ2$vL")
    validate_password("Kx9#mQ2$vL7&")


def test_a_huge_query_on_a_staff_page_sends_to_sign_in_without_an_error(client, db, caplog):
    response = client.get(reverse("reception_dashboard"), {"q": "x" * 5000})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('reception_dashboard')}"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
