"""Every status change a token can make, the ones the queue refuses, and the figures
computed from the times the changes record."""

import datetime

import pytest

from queues import reading
from queues.models import Token, TokenEvent
from queues.services import (
    QueueError,
    call_next,
    cancel_token,
    complete_token,
    delete_token,
    issue_token,
    recall_token,
    skip_token,
    start_consultation,
)
from tests.conftest import WEDNESDAY, at

THURSDAY = WEDNESDAY + datetime.timedelta(days=1)
TUESDAY = WEDNESDAY - datetime.timedelta(days=1)


def issue(department, name, minute=0, **kwargs):
    return issue_token(department, name, now=at(WEDNESDAY, 8, minute), **kwargs)


def refresh(token: Token) -> Token:
    token.refresh_from_db()
    return token


def called(doctor, minute=0) -> Token:
    return call_next(doctor, now=at(WEDNESDAY, 9, minute))


# --- Call next: who is called ----------------------------------------------------------


def test_call_next_calls_in_number_order(orth, dr_rao):
    tokens = [issue(orth, name, i) for i, name in enumerate(["Asha", "Bala", "Chitra"])]
    order = []
    for minute in (0, 10, 20):
        token = called(dr_rao, minute)
        order.append(token.number)
        complete_token(
            dr_rao,
            start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, minute + 1)),
            now=at(WEDNESDAY, 9, minute + 5),
        )
    assert order == [t.number for t in tokens] == [1, 2, 3]


def test_call_next_marks_the_token_called_by_the_doctor(orth, dr_rao):
    issue(orth, "Asha")
    token = called(dr_rao, 7)
    assert token.status == Token.Status.CALLED
    assert token.doctor == dr_rao
    assert token.called_at == at(WEDNESDAY, 9, 7)


def test_call_next_takes_emergencies_first_then_recalled_then_by_number(orth, dr_rao, admin_user):
    one, two, three = issue(orth, "Asha", 1), issue(orth, "Bala", 2), issue(orth, "Chitra", 3)
    # Asha does not come when called, then turns up: recalled.
    skip_token(dr_rao, called(dr_rao, 0), now=at(WEDNESDAY, 9, 2))
    recall_token(dr_rao, one, now=at(WEDNESDAY, 9, 30))
    emergency = issue(orth, "Dev", 40, priority=Token.Priority.EMERGENCY, actor=admin_user)

    order = []
    for minute in (40, 41, 42, 43):
        token = called(dr_rao, minute)
        order.append(token.pk)
        skip_token(dr_rao, token, now=at(WEDNESDAY, 9, minute))
    assert order == [emergency.pk, one.pk, two.pk, three.pk]


def test_recalled_tokens_go_in_the_order_they_were_recalled(orth, dr_rao, dr_iyer):
    first, second, _ = issue(orth, "Asha", 1), issue(orth, "Bala", 2), issue(orth, "Chitra", 3)
    skip_token(dr_rao, called(dr_rao, 0), now=at(WEDNESDAY, 9, 1))
    skip_token(dr_rao, called(dr_rao, 2), now=at(WEDNESDAY, 9, 3))
    recall_token(dr_iyer, second, now=at(WEDNESDAY, 9, 10))
    recall_token(dr_iyer, first, now=at(WEDNESDAY, 9, 11))
    assert called(dr_rao, 20).pk == second.pk
    assert called(dr_iyer, 20).pk == first.pk


def test_emergencies_are_called_among_themselves_by_number(orth, dr_rao, admin_user):
    issue(orth, "Asha", 1)
    e1 = issue(orth, "Bala", 2, priority=Token.Priority.EMERGENCY, actor=admin_user)
    e2 = issue(orth, "Chitra", 3, priority=Token.Priority.EMERGENCY, actor=admin_user)
    assert called(dr_rao, 0).pk == e1.pk
    skip_token(dr_rao, e1, now=at(WEDNESDAY, 9, 1))
    assert called(dr_rao, 2).pk == e2.pk


def test_call_next_only_calls_todays_tokens(orth, dr_rao):
    thursday = issue_token(orth, "Asha", service_date=THURSDAY, now=at(WEDNESDAY, 8))
    with pytest.raises(QueueError, match="Nobody is waiting"):
        called(dr_rao)
    today = issue(orth, "Bala", 5)
    assert called(dr_rao, 10).pk == today.pk
    assert refresh(thursday).status == Token.Status.WAITING


