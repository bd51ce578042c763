"""How many tokens one client may take at the kiosk page, and the kiosks staff register
to be exempt. One anonymous client once took all 60 of a department's tokens for the
next day in a tenth of a second."""

import pytest
from django.test import Client
from django.urls import reverse

from queues.kiosk import CLIENT_COOKIE, KIOSK_COOKIE
from queues.models import KioskDevice, Token
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")
HOME = reverse("home")


def take(client, name="Asha Rao", mobile="", ip="203.0.113.7"):
    return client.post(
        HOME,
        {"department": "orth", "patient_name": name, "mobile": mobile,
         "service_date": WEDNESDAY.isoformat()},
        REMOTE_ADDR=ip,
    )  # fmt: skip


def browser(ip="203.0.113.7") -> Client:
    """A browser that has opened the kiosk page once, and so has its client cookie."""
    client = Client()
    client.get(HOME, REMOTE_ADDR=ip)
    assert CLIENT_COOKIE in client.cookies
    return client


def test_one_browser_gets_six_tokens_an_hour_then_a_clear_message(orth):
    phone = browser()
    assert [take(phone, f"Patient {i}").status_code for i in range(6)] == [302] * 6
    refused = take(phone, "One too many")
    assert refused.status_code == 429
    assert "ask at the reception desk" in refused.content.decode()
    assert Token.objects.count() == 6


def test_browsers_behind_one_address_are_counted_apart(orth):
    first, second = browser(), browser()
    for i in range(6):
        take(first, f"First {i}")
    assert take(second, "Second 0").status_code == 302


def test_a_new_cookie_for_every_token_still_meets_the_per_address_limit(orth, settings):
    settings.TOKEN_LIMIT_PER_ADDRESS = "10/h"
    codes = [take(browser(), f"Patient {i}").status_code for i in range(12)]
    assert codes == [302] * 10 + [429] * 2


def test_a_mobile_number_gets_four_tokens_a_day_from_any_device(orth):
    codes = [take(browser(f"198.51.100.{i}"), f"P{i}", "98123 45678").status_code
             for i in range(5)]  # fmt: skip
    assert codes == [302] * 4 + [429]
    refused = take(browser("198.51.100.99"), "P5", "+91 98123 45678")
    assert "This mobile number" in refused.content.decode()


def test_a_kiosk_registered_by_staff_takes_tokens_for_everyone(orth, receptionist):
    kiosk = Client()
    kiosk.force_login(receptionist)
    page = kiosk.get(reverse("register_kiosk"))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert kiosk.post(reverse("register_kiosk"), {"name": " OPD  entrance 1 "}).status_code == 302
    device = KioskDevice.objects.get()
    assert (device.name, device.registered_by) == ("OPD entrance 1", receptionist)
    assert kiosk.cookies[KIOSK_COOKIE].value not in device.key_hash  # only a hash is kept
    kiosk.post(reverse("logout"))

    assert [take(kiosk, f"Patient {i}").status_code for i in range(20)] == [302] * 20
    device.is_active = False
    device.save()  # switched off: one more browser, limited like any other
    codes = [take(kiosk, f"Later {i}").status_code for i in range(7)]
    assert codes == [302] * 6 + [429]


def test_only_the_front_desk_registers_kiosks(client, plain_user):
    assert client.get(reverse("register_kiosk")).status_code == 302  # to sign in
    client.force_login(plain_user)
    assert client.post(reverse("register_kiosk"), {"name": "Mine"}).status_code == 403
    assert not KioskDevice.objects.exists()


def test_a_nameless_kiosk_is_refused_with_a_message(client, receptionist):
    client.force_login(receptionist)
    response = client.post(reverse("register_kiosk"), {"name": "   "})
    assert response.status_code == 200
    assert "Give the kiosk a name" in response.content.decode()
    assert not KioskDevice.objects.exists()


def test_limits_can_be_turned_off_for_a_load_test(orth, settings):
    settings.TOKEN_LIMIT = settings.TOKEN_LIMIT_PER_ADDRESS = "off"
    phone = browser()
    assert [take(phone, f"Patient {i}").status_code for i in range(10)] == [302] * 10


def test_with_the_cache_down_tokens_are_still_given(orth, settings):
    """Counting fails open: the queue lives in the database, not in Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert take(Client(), "Asha Rao").status_code == 302
