"""Two-step sign-in: a staff member turns it on by proving the app holds the key; from
then on the password alone opens no page; the hospital can require it for the admin."""

import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

SETUP = reverse("two_factor_setup")
VERIFY = reverse("two_factor_verify")


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the app shows now (or `steps_ahead` 30-second steps later: a code is
    accepted once, so a second sign-in in the same step uses the next one)."""
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + steps_ahead * device.step
    return f"{generator.token():06d}"


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.fixture
def desk(receptionist):
    return receptionist


@pytest.fixture
def desk_with_app(client, desk):
    """The desk has turned two-step sign-in on, and signed out again."""
    client.force_login(desk)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=desk)
    assert client.post(SETUP, {"code": code_for(device)}).status_code == 302
    client.logout()
    device.refresh_from_db()
    return device


def test_turning_it_on_shows_a_qr_code_and_needs_a_right_code(client, desk):
    client.force_login(desk)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert b"<svg" in page.content and b"Key:" in page.content
    device = TOTPDevice.objects.get(user=desk)
    assert not device.confirmed

    wrong = client.post(SETUP, {"code": f"{(int(code_for(device)) + 1) % 10**6:06d}"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    device.throttle_reset()  # django-otp makes a wrong code cost a second's wait
    assert client.post(SETUP, {"code": code_for(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_with_it_on_the_password_alone_opens_no_page(client, desk_with_app):
    assert sign_in(client, "desk", "pw-desk").status_code == 302
    response = client.get(reverse("progress"))
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)

    wrong = client.post(VERIFY, {"code": "000000", "next": "/progress/"})
    assert wrong.status_code == 200
    assert client.get(reverse("progress")).status_code == 302
    desk_with_app.throttle_reset()

    right = client.post(VERIFY, {"code": code_for(desk_with_app, 1), "next": "/progress/"})
    assert right.status_code == 302 and right["Location"] == "/progress/"
    assert client.get(reverse("progress")).status_code == 200


@pytest.mark.parametrize("code", ["²²²²²²", "abcdef", "1" * 5000, "12 34 5", "\x00" * 6, ""])
def test_a_malformed_code_is_a_message_not_an_error(client, desk_with_app, code):
    sign_in(client, "desk", "pw-desk")
    response = client.post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]


def test_the_next_address_after_the_code_stays_on_this_site(client, desk_with_app):
    sign_in(client, "desk", "pw-desk")
    response = client.post(
        VERIFY, {"code": code_for(desk_with_app, 1), "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


def test_turning_it_off_needs_a_code(client, desk_with_app, desk):
    sign_in(client, "desk", "pw-desk")
    client.post(VERIFY, {"code": code_for(desk_with_app, 1)})
    assert client.post(SETUP, {"code": "123"}).status_code == 200  # refused by the form
    assert TOTPDevice.objects.filter(user=desk, confirmed=True).exists()
    assert client.post(SETUP, {"code": code_for(desk_with_app, 2)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=desk).exists()


def test_the_hospital_can_require_it_for_the_admin(client, admin_user, settings):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    client.force_login(admin_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)

    client.get(SETUP)
    device = TOTPDevice.objects.get(user=admin_user)
    client.post(SETUP, {"code": code_for(device)})  # turning it on passes the second step
    assert client.get(reverse("admin:index")).status_code == 200


def test_without_the_requirement_the_admin_opens_with_the_password(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_requirement_keeps_an_admin_out_of_every_page_until_it_is_set_up(
    client, admin_user, receptionist, settings
):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    client.force_login(admin_user)
    response = client.get(reverse("reception_dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)
    # The front desk (not an admin) is not asked.
    client.force_login(receptionist)
    assert client.get(reverse("reception_dashboard")).status_code == 200