def test_call_next_only_calls_the_doctors_own_department(orth, card, dr_rao, dr_shah):
    cardiac = issue(card, "Asha", 1)
    ortho = issue(orth, "Bala", 2)
    assert called(dr_rao).pk == ortho.pk
    skip_token(dr_rao, ortho, now=at(WEDNESDAY, 9, 1))
    with pytest.raises(QueueError, match="Nobody is waiting"):
        called(dr_rao, 5)
    assert refresh(cardiac).status == Token.Status.WAITING
    assert called(dr_shah).pk == cardiac.pk


def test_call_next_skips_cancelled_and_finished_tokens(orth, dr_rao, admin_user):
    cancelled = issue(orth, "Asha", 1)
    cancel_token(cancelled, actor=admin_user, now=at(WEDNESDAY, 8, 30))
    waiting = issue(orth, "Bala", 2)
    assert called(dr_rao).pk == waiting.pk


def test_call_next_with_nobody_waiting_is_refused(orth, dr_rao):
    with pytest.raises(QueueError, match="Nobody is waiting. Nothing to call."):
        called(dr_rao)


@pytest.mark.parametrize("open_status", ["called", "in_consultation"])
def test_a_doctor_with_an_open_token_cannot_call_next(orth, dr_rao, open_status):
    issue(orth, "Asha", 1)
    issue(orth, "Bala", 2)
    token = called(dr_rao)
    if open_status == "in_consultation":
        start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 1))
    with pytest.raises(QueueError, match="Finish ORTH-001 first"):
        called(dr_rao, 5)
    assert Token.objects.filter(status=Token.Status.WAITING).count() == 1


def test_after_skipping_the_doctor_can_call_next(orth, dr_rao):
    issue(orth, "Asha", 1)
    second = issue(orth, "Bala", 2)
    skip_token(dr_rao, called(dr_rao), now=at(WEDNESDAY, 9, 3))
    assert called(dr_rao, 4).pk == second.pk


# --- Start, complete, skip, recall: allowed ---------------------------------------------


def test_the_whole_visit(orth, dr_rao):
    token = issue(orth, "Asha", 1)
    token = called(dr_rao, 0)
    token = start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 2))
    assert token.status == Token.Status.IN_CONSULTATION
    assert token.started_at == at(WEDNESDAY, 9, 2)
    token = complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 14))
    assert token.status == Token.Status.COMPLETED
    assert token.completed_at == at(WEDNESDAY, 9, 14)
    saved = refresh(token)
    assert (saved.called_at, saved.started_at, saved.completed_at) == (
        at(WEDNESDAY, 9, 0),
        at(WEDNESDAY, 9, 2),
        at(WEDNESDAY, 9, 14),
    )


def test_a_skipped_token_can_be_recalled_by_any_doctor_of_the_department(orth, dr_rao, dr_iyer):
    token = issue(orth, "Asha", 1)
    skip_token(dr_rao, called(dr_rao), now=at(WEDNESDAY, 9, 3))
    assert refresh(token).status == Token.Status.SKIPPED
    recalled = recall_token(dr_iyer, token, now=at(WEDNESDAY, 9, 30))
    assert recalled.status == Token.Status.WAITING
    assert recalled.recalled_at == at(WEDNESDAY, 9, 30)
    assert recalled.doctor is None
    assert recalled.called_at is None
    # Back in the queue: the other doctor can call them now.
    assert call_next(dr_iyer, now=at(WEDNESDAY, 9, 31)).pk == token.pk


def test_a_waiting_token_can_be_cancelled_by_staff(orth, admin_user):
    token = issue(orth, "Asha", 1)
    cancel_token(token, actor=admin_user, reason="Left", now=at(WEDNESDAY, 8, 30))
    assert refresh(token).status == Token.Status.CANCELLED
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.CANCELLED)
    assert (event.actor, event.note) == (admin_user, "Left")


# --- Refused transitions ----------------------------------------------------------------


