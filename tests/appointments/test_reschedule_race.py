"""A reschedule racing a new booking for the same slot, with real threads on the
configured database (SQLite in one run of CI, PostgreSQL in the other): exactly one wins,
the other is told in words, and no slot ever holds two appointments."""

import pytest
from django.db.models import Count

from appointments import changes
from appointments.booking import hold_slot
from appointments.errors import BookingError
from appointments.models import Appointment
from tests.appointments.conftest import MORNING, place, t
from tests.conftest import WEDNESDAY, race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("outbox", "rao_morning"),
]


@pytest.mark.parametrize("target", [t(10), t(10, 15), t(10, 30), t(10, 45), t(11)])
def test_a_reschedule_and_a_booking_for_one_slot_have_exactly_one_winner(dr_rao, desk, target):
    moving = place(dr_rao, t(9))

    def reschedule():
        return changes.reschedule_appointment(
            moving, day=WEDNESDAY, start=target, actor=desk, now=MORNING
        )

    def book():
        return hold_slot(
            doctor=dr_rao, day=WEDNESDAY, start=target, patient_name="Asha Rao",
            mobile="98765 43210", reason="Knee pain", actor=desk, now=MORNING,
        )  # fmt: skip

    results, errors = race([reschedule, book])

    assert len([r for r in results if r is not None]) == 1
    assert len(errors) == 1 and isinstance(errors[0], BookingError)
    assert "taken" in str(errors[0]) or "not free" in str(errors[0])
    in_target = Appointment.objects.filter(
        doctor=dr_rao, date=WEDNESDAY, start=target, status__in=Appointment.SLOT_TAKING
    )
    assert in_target.count() == 1
    moving.refresh_from_db()
    if results[0] is None:  # the booking won: the moving appointment stayed where it was
        assert moving.start == t(9) and moving.status == Appointment.Status.BOOKED
    else:
        assert moving.start == target
    assert not (
        Appointment.objects.filter(status__in=Appointment.SLOT_TAKING)
        .values("doctor", "date", "start")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
