"""Breaks and late starts (queues.breaks): a desk pauses with a reason and a time it
expects to be back, resumes, or says it will start late; every change logged with who;
paused desks call no one, leave the estimates, keep their booked patients, and the
department's screens show a neutral notice."""

import datetime

import pytest

from hospital.models import Department, Doctor
from queues import breaks, reading, services
from queues.models import DeskEvent, Token
from queues.services import QueueError
from queues.state import public_state
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 10)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def fresh(desk):
    return type(desk).objects.get(pk=desk.pk)


def test_a_doctor_pauses_for_a_ward_round_and_resumes(dr_rao):
    breaks.pause(dr_rao, reason="ward round", back_at=datetime.time(11, 30), now=NOW)
    doctor = fresh(dr_rao)
    assert doctor.is_paused
    assert doctor.pause_reason == "ward round"
    assert doctor.paused_at == NOW
    assert doctor.back_at == at(WEDNESDAY, 11, 30)

    breaks.resume(dr_rao, now=at(WEDNESDAY, 11, 20))
    doctor = fresh(dr_rao)
    assert not doctor.is_paused
    assert (doctor.pause_reason, doctor.back_at) == ("", None)


def test_every_pause_and_resume_is_logged_with_who(dr_rao, admin_user):
    breaks.pause(dr_rao, reason="  theatre ", now=NOW)
    breaks.resume(dr_rao, actor=admin_user, now=at(WEDNESDAY, 12))
    events = list(DeskEvent.objects.values_list("kind", "reason", "actor", "doctor", "at"))
    assert events == [
        (DeskEvent.Kind.PAUSED, "theatre", dr_rao.user.pk, dr_rao.pk, NOW),
        (DeskEvent.Kind.RESUMED, "", admin_user.pk, dr_rao.pk, at(WEDNESDAY, 12)),
    ]


def test_a_pause_and_a_resume_move_the_departments_version_on(dr_rao, orth):
    breaks.pause(dr_rao, reason="break", now=NOW)
    breaks.resume(dr_rao, now=NOW)
    assert Department.objects.get(pk=orth.pk).state_version == orth.state_version + 2


def test_free_text_reasons_are_cleaned_and_limited(dr_rao):
    breaks.pause(dr_rao, reason="  meeting   with\tthe dean ", now=NOW)
    assert fresh(dr_rao).pause_reason == "meeting with the dean"
    with pytest.raises(QueueError, match="too long"):
        breaks.pause(dr_rao, reason="x" * 81, now=NOW)
    with pytest.raises(QueueError, match="Enter the reason"):
        breaks.pause(dr_rao, reason="   ", now=NOW)
    with pytest.raises(QueueError, match="cannot be printed"):
        breaks.pause(dr_rao, reason="lunch\x00", now=NOW)


def test_a_back_time_that_has_passed_is_refused(dr_rao):
    with pytest.raises(QueueError, match="09:30 has already passed"):
        breaks.pause(dr_rao, reason="break", back_at=datetime.time(9, 30), now=NOW)
    assert not fresh(dr_rao).is_paused
    assert not DeskEvent.objects.exists()


def test_pausing_is_refused_while_a_patient_is_open(dr_rao, orth):
    services.issue_token(orth, "Asha", now=at(WEDNESDAY, 9))
    called = services.call_next(dr_rao, now=at(WEDNESDAY, 9, 30))
    with pytest.raises(QueueError, match=f"Finish {called.display_number} first"):
        breaks.pause(dr_rao, reason="ward round", now=NOW)
    with pytest.raises(QueueError, match=f"Finish {called.display_number} first"):
        breaks.late_start(dr_rao, back_at=datetime.time(11), now=NOW)
    assert not fresh(dr_rao).is_paused
    assert not DeskEvent.objects.exists()


def test_pausing_again_changes_the_reason_but_not_when_it_began(dr_rao):
    breaks.pause(dr_rao, reason="break", now=NOW)
    breaks.pause(
        dr_rao, reason="emergency call", back_at=datetime.time(12), now=at(WEDNESDAY, 10, 5)
    )
    doctor = fresh(dr_rao)
    assert (doctor.pause_reason, doctor.paused_at) == ("emergency call", NOW)
    assert DeskEvent.objects.count() == 2


def test_resuming_when_not_paused_is_refused(dr_rao):
    with pytest.raises(QueueError, match="You are not paused"):
        breaks.resume(dr_rao, now=NOW)


def test_a_late_start_needs_a_time_and_is_logged(dr_rao):
    with pytest.raises(QueueError, match="Enter the time you expect to start"):
        breaks.late_start(dr_rao, back_at=None, now=NOW)
    breaks.late_start(dr_rao, back_at=datetime.time(10, 45), now=NOW)
    doctor = fresh(dr_rao)
    assert doctor.is_paused and doctor.pause_reason == "starting late"
    event = DeskEvent.objects.get()
    assert (event.kind, event.reason, event.back_at) == (
        DeskEvent.Kind.LATE,
        "starting late",
        at(WEDNESDAY, 10, 45),
    )


