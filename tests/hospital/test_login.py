"""Staff sign-in: one vague message for every failure, lockout of an account after 5
failures from any addresses (django-axes), password reset by email, browser-length
sessions.

Every test POSTs to the real login view: with axes installed `client.login()` cannot
authenticate (axes' backend needs the request), and the lockout is what is under test.
"""

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.db.models import F
from django.urls import reverse

from tests.conftest import flat_text

LOGIN = "/accounts/login/"
HOME = "/"


@pytest.fixture
def desk(db):
    return get_user_model().objects.create_user(
        username="desk", password="pw-desk-right", email="desk@opd.example", first_name="Asha"
    )


def log_in(client, username, password, ip="127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- One message for every failure ----------------------------------------------------


def test_a_wrong_password_says_invalid_credentials_and_nothing_more(client, desk):
    response = log_in(client, "desk", "wrong")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Invalid credentials"]
    alert = re.search(
        r'<div class="alert alert-error" role="alert">(.*?)</div>', flat_text(response)
    )
    assert alert and re.sub(r"<[^>]+>", "", alert.group(1)).strip() == "Invalid credentials"
    assert not signed_in(client)


@pytest.mark.parametrize(
    "username, password",
    [("nobody", "wrong"), ("desk", "wrong"), ("former", "pw-former")],
    ids=["unknown-user", "wrong-password", "inactive-user"],
)
def test_the_message_does_not_reveal_whether_the_user_exists(client, desk, username, password):
    get_user_model().objects.create_user(username="former", password="pw-former", is_active=False)
    response = log_in(client, username, password)
    assert response.context["form"].non_field_errors() == ["Invalid credentials"]
    assert response.context["form"].errors.as_data().keys() == {"__all__"}
    html = flat_text(response)
    for hint in ("Please enter a correct", "inactive", "disabled", "does not exist"):
        assert hint not in html


def test_the_right_password_signs_in(client, desk):
    response = log_in(client, "desk", "pw-desk-right")
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert signed_in(client)


def test_the_login_page_links_to_the_password_reset(client, db):
    html = client.get(LOGIN).content.decode()
    assert f'href="{reverse("password_reset")}"' in html
    assert "Forgot password?" in html


# --- Lockout (django-axes: 5 failures of one username from one address) ----------------


def fail_five_times(client, username="desk", ip="127.0.0.1"):
    return [log_in(client, username, f"wrong-{i}", ip=ip) for i in range(5)]


def test_four_failures_do_not_lock(client, desk):
    for i in range(4):
        assert log_in(client, "desk", f"wrong-{i}").status_code == 200
    assert log_in(client, "desk", "pw-desk-right").status_code == 302


def test_five_failures_lock_even_the_right_password_out(client, desk):
    responses = fail_five_times(client)
    assert [r.status_code for r in responses[:4]] == [200] * 4
    response = log_in(client, "desk", "pw-desk-right")
    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE == 429
    assert "Sign-in locked for 15 minutes" in flat_text(response)
    assert "too many failed attempts" in flat_text(response)
    assert not signed_in(client)


def test_another_username_from_the_same_address_is_not_locked(client, desk):
    get_user_model().objects.create_user(username="desk2", password="pw-desk2-right")
    fail_five_times(client)
    assert log_in(client, "desk2", "pw-desk2-right").status_code == 302
    assert signed_in(client)


def test_failures_from_many_addresses_still_lock_the_account(client, desk):
    for i in range(5):
        log_in(client, "desk", f"wrong-{i}", ip=f"10.0.0.{i + 1}")
    assert log_in(client, "desk", "pw-desk-right", ip="10.0.0.99").status_code == 429
    assert not signed_in(client)


def test_a_client_written_forwarded_for_is_ignored_without_a_trusted_proxy(client, desk):
    for i in range(5):
        client.post(
            LOGIN,
            {"username": "desk", "password": f"wrong-{i}"},
            REMOTE_ADDR="203.0.113.5",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}
    assert log_in(client, "desk", "pw-desk-right", ip="203.0.113.5").status_code == 429


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_clients(client, desk, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    client.post(
        LOGIN,
        {"username": "desk", "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5",  # forged, then what nginx appended
    )
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.5"]


def age_attempts(minutes: int) -> None:
    """Move every recorded failure `minutes` into the past: axes counts only failures
    newer than AXES_COOLOFF_TIME, so this is the same as waiting that long."""
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - datetime.timedelta(minutes=minutes)
    )


def test_the_lockout_still_holds_after_14_minutes(client, desk):
    fail_five_times(client)
    age_attempts(14)
    assert log_in(client, "desk", "pw-desk-right").status_code == 429
    assert not signed_in(client)


def test_the_lockout_ends_15_minutes_after_the_failures(client, desk):
    assert settings.AXES_COOLOFF_TIME == datetime.timedelta(minutes=15)
    fail_five_times(client)
    age_attempts(16)
    response = log_in(client, "desk", "pw-desk-right")
    assert response.status_code == 302
    assert signed_in(client)


def test_trying_again_during_the_lockout_starts_the_15_minutes_again(client, desk):
    # axes' default (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT): someone still
    # guessing stays locked out.
    fail_five_times(client)
    age_attempts(14)
    assert log_in(client, "desk", "pw-desk-right").status_code == 429
    age_attempts(2)
    assert log_in(client, "desk", "pw-desk-right").status_code == 429


# --- Password reset by email ------------------------------------------------------------


@pytest.fixture
def ask_for_a_reset(client, django_capture_on_commit_callbacks):
    """Ask for a reset as the page does; the worker (run at once in tests) e-mails the
    link from the outbox when the request's work commits. Returns the link's path."""

    def ask(email="desk@opd.example") -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("password_reset"), {"email": email})
        return reset_link(response, email)

    return ask


def reset_link(response, email) -> str:
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [email]
    assert message.subject == "OPD Queue: reset your password"
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


def test_a_reset_link_sets_a_new_password(client, desk, ask_for_a_reset):
    link = ask_for_a_reset()
    assert "Your username is: desk" in mail.outbox[0].body
    # Django swaps the token for a session key and redirects to .../set-password/.
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    assert "Choose a new password" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_password_url,
        {"new_password1": "a-much-better-secret-42", "new_password2": "a-much-better-secret-42"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert "Your password has been changed" in client.get(done["Location"]).content.decode()
    assert log_in(client, "desk", "a-much-better-secret-42").status_code == 302
    # A link works once.
    client.post(reverse("logout"))
    assert not client.get(link, follow=True).context["validlink"]


def test_an_unknown_address_gets_the_same_answer_and_no_email(
    client, desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "who@else.example"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_the_request_does_the_same_work_whether_or_not_the_account_exists(
    client, desk, monkeypatch
):
    """What makes the answer's timing say nothing: the request only hands the address
    to the worker, and the worker looks the account up."""
    from hospital import accounts

    handed = []
    monkeypatch.setattr(accounts, "async_task", lambda *args, **kwargs: handed.append(args))
    for email in ("desk@opd.example", "who@else.example"):
        response = client.post(reverse("password_reset"), {"email": email})
        assert response["Location"] == reverse("password_reset_done")
    assert [args[1] for args in handed] == ["desk@opd.example", "who@else.example"]
    assert mail.outbox == []


def test_reset_requests_are_limited_per_address_asked_about_and_look_the_same(
    client, desk, monkeypatch
):
    from hospital import accounts

    handed = []
    monkeypatch.setattr(accounts, "async_task", lambda *args, **kwargs: handed.append(args))
    pages = [
        client.post(reverse("password_reset"), {"email": "desk@opd.example"}, REMOTE_ADDR=ip)
        for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5")
    ]
    assert {page["Location"] for page in pages} == {reverse("password_reset_done")}
    assert len(handed) == 3  # PASSWORD_RESET_LIMIT_PER_ACCOUNT: 3 an hour


def test_reset_requests_are_limited_per_client_address(client, desk, monkeypatch):
    from hospital import accounts

    handed = []
    monkeypatch.setattr(accounts, "async_task", lambda *args, **kwargs: handed.append(args))
    for i in range(12):
        client.post(reverse("password_reset"), {"email": f"guess{i}@opd.example"})
    assert len(handed) == 10  # PASSWORD_RESET_LIMIT: 10 an hour from one address


def test_a_reset_link_expires_after_a_day(client, desk, monkeypatch, ask_for_a_reset):
    assert settings.PASSWORD_RESET_TIMEOUT == 24 * 60 * 60
    link = ask_for_a_reset()
    issued = datetime.datetime.now()
    later = {"now": issued + datetime.timedelta(hours=23)}
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later["now"])
    assert client.get(link, follow=True).context["validlink"]

    client.cookies.clear()
    later["now"] = issued + datetime.timedelta(days=1, minutes=1)
    response = client.get(link, follow=True)
    assert not response.context["validlink"]
    assert "This link no longer works" in response.content.decode()
    assert "form" not in response.context or response.context["form"] is None


def test_the_reset_pages_wear_the_sites_look(client, db):
    for name in ("password_reset", "password_reset_done", "password_reset_complete"):
        html = client.get(reverse(name)).content.decode()
        assert "css/app.css" in html and 'class="site-header"' in html, name


# --- Sessions -------------------------------------------------------------------------


def test_a_session_ends_with_the_browser_and_after_8_hours(client, desk):
    response = log_in(client, "desk", "pw-desk-right")
    assert client.session.get_expire_at_browser_close() is True
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert client.session.get_expiry_age() == 8 * 60 * 60
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    # A browser-session cookie: no expiry date for the browser to keep it past closing.
    assert cookie["expires"] == "" and cookie["max-age"] == ""


def test_production_settings_hash_passwords_with_argon2_first():
    # The test settings put a fast hasher in front; the real settings must not.
    from tests.settings import PRODUCTION_PASSWORD_HASHERS

    assert PRODUCTION_PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_password_stored_by_the_real_hasher_is_argon2(db):
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password("s3cret-Pass", hasher="argon2")
    assert encoded.startswith("argon2$argon2id$")
    assert check_password("s3cret-Pass", encoded)