def in_status(orth, dr_rao, status: str) -> Token:
    """A token of Dr. Rao's brought to `status` through the services."""
    token = issue(orth, "Asha", 1)
    if status == "waiting":
        return token
    if status == "cancelled":
        return cancel_token(token, actor=dr_rao.user, now=at(WEDNESDAY, 8, 30))
    token = called(dr_rao)
    if status == "skipped":
        return skip_token(dr_rao, token, now=at(WEDNESDAY, 9, 1))
    if status == "called":
        return token
    token = start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 1))
    if status == "in_consultation":
        return token
    return complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 10))


START_REFUSED = "only a called token can start a consultation"
COMPLETE_REFUSED = "start the consultation before completing it"
SKIP_REFUSED = "only a called patient who has not come can be skipped"
RECALL_REFUSED = "only a skipped token can be recalled"


@pytest.mark.parametrize(
    "action, status, message",
    [
        (start_consultation, "in_consultation", f"ORTH-001 is In consultation; {START_REFUSED}"),
        (start_consultation, "completed", f"ORTH-001 is Completed; {START_REFUSED}"),
        (start_consultation, "skipped", f"ORTH-001 is Skipped \\(no-show\\); {START_REFUSED}"),
        (complete_token, "called", f"ORTH-001 is Called; {COMPLETE_REFUSED}"),
        (complete_token, "completed", f"ORTH-001 is Completed; {COMPLETE_REFUSED}"),
        (complete_token, "skipped", COMPLETE_REFUSED),
        (skip_token, "in_consultation", f"ORTH-001 is In consultation; {SKIP_REFUSED}"),
        (skip_token, "completed", SKIP_REFUSED),
        (skip_token, "skipped", SKIP_REFUSED),
        (recall_token, "waiting", f"ORTH-001 is Waiting; {RECALL_REFUSED}"),
        (recall_token, "called", RECALL_REFUSED),
        (recall_token, "in_consultation", RECALL_REFUSED),
        (recall_token, "completed", RECALL_REFUSED),
        (recall_token, "cancelled", RECALL_REFUSED),
    ],
)
def test_refused_transitions_change_nothing(orth, dr_rao, action, status, message):
    token = in_status(orth, dr_rao, status)
    events = TokenEvent.objects.count()
    before = refresh(token).status
    with pytest.raises(QueueError, match=message):
        action(dr_rao, token, now=at(WEDNESDAY, 9, 20))
    assert refresh(token).status == before == status
    assert TokenEvent.objects.count() == events


@pytest.mark.parametrize(
    "action, message",
    [
        (start_consultation, START_REFUSED),
        (complete_token, COMPLETE_REFUSED),
        (skip_token, SKIP_REFUSED),
    ],
)
def test_acting_on_a_waiting_token_says_why_it_is_refused(orth, dr_rao, action, message):
    token = issue(orth, "Asha", 1)
    with pytest.raises(QueueError, match=f"ORTH-001 is Waiting; {message}"):
        action(dr_rao, token, now=at(WEDNESDAY, 9))


@pytest.mark.parametrize("action", [start_consultation, complete_token, skip_token])
def test_acting_on_a_waiting_token_is_refused(orth, dr_rao, action):
    token = issue(orth, "Asha", 1)
    with pytest.raises(QueueError):
        action(dr_rao, token, now=at(WEDNESDAY, 9))
    assert refresh(token).status == Token.Status.WAITING


@pytest.mark.parametrize("status", ["called", "in_consultation", "completed"])
def test_only_waiting_or_skipped_tokens_can_be_cancelled(orth, dr_rao, admin_user, status):
    token = in_status(orth, dr_rao, status)
    with pytest.raises(QueueError, match="only a waiting or skipped token can be cancelled"):
        cancel_token(token, actor=admin_user, now=at(WEDNESDAY, 9, 20))
    assert refresh(token).status == status


def test_a_skipped_patient_who_left_can_be_cancelled(orth, dr_rao, admin_user):
    token = in_status(orth, dr_rao, "skipped")
    cancel_token(token, actor=admin_user, reason="Left", now=at(WEDNESDAY, 9, 20))
    assert refresh(token).status == Token.Status.CANCELLED


def test_yesterdays_skipped_token_cannot_be_recalled(orth, dr_rao):
    token = issue_token(orth, "Asha", now=at(TUESDAY, 8))
    skip_token(dr_rao, call_next(dr_rao, now=at(TUESDAY, 9)), now=at(TUESDAY, 9, 5))
    with pytest.raises(QueueError, match="only today's can be recalled"):
        recall_token(dr_rao, refresh(token), now=at(WEDNESDAY, 9))
    assert refresh(token).status == Token.Status.SKIPPED