def test_a_counter_pauses_and_resumes(lab_tech, lab_counter):
    breaks.pause(lab_counter, reason="break", actor=lab_tech.user, now=NOW)
    assert fresh(lab_counter).is_paused
    breaks.resume(lab_counter, actor=lab_tech.user, now=NOW)
    events = DeskEvent.objects.filter(counter=lab_counter, actor=lab_tech.user)
    assert events.count() == 2


def test_call_next_is_refused_while_paused(dr_rao, orth):
    services.issue_token(orth, "Asha", now=at(WEDNESDAY, 9))
    breaks.pause(dr_rao, reason="ward round", now=NOW)
    with pytest.raises(QueueError, match="You are paused"):
        services.call_next(dr_rao, now=NOW)
    breaks.resume(dr_rao, now=NOW)
    assert services.call_next(dr_rao, now=NOW).patient_name == "Asha"


def test_estimated_waits_leave_the_paused_doctor_out(dr_rao, dr_iyer, orth):
    assert reading.doctors_on_duty(orth) == 2
    breaks.pause(dr_rao, reason="ward round", now=NOW)
    assert reading.doctors_on_duty(orth) == 1
    assert public_state(orth, WEDNESDAY)["doctors_on_duty"] == 1


def test_a_paused_doctors_booked_patient_stays_theirs(dr_rao, dr_iyer, orth):
    booked = services.issue_token(orth, "Asha", assigned_doctor=dr_rao, now=at(WEDNESDAY, 9))
    breaks.pause(dr_rao, reason="ward round", back_at=datetime.time(11, 30), now=NOW)
    # Dr. Iyer goes on calling the pool, never Dr. Rao's booked patient.
    with pytest.raises(QueueError, match="Nobody is waiting"):
        services.call_next(dr_iyer, now=NOW)
    token = Token.objects.get(pk=booked.pk)
    assert token.assigned_doctor_id == dr_rao.pk
    assert token.status == Token.Status.WAITING
    breaks.resume(dr_rao, now=at(WEDNESDAY, 11, 25))
    assert services.call_next(dr_rao, now=at(WEDNESDAY, 11, 25)).pk == booked.pk


def test_the_screens_show_a_neutral_notice(dr_rao, dr_iyer, orth):
    assert public_state(orth, WEDNESDAY)["notices"] == []
    breaks.pause(dr_rao, reason="ward round", back_at=datetime.time(11, 30), now=NOW)
    breaks.late_start(dr_iyer, back_at=datetime.time(10, 45), now=NOW)
    assert public_state(orth, WEDNESDAY)["notices"] == [
        {"who": "Dr. Rao", "place": "Room 4", "text": "on a ward round, back about 11:30"},
        {"who": "Dr. Iyer", "place": "Room 5", "text": "starting late, expected about 10:45"},
    ]
    breaks.resume(dr_rao, now=NOW)
    assert [n["who"] for n in public_state(orth, WEDNESDAY)["notices"]] == ["Dr. Iyer"]


@pytest.mark.parametrize(
    "reason, text",
    [
        ("theatre", "in theatre"),
        ("break", "on a break"),
        ("emergency call", "on an emergency call"),
        # The person's own words stay on their terminal and in the log.
        ("family matter", "away"),
    ],
)
def test_a_notice_says_only_the_offered_words(dr_rao, orth, reason, text):
    breaks.pause(dr_rao, reason=reason, now=NOW)
    assert public_state(orth, WEDNESDAY)["notices"] == [
        {"who": "Dr. Rao", "place": "Room 4", "text": text}
    ]


def test_a_counters_notice_names_it_once(lab, lab_counter):
    breaks.pause(lab_counter, reason="break", back_at=datetime.time(10, 15), now=NOW)
    assert public_state(lab, WEDNESDAY)["notices"] == [
        {"who": "Counter 1", "place": "", "text": "on a break, back about 10:15"}
    ]


def test_a_pause_left_from_another_day_shows_no_stale_time(dr_rao, orth):
    breaks.pause(dr_rao, reason="break", back_at=datetime.time(11), now=NOW)
    thursday = WEDNESDAY + datetime.timedelta(days=1)
    assert public_state(orth, thursday)["notices"][0]["text"] == "on a break"


def test_other_departments_see_no_notice(dr_rao, dr_shah, card):
    breaks.pause(dr_rao, reason="ward round", now=NOW)
    assert public_state(card, WEDNESDAY)["notices"] == []
    assert Doctor.objects.get(pk=dr_shah.pk).is_paused is False
