"""The front desk's actions on the live queue (queues.desk): recall a skipped patient,
move a token to another department or doctor, reprint, cancel, change the category and
call again; each logged with who and why."""

import datetime

import pytest

from queues import desk, reading, services
from queues.models import PriorityCategory, Token, TokenEvent, VisitStop
from queues.services import QueueError
from tests.conftest import WEDNESDAY, at, make_receptionist, race

pytestmark = pytest.mark.django_db

NOW = at(WEDNESDAY, 10)


def issue(department, name, minute=0, **kwargs) -> Token:
    return services.issue_token(department, name, now=at(WEDNESDAY, 8, minute), **kwargs)


def refresh(token: Token) -> Token:
    token.refresh_from_db()
    return token


def skipped(doctor, token_minute=0) -> Token:
    called = services.call_next(doctor, now=at(WEDNESDAY, 9, token_minute))
    return services.skip_token(doctor, called, now=at(WEDNESDAY, 9, token_minute))


def events(kind) -> list[TokenEvent]:
    return list(TokenEvent.objects.filter(kind=kind).select_related("actor"))


def category(name: str) -> PriorityCategory:
    return PriorityCategory.objects.get(name=name)


# --- Recall -------------------------------------------------------------------------------


def test_reception_recalls_a_skipped_patient_to_the_front(orth, dr_rao, receptionist):
    issue(orth, "Asha Rao", 0)
    issue(orth, "Bala Iyer", 1)
    issue(orth, "Chitra Menon", 2)
    asha = skipped(dr_rao)
    recalled = desk.recall_by_reception(asha, actor=receptionist, reason="Came back", now=NOW)
    assert recalled.status == Token.Status.WAITING and recalled.recalled_at == NOW
    assert recalled.doctor is None and recalled.called_at is None
    line = reading.calling_sequence(orth, WEDNESDAY, now=NOW)
    assert [t.patient_name for t in line] == ["Asha Rao", "Bala Iyer", "Chitra Menon"]
    (event,) = events(TokenEvent.Kind.RECALLED)
    assert event.actor == receptionist and event.note == "Came back"


def test_only_a_skipped_token_of_today_can_be_recalled(orth, dr_rao, receptionist):
    waiting = issue(orth, "Asha Rao")
    with pytest.raises(QueueError, match="only a skipped token can be recalled"):
        desk.recall_by_reception(waiting, actor=receptionist, reason="x", now=NOW)
    later = NOW + datetime.timedelta(days=1)
    skip = skipped(dr_rao)
    with pytest.raises(QueueError, match="only today's tokens can be recalled"):
        desk.recall_by_reception(skip, actor=receptionist, reason="x", now=later)
    with pytest.raises(QueueError, match="Enter the reason"):
        desk.recall_by_reception(skip, actor=receptionist, reason="  ", now=NOW)
    assert refresh(skip).status == Token.Status.SKIPPED
    assert not events(TokenEvent.Kind.RECALLED)


def test_a_doctor_or_nobody_cannot_use_the_desks_actions(orth, dr_rao):
    issue(orth, "Asha Rao")
    skip = skipped(dr_rao)
    for actor in (dr_rao.user, None):
        with pytest.raises(QueueError, match="Only the reception desk"):
            desk.recall_by_reception(skip, actor=actor, reason="x", now=NOW)


# --- Transfer -----------------------------------------------------------------------------


def test_a_transfer_keeps_the_patients_place_by_time(orth, card, receptionist):
    early = issue(orth, "Asha Rao", 0)
    issue(card, "Bala Iyer", 5)
    issue(card, "Chitra Menon", 10)
    moved = desk.transfer(early, card, actor=receptionist, reason="Chest pain", now=NOW)
    assert moved.pk != early.pk and moved.department == card
    assert moved.display_number == "CARD-003"
    assert moved.queued_at == early.queued_at == at(WEDNESDAY, 8, 0)
    assert moved.visit_id == early.visit_id
    line = reading.calling_sequence(card, WEDNESDAY, now=NOW)
    assert [t.patient_name for t in line] == ["Asha Rao", "Bala Iyer", "Chitra Menon"]
    assert refresh(early).status == Token.Status.CANCELLED
    (event,) = events(TokenEvent.Kind.TRANSFERRED)
    assert event.token == early and event.actor == receptionist
    assert event.note == "To Cardiology: Chest pain"