@pytest.mark.parametrize("action", [start_consultation, complete_token, skip_token, recall_token])
def test_another_departments_doctor_cannot_act(orth, dr_rao, dr_shah, action):
    status = {recall_token: "skipped", complete_token: "in_consultation"}.get(action, "called")
    token = in_status(orth, dr_rao, status)
    with pytest.raises(QueueError, match="ORTH-001 is not in your department's queue"):
        action(dr_shah, token, now=at(WEDNESDAY, 9, 20))
    assert refresh(token).status == status


@pytest.mark.parametrize("action", [start_consultation, complete_token, skip_token])
def test_a_doctor_cannot_act_on_another_doctors_token(orth, dr_rao, dr_iyer, action):
    status = "in_consultation" if action is complete_token else "called"
    token = in_status(orth, dr_rao, status)
    with pytest.raises(QueueError, match="ORTH-001 was called by another doctor"):
        action(dr_iyer, token, now=at(WEDNESDAY, 9, 20))
    token = refresh(token)
    assert (token.status, token.doctor) == (status, dr_rao)


# --- The audit trail --------------------------------------------------------------------


def test_every_change_writes_an_event_naming_who_did_it(orth, dr_rao, dr_iyer, admin_user):
    first = issue(orth, "Asha", 1)
    second = issue(orth, "Bala", 2, actor=admin_user)
    skip_token(dr_rao, called(dr_rao, 0), now=at(WEDNESDAY, 9, 1))
    recall_token(dr_iyer, first, now=at(WEDNESDAY, 9, 2))
    # Admin acting on the doctor's terminal on their behalf is recorded as the admin.
    token = call_next(dr_rao, actor=admin_user, now=at(WEDNESDAY, 9, 3))
    start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 4))
    complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 9))
    cancel_token(second, actor=admin_user, now=at(WEDNESDAY, 9, 10))

    rows = list(
        TokenEvent.objects.order_by("at", "id").values_list(
            "token_number", "kind", "actor__username", "doctor__name", "at"
        )
    )
    K = TokenEvent.Kind
    assert rows == [
        (1, K.ISSUED, None, None, at(WEDNESDAY, 8, 1)),
        (2, K.ISSUED, "admin", None, at(WEDNESDAY, 8, 2)),
        (1, K.CALLED, "rao", "Dr. Rao", at(WEDNESDAY, 9, 0)),
        (1, K.SKIPPED, "rao", "Dr. Rao", at(WEDNESDAY, 9, 1)),
        (1, K.RECALLED, "iyer", "Dr. Iyer", at(WEDNESDAY, 9, 2)),
        (1, K.CALLED, "admin", "Dr. Rao", at(WEDNESDAY, 9, 3)),
        (1, K.STARTED, "rao", "Dr. Rao", at(WEDNESDAY, 9, 4)),
        (1, K.COMPLETED, "rao", "Dr. Rao", at(WEDNESDAY, 9, 9)),
        (2, K.CANCELLED, "admin", None, at(WEDNESDAY, 9, 10)),
    ]
    assert set(TokenEvent.objects.values_list("service_date", flat=True)) == {WEDNESDAY}


def test_every_change_moves_the_department_version_on(orth, dr_rao):
    issue(orth, "Asha", 1)
    token = called(dr_rao)
    start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 1))
    orth.refresh_from_db()
    assert orth.state_version == 3


def test_refusals_write_no_event_and_keep_the_version(orth, dr_rao):
    issue(orth, "Asha", 1)
    called(dr_rao)
    orth.refresh_from_db()
    version, events = orth.state_version, TokenEvent.objects.count()
    with pytest.raises(QueueError):
        called(dr_rao, 1)
    orth.refresh_from_db()
    assert (orth.state_version, TokenEvent.objects.count()) == (version, events)


def test_deleting_a_token_keeps_its_history(orth, dr_rao, admin_user):
    token = issue(orth, "Asha", 1)
    delete_token(token, actor=admin_user, now=at(WEDNESDAY, 9))
    assert not Token.objects.exists()
    kinds = list(TokenEvent.objects.values_list("kind", "token", "token_number", "note"))
    assert kinds == [
        (TokenEvent.Kind.ISSUED, None, 1, ""),
        (TokenEvent.Kind.DELETED, None, 1, "ORTH-001"),
    ]
    assert TokenEvent.objects.get(kind=TokenEvent.Kind.DELETED).actor == admin_user


