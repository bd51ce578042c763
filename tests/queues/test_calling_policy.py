"""The calling order (queues.reading.calling_order), pinned case by case: emergencies;
recalled no-shows; checked-in appointments that are due (slot started, or starting within
CHECK_IN_GRACE_MINUTES); everyone else by token number. And a booked patient's token is
called only by their own doctor."""

import datetime

import pytest

from appointments.models import Appointment, Patient
from queues import reading, services
from queues.models import Token
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.django_db


def walk_in(department, name, **kwargs):
    return services.issue_token(department, name, now=at(WEDNESDAY, 8), **kwargs)


def checked_in(department, doctor, name, start: datetime.time, **kwargs):
    patient = Patient.objects.create(name=name, mobile=f"+9198{Patient.objects.count():08d}")
    appointment = Appointment.objects.create(
        patient=patient, doctor=doctor, date=WEDNESDAY, start=start,
        end=(datetime.datetime.combine(WEDNESDAY, start) + datetime.timedelta(minutes=15)).time(),
        reason="Knee", status=Appointment.Status.CHECKED_IN, created_at=at(WEDNESDAY, 7),
    )  # fmt: skip
    return walk_in(department, name, assigned_doctor=doctor, appointment=appointment, **kwargs)


def order(department, now, doctor=None) -> list[str]:
    tokens = reading.waiting_tokens(department, WEDNESDAY, doctor=doctor, now=now)
    return [t.patient_name for t in tokens]


def test_walk_ins_go_by_number(orth):
    for name in ("A", "B", "C"):
        walk_in(orth, name)
    assert order(orth, at(WEDNESDAY, 9)) == ["A", "B", "C"]


def test_a_due_appointment_beats_earlier_walk_ins(orth, dr_rao):
    walk_in(orth, "walk-in 1")
    walk_in(orth, "walk-in 2")
    checked_in(orth, dr_rao, "booked 9:00", datetime.time(9))
    assert order(orth, at(WEDNESDAY, 9)) == ["booked 9:00", "walk-in 1", "walk-in 2"]


def test_an_appointment_not_yet_due_waits_its_turn_by_number(orth, dr_rao):
    walk_in(orth, "walk-in 1")
    checked_in(orth, dr_rao, "booked 11:00", datetime.time(11))
    walk_in(orth, "walk-in 2")
    assert order(orth, at(WEDNESDAY, 9)) == ["walk-in 1", "booked 11:00", "walk-in 2"]


@pytest.mark.parametrize(
    "now, due",
    [
        (at(WEDNESDAY, 9, 49), False),  # 11 minutes early: not yet
        (at(WEDNESDAY, 9, 50), True),  # exactly the grace period: due
        (at(WEDNESDAY, 10, 30), True),  # slot already started: due
    ],
)
def test_the_grace_period_boundary(orth, dr_rao, settings, now, due):
    settings.CHECK_IN_GRACE_MINUTES = 10
    walk_in(orth, "walk-in")
    checked_in(orth, dr_rao, "booked 10:00", datetime.time(10))
    expected = ["booked 10:00", "walk-in"] if due else ["walk-in", "booked 10:00"]
    assert order(orth, now) == expected


def test_the_grace_period_is_a_setting(orth, dr_rao, settings):
    settings.CHECK_IN_GRACE_MINUTES = 30
    walk_in(orth, "walk-in")
    checked_in(orth, dr_rao, "booked 10:00", datetime.time(10))
    assert order(orth, at(WEDNESDAY, 9, 30)) == ["booked 10:00", "walk-in"]


def test_emergency_beats_everything(orth, dr_rao, admin_user):
    checked_in(orth, dr_rao, "booked 9:00", datetime.time(9))
    walk_in(orth, "walk-in")
    walk_in(orth, "emergency", priority=Token.Priority.EMERGENCY, actor=admin_user)
    assert order(orth, at(WEDNESDAY, 9)) == ["emergency", "booked 9:00", "walk-in"]


def test_a_recalled_token_comes_before_due_appointments(orth, dr_rao, dr_iyer):
    first = walk_in(orth, "recalled")
    token = services.call_next(dr_iyer, now=at(WEDNESDAY, 8, 30))
    assert token.pk == first.pk
    services.skip_token(dr_iyer, token, now=at(WEDNESDAY, 8, 31))
    walk_in(orth, "walk-in")
    checked_in(orth, dr_rao, "booked 9:00", datetime.time(9))
    services.recall_token(dr_iyer, token, now=at(WEDNESDAY, 8, 59))
    assert order(orth, at(WEDNESDAY, 9)) == ["recalled", "booked 9:00", "walk-in"]


def test_assigned_tokens_are_skipped_by_other_doctors(orth, dr_rao, dr_iyer):
    checked_in(orth, dr_rao, "Rao's patient", datetime.time(9))
    walk_in(orth, "walk-in")
    now = at(WEDNESDAY, 9)
    assert order(orth, now, doctor=dr_iyer) == ["walk-in"]
    assert order(orth, now, doctor=dr_rao) == ["Rao's patient", "walk-in"]
    # The department-wide order (the public display) still has both.
    assert order(orth, now) == ["Rao's patient", "walk-in"]
    assert services.call_next(dr_iyer, now=now).patient_name == "walk-in"
    assert order(orth, now, doctor=dr_iyer) == []
    assert services.call_next(dr_rao, now=now).patient_name == "Rao's patient"


def test_a_doctor_with_only_others_patients_waiting_has_nobody_to_call(orth, dr_rao, dr_iyer):
    checked_in(orth, dr_rao, "Rao's patient", datetime.time(9))
    with pytest.raises(services.QueueError, match="Nobody is waiting"):
        services.call_next(dr_iyer, now=at(WEDNESDAY, 9))


def test_call_next_follows_the_policy(orth, dr_rao):
    walk_in(orth, "walk-in")
    checked_in(orth, dr_rao, "booked 9:00", datetime.time(9))
    assert services.call_next(dr_rao, now=at(WEDNESDAY, 8, 55)).patient_name == "booked 9:00"


def test_the_doctor_terminal_lists_what_that_doctor_will_call(orth, dr_rao, dr_iyer, monkeypatch):
    from django.utils import timezone

    from queues.terminal import doctor_lists

    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 9))
    booked = checked_in(orth, dr_rao, "Rao's patient", datetime.time(9)).display_number
    walked_in = walk_in(orth, "walk-in").display_number
    # The same queue version, two doctors: each sees their own list, not the other's.
    assert doctor_lists(dr_rao.pk)["lists"]["waiting"] == [booked, walked_in]
    assert doctor_lists(dr_iyer.pk)["lists"]["waiting"] == [walked_in]
    assert doctor_lists(dr_rao.pk)["lists"]["waiting"] == [booked, walked_in]


def test_a_later_days_appointments_are_not_due_today(orth, dr_rao):
    walk_in(orth, "walk-in")
    checked_in(orth, dr_rao, "booked 9:00", datetime.time(9))
    # Seen from the evening before, nothing of Wednesday is due yet.
    evening = at(WEDNESDAY - datetime.timedelta(days=1), 20)
    assert order(orth, evening) == ["walk-in", "booked 9:00"]
    # Seen from the day after, all of them are.
    assert order(orth, at(WEDNESDAY + datetime.timedelta(days=1), 8)) == ["booked 9:00", "walk-in"]


def test_the_issue_token_emergency_rule_admits_the_reception_desk(orth, receptionist):
    token = walk_in(orth, "E", priority=Token.Priority.EMERGENCY, actor=receptionist)
    assert token.priority == Token.Priority.EMERGENCY