def test_a_transfer_leaves_the_visit_with_one_current_stop(orth, card, lab, receptionist):
    token = issue(orth, "Asha Rao")
    visit = token.visit
    # A stop planned for later stays after the new one.
    VisitStop.objects.create(
        visit=visit, position=2, department=lab, status=VisitStop.Status.PLANNED, sent_at=NOW
    )
    moved = desk.transfer(token, card, actor=receptionist, reason="Wrong queue", now=NOW)
    stops = list(visit.stops.order_by("position"))
    assert [(s.position, s.department.code, s.status) for s in stops] == [
        (1, "ORTH", VisitStop.Status.CANCELLED),
        (2, "CARD", VisitStop.Status.CURRENT),
        (3, "LAB", VisitStop.Status.PLANNED),
    ]
    current = stops[1]
    assert current.token == moved and current.kind == VisitStop.Kind.REFERRAL
    assert current.note == "Wrong queue" and current.sent_by == receptionist
    assert current.sent_from == token
    assert refresh(moved).visit.status == "open"


def test_a_transfer_to_a_named_doctor_in_another_department(orth, card, dr_shah, receptionist):
    token = issue(orth, "Asha Rao", mobile="98123 45678", category=category("Pregnant"))
    moved = desk.transfer(token, card, dr_shah, actor=receptionist, reason="Referral", now=NOW)
    assert moved.assigned_doctor == dr_shah and moved.stop.doctor == dr_shah
    assert moved.mobile == "+919812345678" and moved.category == category("Pregnant")
    assert events(TokenEvent.Kind.TRANSFERRED)[0].note == "To Dr. Shah, Cardiology: Referral"


def test_a_move_to_a_doctor_of_the_same_department_keeps_the_token(
    orth, dr_rao, dr_iyer, receptionist
):
    token = issue(orth, "Asha Rao")
    moved = desk.transfer(token, orth, dr_iyer, actor=receptionist, reason="Asked", now=NOW)
    assert moved.pk == token.pk and moved.assigned_doctor == dr_iyer
    assert moved.status == Token.Status.WAITING and moved.stop.doctor == dr_iyer
    assert [t.pk for t in reading.waiting_tokens(orth, WEDNESDAY, doctor=dr_rao)] == []
    # And back to the pool.
    desk.transfer(token, orth, None, actor=receptionist, reason="Any doctor", now=NOW)
    assert refresh(token).assigned_doctor is None
    assert len(events(TokenEvent.Kind.TRANSFERRED)) == 2
    with pytest.raises(QueueError, match="already in Orthopedic Surgery's queue"):
        desk.transfer(token, orth, None, actor=receptionist, reason="again", now=NOW)


def test_a_transfer_refuses_what_cannot_be_served(orth, card, dr_rao, dr_shah, receptionist):
    token = issue(orth, "Asha Rao")
    with pytest.raises(QueueError, match="Dr. Shah does not work in Orthopedic Surgery"):
        desk.transfer(token, orth, dr_shah, actor=receptionist, reason="x", now=NOW)
    card.is_active = False
    card.save()
    with pytest.raises(QueueError, match="not taking patients"):
        desk.transfer(token, card, actor=receptionist, reason="x", now=NOW)
    emergency = issue(orth, "Bala Iyer", priority=Token.Priority.EMERGENCY, actor=receptionist)
    with pytest.raises(QueueError, match="first free doctor"):
        desk.transfer(emergency, orth, dr_rao, actor=receptionist, reason="x", now=NOW)
    called = services.call_next(dr_rao, now=NOW)
    with pytest.raises(QueueError, match="only a waiting or skipped token can be moved"):
        desk.transfer(called, card, actor=receptionist, reason="x", now=NOW)
    assert Token.objects.count() == 2
    assert not events(TokenEvent.Kind.TRANSFERRED)