# --- Day figures ------------------------------------------------------------------------


def see(doctor, issued_at, call, start=None, finish=None, *, department=None, skip=None):
    """One patient's visit at the given times (hour, minute) on Wednesday."""
    department = department or doctor.department
    issue_token(department, "Patient", now=at(WEDNESDAY, *issued_at))
    token = call_next(doctor, now=at(WEDNESDAY, *call))
    if skip:
        return skip_token(doctor, token, now=at(WEDNESDAY, *skip))
    token = start_consultation(doctor, token, now=at(WEDNESDAY, *start))
    if finish:
        token = complete_token(doctor, token, now=at(WEDNESDAY, *finish))
    return token


def test_doctor_figures_from_known_times(orth, dr_rao, dr_iyer):
    see(dr_rao, (9, 0), call=(9, 10), start=(9, 12), finish=(9, 22))  # wait 10, consult 10
    see(dr_rao, (9, 5), call=(9, 22), start=(9, 25), finish=(9, 40))  # wait 17, consult 15
    see(dr_rao, (9, 20), call=(9, 40), skip=(9, 43))  # no-show: wait 20, not seen
    see(dr_rao, (9, 30), call=(9, 44), start=(9, 45))  # still in consultation: wait 14
    see(dr_iyer, (9, 31), call=(9, 31), start=(9, 32), finish=(10, 32))  # not Dr. Rao's

    figures = reading.doctor_figures(dr_rao, WEDNESDAY)
    assert figures.patients_seen == 2
    assert figures.average_wait_minutes == pytest.approx((10 + 17 + 20 + 14) / 4)
    assert figures.average_consultation_minutes == pytest.approx(12.5)

    iyer = reading.doctor_figures(dr_iyer, WEDNESDAY)
    assert (iyer.patients_seen, iyer.average_wait_minutes) == (1, 0)
    assert iyer.average_consultation_minutes == pytest.approx(60)

    department = reading.day_figures(Token.objects.filter(service_date=WEDNESDAY))
    assert department.patients_seen == 3
    assert department.average_consultation_minutes == pytest.approx((10 + 15 + 60) / 3)


def test_figures_of_a_day_with_nobody_seen(orth, dr_rao):
    figures = reading.doctor_figures(dr_rao, WEDNESDAY)
    assert figures == reading.DayFigures(0, None, None)


def test_a_token_taken_days_ahead_waits_from_the_start_of_its_day(orth, dr_rao):
    issue_token(orth, "Asha", service_date=WEDNESDAY, now=at(TUESDAY, 17))
    call_next(dr_rao, now=at(WEDNESDAY, 9, 30))
    assert reading.doctor_figures(dr_rao, WEDNESDAY).average_wait_minutes == 9 * 60 + 30


def test_average_consultation_falls_back_to_the_default_until_someone_is_seen(
    orth, dr_rao, settings
):
    settings.DEFAULT_CONSULTATION_MINUTES = 8
    assert reading.average_consultation_minutes(orth, WEDNESDAY) == 8
    see(dr_rao, (9, 0), call=(9, 0), start=(9, 0), finish=(9, 12))
    assert reading.average_consultation_minutes(orth, WEDNESDAY) == 12


def test_estimated_wait_shares_the_queue_between_doctors_on_duty(orth, dr_rao, dr_iyer):
    see(dr_rao, (8, 0), call=(8, 0), start=(8, 0), finish=(8, 20))  # 20 min per patient
    waiting = [issue(orth, name, 30) for name in ["A", "B", "C", "D", "E"]]
    assert [reading.tokens_ahead(t) for t in waiting] == [0, 1, 2, 3, 4]
    assert reading.estimated_wait_minutes(waiting[4]) == round(4 * 20 / 2)
    dr_iyer.on_duty = False
    dr_iyer.save()
    assert reading.estimated_wait_minutes(waiting[4]) == 4 * 20
    token = call_next(dr_rao, now=at(WEDNESDAY, 9))
    assert reading.estimated_wait_minutes(token) is None
