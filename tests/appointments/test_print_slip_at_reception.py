"""After a check-in or a walk-in, reception offers the patient's slip (the thermal slip
with its QR code) instead of only the token's number in plain text."""

import pytest
from django.urls import reverse

from queues.models import Token
from tests.appointments.conftest import place, t
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock", "outbox", "rao_morning")


def test_a_checked_in_appointment_offers_its_slip(desk_client, dr_rao):
    booked = place(dr_rao, t(9, 30))
    page_url = reverse("reception_appointment", args=[booked.public_id])
    assert "Print slip" not in page_text(desk_client.get(page_url))
    desk_client.post(reverse("reception_check_in", args=[booked.public_id]))
    token = Token.objects.get()
    slip_url = reverse("token_slip", args=[token.public_id])
    assert f'href="{slip_url}"' in page_text(desk_client.get(page_url))
    # And from the day's list, where a check-in returns to.
    dashboard = page_text(desk_client.get(reverse("reception_dashboard") + "?date=2026-11-18"))
    assert f'href="{slip_url}"' in dashboard and "Print slip ORTH-001" in dashboard
    # The slip itself opens, with the QR code.
    assert "<svg" in page_text(desk_client.get(slip_url))