def test_a_skipped_token_moved_waits_again(orth, card, dr_rao, receptionist):
    issue(orth, "Asha Rao")
    skip = skipped(dr_rao)
    moved = desk.transfer(skip, card, actor=receptionist, reason="Wrong queue", now=NOW)
    assert moved.status == Token.Status.WAITING
    assert refresh(skip).status == Token.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_a_double_submitted_transfer_makes_one_new_token(orth, card):
    actor = make_receptionist("racer")
    token = issue(orth, "Asha Rao")

    def job():
        return desk.transfer(token, card, actor=actor, reason="Double click", now=NOW)

    results, errors = race([job, job])
    assert len(errors) == 1 and isinstance(errors[0], QueueError)
    assert "Cancelled; only a waiting or skipped token can be moved" in str(errors[0])
    assert Token.objects.filter(department=card).count() == 1
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.TRANSFERRED).count() == 1
    assert VisitStop.objects.filter(status=VisitStop.Status.CURRENT).count() == 1


# --- Reprint, call again, cancel, category ------------------------------------------------


def test_a_reprint_and_a_call_again_are_logged_with_who(orth, dr_rao, receptionist):
    issue(orth, "Asha Rao")
    called = services.call_next(dr_rao, now=at(WEDNESDAY, 9))
    desk.reprint(called, actor=receptionist, now=NOW)
    again = desk.announce_again(called, actor=receptionist, now=NOW)
    assert again.announced_at == NOW
    assert [e.actor for e in events(TokenEvent.Kind.REPRINTED)] == [receptionist]
    assert [e.actor for e in events(TokenEvent.Kind.ANNOUNCED)] == [receptionist]
    services.start_consultation(dr_rao, called, now=NOW)
    with pytest.raises(QueueError, match="only a called token can be announced again"):
        desk.announce_again(called, actor=receptionist, now=NOW)
    services.complete_token(dr_rao, called, now=NOW)
    with pytest.raises(QueueError, match="no longer needed"):
        desk.reprint(called, actor=receptionist, now=NOW)


def test_a_cancel_needs_a_reason_and_moves_the_visit_on(orth, receptionist):
    token = issue(orth, "Asha Rao")
    with pytest.raises(QueueError, match="Enter the reason"):
        desk.cancel(token, actor=receptionist, reason="", now=NOW)
    assert refresh(token).status == Token.Status.WAITING
    desk.cancel(token, actor=receptionist, reason="Went home", now=NOW)
    assert refresh(token).status == Token.Status.CANCELLED
    assert token.visit.status == "closed"
    (event,) = events(TokenEvent.Kind.CANCELLED)
    assert event.actor == receptionist and event.note == "Went home"


def test_a_category_change_reorders_the_queue_and_is_logged(orth, receptionist):
    issue(orth, "Asha Rao", 0)
    bala = issue(orth, "Bala Iyer", 1)
    desk.change_category(bala, category("Emergency"), actor=receptionist, reason="Fainted")
    line = reading.calling_sequence(orth, WEDNESDAY, now=NOW)
    assert [t.patient_name for t in line] == ["Bala Iyer", "Asha Rao"]
    assert refresh(bala).priority == Token.Priority.EMERGENCY
    desk.change_category(bala, None, actor=receptionist, reason="Recovered")
    line = reading.calling_sequence(orth, WEDNESDAY, now=NOW)
    assert [t.patient_name for t in line] == ["Asha Rao", "Bala Iyer"]
    notes = [(e.actor, e.note) for e in events(TokenEvent.Kind.CATEGORY)]
    assert notes == [
        (receptionist, "General → Emergency: Fainted"),
        (receptionist, "Emergency → General: Recovered"),
    ]
