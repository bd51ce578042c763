"""Races with real threads, each on its own database connection, against whichever
database the suite runs on (SQLite file by default, PostgreSQL with DATABASE_URL).

The database must keep the rules: gapless unique numbers, one patient per "Call next",
one open token per doctor. A lost race must surface as a QueueError a person can read,
never an IntegrityError or "database is locked".
"""

import datetime
import random
from collections import Counter

import pytest

from queues.models import PriorityCategory, Token, TokenCounter, TokenEvent
from queues.reading import calling_sequence
from queues.services import (
    QueueError,
    call_next,
    change_category,
    complete_token,
    issue_token,
    start_consultation,
)
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at, make_counter_staff, make_doctor, race

NOW = at(WEDNESDAY, 9)

pytestmark = pytest.mark.django_db(transaction=True)


def unexpected(errors) -> list:
    return [e for e in errors if not isinstance(e, QueueError)]


# --- Issuing ------------------------------------------------------------------------------


def test_200_tokens_issued_at_once_are_numbered_1_to_200(orth):
    threads, each = 20, 10

    def issuer(t):
        return lambda: [issue_token(orth, f"Patient {t}-{i}", now=NOW).number for i in range(each)]

    results, errors = race([issuer(t) for t in range(threads)])
    assert errors == []
    numbers = sorted(n for batch in results for n in batch)
    assert numbers == list(range(1, 201))
    assert sorted(Token.objects.values_list("number", flat=True)) == numbers
    assert TokenCounter.objects.get(department=orth, service_date=WEDNESDAY).last == 200
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.ISSUED).count() == 200


def test_kiosks_racing_for_numbers_are_called_in_the_order_of_their_numbers(orth):
    # Each request reads the clock before it waits for the number (a jitter of up to a
    # second stands for the wait): the queue follows the numbers, not those clocks.
    jitter = random.Random(7)

    def issuer(t):
        def issue():
            for i in range(5):
                at_start = NOW + datetime.timedelta(milliseconds=jitter.randrange(1000))
                issue_token(orth, f"Patient {t}-{i}", now=at_start)

        return issue

    _, errors = race([issuer(t) for t in range(10)])
    assert errors == []
    called = [token.number for token in calling_sequence(orth, WEDNESDAY)]
    assert called == list(range(1, 51))


def test_the_daily_limit_holds_under_a_rush_and_leaves_no_gap(orth, card):
    orth.daily_token_limit = 60
    orth.save()

    def issuer(t):
        def job():
            issued = []
            for i in range(4):
                try:
                    issued.append(issue_token(orth, f"Patient {t}-{i}", now=NOW).number)
                except QueueError as exc:
                    assert "All 60 tokens" in str(exc)
            # Another department is not held up by Orthopaedics being full.
            issue_token(card, f"Patient {t}", now=NOW)
            return issued

        return job

    results, errors = race([issuer(t) for t in range(20)])
    assert errors == []
    assert sorted(n for batch in results for n in batch) == list(range(1, 61))
    assert TokenCounter.objects.get(department=orth, service_date=WEDNESDAY).last == 60
    card_numbers = Token.objects.filter(department=card).values_list("number", flat=True)
    assert sorted(card_numbers) == list(range(1, 21))


# --- Calling ------------------------------------------------------------------------------


def fill_queue(department, count: int) -> list[Token]:
    return [issue_token(department, f"Patient {i}", now=at(WEDNESDAY, 8)) for i in range(count)]


def open_tokens(doctor) -> int:
    return Token.objects.filter(doctor=doctor, status__in=Token.OPEN_STATUSES).count()


def test_two_doctors_working_through_the_queue_call_everyone_once_in_order(orth, dr_rao, dr_iyer):
    fill_queue(orth, 20)

    def work(doctor):
        def job():
            called = []
            while True:
                try:
                    token = call_next(doctor, now=NOW)
                except QueueError as exc:
                    if "Nobody is waiting" in str(exc):
                        return called
                    raise
                called.append(token.number)
                assert open_tokens(doctor) == 1
                start_consultation(doctor, token, now=NOW)
                complete_token(doctor, token, now=NOW)

        return job

    (rao, iyer), errors = race([work(dr_rao), work(dr_iyer)])
    assert errors == []
    # Every patient called exactly once: nobody skipped over, nobody called twice.
    assert sorted(rao + iyer) == list(range(1, 21))
    # Each doctor took patients in queue order.
    assert rao == sorted(rao) and iyer == sorted(iyer)
    assert not Token.objects.exclude(status=Token.Status.COMPLETED).exists()
    calls = Counter(
        TokenEvent.objects.filter(kind=TokenEvent.Kind.CALLED).values_list("doctor", flat=True)
    )
    assert calls == {dr_rao.pk: len(rao), dr_iyer.pk: len(iyer)}


def test_twenty_simultaneous_clicks_from_two_doctors_call_two_patients(orth, dr_rao, dr_iyer):
    fill_queue(orth, 20)
    clicks = [lambda d=doctor: call_next(d, now=NOW) for doctor in (dr_rao, dr_iyer) * 10]
    results, errors = race(clicks)
    assert unexpected(errors) == []
    assert len(errors) == 18
    assert all("first: complete it, or skip it" in str(e) for e in errors)
    winners = [token for token in results if token is not None]
    assert sorted(t.number for t in winners) == [1, 2]
    assert {t.doctor_id for t in winners} == {dr_rao.pk, dr_iyer.pk}
    assert open_tokens(dr_rao) == open_tokens(dr_iyer) == 1
    assert Token.objects.filter(status=Token.Status.WAITING).count() == 18
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.CALLED).count() == 2


def test_many_doctors_calling_at_once_each_get_a_different_patient(orth):
    doctors = [make_doctor(f"doc{i}", f"Dr. {i}", orth, str(i)) for i in range(8)]
    fill_queue(orth, 10)
    results, errors = race([lambda d=d: call_next(d, now=NOW) for d in doctors])
    assert errors == []
    # The first eight in the queue, one each; the last two still waiting.
    assert sorted(t.number for t in results) == list(range(1, 9))
    assert sorted(Token.objects.filter(status="waiting").values_list("number", flat=True)) == [
        9,
        10,
    ]


def test_a_double_click_calls_one_patient(orth, dr_rao):
    fill_queue(orth, 10)
    for round_ in range(5):
        results, errors = race([lambda: call_next(dr_rao, now=NOW)] * 2)
        assert unexpected(errors) == [], errors
        winners = [token for token in results if token is not None]
        assert len(winners) == 1 and len(errors) == 1
        token = winners[0]
        assert token.number == round_ + 1
        assert str(errors[0]).startswith(f"Finish {token.display_number} first")
        assert open_tokens(dr_rao) == 1
        start_consultation(dr_rao, token, now=NOW)
        complete_token(dr_rao, token, now=NOW)
    assert Token.objects.filter(status=Token.Status.WAITING).count() == 5
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.CALLED).count() == 5


def test_two_tabs_completing_the_same_token_complete_it_once(orth, dr_rao):
    fill_queue(orth, 1)
    token = call_next(dr_rao, now=NOW)
    start_consultation(dr_rao, token, now=NOW)
    results, errors = race([lambda: complete_token(dr_rao, token, now=NOW)] * 2)
    assert unexpected(errors) == []
    assert len(errors) == 1 and "start the consultation before completing" in str(errors[0])
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.COMPLETED).count() == 1


# --- Service counters and sending on ---------------------------------------------------------


def test_two_counters_pressing_call_next_for_one_patient_call_them_once(
    lab, lab_counter, lab_counter_2
):
    fill_queue(lab, 1)
    staff = [
        make_counter_staff(f"tech{i}", f"Tech {i}", lab, counter)
        for i, counter in enumerate([lab_counter, lab_counter_2])
    ]
    results, errors = race([lambda s=s: call_next(s.counter, actor=s.user, now=NOW) for s in staff])
    assert unexpected(errors) == []
    assert [str(e) for e in errors] == ["Nobody is waiting. Nothing to call."]
    [winner] = [token for token in results if token is not None]
    assert winner.number == 1 and winner.counter_id in {lab_counter.pk, lab_counter_2.pk}
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.CALLED).count() == 1


def test_a_counter_and_a_doctor_of_one_department_racing_for_one_patient_call_them_once(
    lab, lab_counter, lab_tech
):
    # Radiology or the laboratory may have doctors (a radiologist, a pathologist) as
    # well as counters, all calling from the department's one pool.
    pathologist = make_doctor("patho", "Dr. Pathologist", lab, "Lab 3")
    fill_queue(lab, 1)
    for _ in range(5):
        results, errors = race(
            [
                lambda: call_next(lab_counter, actor=lab_tech.user, now=NOW),
                lambda: call_next(pathologist, now=NOW),
            ]
        )
        assert unexpected(errors) == []
        assert [str(e) for e in errors] == ["Nobody is waiting. Nothing to call."]
        [winner] = [token for token in results if token is not None]
        assert (winner.counter_id is None) != (winner.doctor_id is None)
        # Put them back in the pool for the next round.
        Token.objects.filter(pk=winner.pk).update(status="waiting", counter=None, doctor=None)
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.CALLED).count() == 5


def test_two_counters_working_through_the_queue_call_everyone_once_in_order(
    lab, lab_counter, lab_counter_2, lab_tech
):
    fill_queue(lab, 20)

    def work(counter):
        def job():
            called = []
            while True:
                try:
                    token = call_next(counter, actor=lab_tech.user, now=NOW)
                except QueueError as exc:
                    if "Nobody is waiting" in str(exc):
                        return called
                    raise
                called.append(token.number)
                start_consultation(counter, token, actor=lab_tech.user, now=NOW)
                complete_token(counter, token, actor=lab_tech.user, now=NOW)

        return job

    (first, second), errors = race([work(lab_counter), work(lab_counter_2)])
    assert errors == []
    assert sorted(first + second) == list(range(1, 21))
    assert first == sorted(first) and second == sorted(second)
    assert not Token.objects.exclude(status=Token.Status.COMPLETED).exists()
    calls = Counter(
        TokenEvent.objects.filter(kind=TokenEvent.Kind.CALLED).values_list("counter", flat=True)
    )
    assert calls == {lab_counter.pk: len(first), lab_counter_2.pk: len(second)}


def test_the_desk_marking_an_emergency_while_doctors_call_next_never_deadlocks(
    orth, dr_rao, dr_iyer, receptionist
):
    # Call next locks the department (with its desk), then a token; the desk's category
    # change locks the same two rows in the same order (found deadlocking on PostgreSQL
    # by bench/day.py when it locked the token first).
    tokens = [issue_token(orth, f"Patient {i}", now=at(WEDNESDAY, 8, i)) for i in range(12)]
    emergency = PriorityCategory.objects.get(name="Emergency")
    jobs = []
    for token in tokens[::2]:
        jobs.append(lambda t=token: change_category(t, emergency, actor=receptionist, reason="x"))
    for doctor in (dr_rao, dr_iyer) * 3:
        jobs.append(lambda d=doctor: call_next_or_none(d))
    _, errors = race(jobs)
    # Refusals in words are fine (a token called before the desk marked it); no deadlock.
    assert [e for e in errors if not isinstance(e, QueueError)] == []


def call_next_or_none(doctor):
    try:
        token = call_next(doctor)
    except QueueError:
        return None
    complete_now(doctor, token)
    return token


def complete_now(doctor, token):
    start_consultation(doctor, token)
    complete_token(doctor, token)


def test_two_complete_and_send_on_requests_at_once_make_one_next_token(orth, dr_rao, lab):
    from django.test import Client
    from django.urls import reverse

    from queues.models import VisitStop

    [token] = fill_queue(orth, 1)
    call_next(dr_rao, now=NOW)
    start_consultation(dr_rao, token, now=NOW)
    url = reverse("doctor_complete", args=[token.public_id])
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(dr_rao.user)

    def press(client):
        def job():
            response = client.post(url, {"stop_1": f"department-{lab.pk}", "note_1": "CBC"})
            assert response.status_code == 302
            return [str(m) for m in response.wsgi_request._messages]

        return job

    results, errors = race([press(c) for c in clients])
    assert errors == []
    said = sorted(message for batch in results for message in batch)
    assert said == [
        "ORTH-001 completed; sent to Laboratory.",
        "ORTH-001 is Completed; start the consultation before completing it.",
    ]
    assert Token.objects.filter(department=lab).count() == 1
    assert VisitStop.objects.filter(department=lab).count() == 1
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.COMPLETED).count() == 1


# --- Separate processes ---------------------------------------------------------------------

ISSUER = """
import os, sys, time
import django
django.setup()
from hospital.models import Department
from queues.services import issue_token
orth = Department.objects.get(code="ORTH")
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))  # both start together
for i in range(100):
    issue_token(orth, f"Patient {os.getpid()}-{i}")
"""


def test_two_server_processes_issuing_at_once_number_1_to_200(orth):
    """As under gunicorn with two workers: two processes, each with its own connection,
    on the stock backends (SQLite's busy timeout, PostgreSQL's row lock)."""
    import subprocess
    import sys
    import time

    from tests.servers import ROOT, child_env

    start_at = str(time.time() + 3)
    workers = [
        subprocess.Popen([sys.executable, "-c", ISSUER, start_at], cwd=ROOT, env=child_env())
        for _ in range(2)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    numbers = sorted(Token.objects.filter(department=orth).values_list("number", flat=True))
    assert numbers == list(range(1, 201))
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.ISSUED).count() == 200


def in_consultation(doctor, department, name: str) -> Token:
    """A new patient of `department`, called and being seen by `doctor`."""
    issue_token(department, name, now=NOW)
    token = call_next(doctor, now=NOW)
    start_consultation(doctor, token, now=NOW)
    return token


def assert_numbered_without_gaps(*departments) -> None:
    for department in departments:  # everyone's number once, none missing
        numbers = list(department.tokens.values_list("number", flat=True))
        assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_doctors_sending_patients_to_each_others_departments_at_once_never_deadlock(
    orth, card, dr_rao, dr_shah
):
    # A patient sent on from Orthopaedics joins Cardiology's queue in the same
    # transaction, and the other way round: both departments are locked together, in one
    # order, before their counters (bench/day.py found these deadlocking on PostgreSQL,
    # and a kiosk issuing meanwhile in the other department).
    for i in range(6):
        issue_token(orth, f"Ortho patient {i}", now=at(WEDNESDAY, 8, i))
        issue_token(card, f"Cardio patient {i}", now=at(WEDNESDAY, 8, i))
    for round_ in range(6):
        rao_token = call_next(dr_rao, now=NOW)
        start_consultation(dr_rao, rao_token, now=NOW)
        shah_token = call_next(dr_shah, now=NOW)
        start_consultation(dr_shah, shah_token, now=NOW)
        _, errors = race([
            lambda t=rao_token: complete_token(dr_rao, t, now=NOW, send_on=[NextStop(card)]),
            lambda t=shah_token: complete_token(dr_shah, t, now=NOW, send_on=[NextStop(orth)]),
            lambda n=round_: issue_token(orth, f"Kiosk ortho {n}", now=NOW),
            lambda n=round_: issue_token(card, f"Kiosk cardio {n}", now=NOW),
        ])  # fmt: skip
        assert errors == []
    assert Token.objects.filter(status=Token.Status.COMPLETED).count() == 12
    assert_numbered_without_gaps(orth, card)


def test_the_desk_cancelling_a_sent_on_patient_while_doctors_send_patients_back_never_deadlocks(
    orth, card, dr_rao, receptionist
):
    # A cancelled stop opens the visit's next one in another department, in the same
    # transaction: both departments are locked up front, in the order a doctor completing
    # and sending on takes them (cancelling locked its own and then, when the next token
    # was made, the other; a doctor sending the other way held that one and waited).
    from queues.services import cancel_token

    for round_ in range(6):
        sent = in_consultation(dr_rao, orth, f"Ortho patient {round_}")
        complete_token(dr_rao, sent, now=NOW, send_on=[NextStop(card), NextStop(orth)])
        in_cardiology = sent.visit.tokens.get(department=card, status=Token.Status.WAITING)
        seen = in_consultation(dr_rao, orth, f"Another ortho patient {round_}")
        _, errors = race([
            lambda t=in_cardiology: cancel_token(t, actor=receptionist, reason="left", now=NOW),
            lambda t=seen: complete_token(dr_rao, t, now=NOW, send_on=[NextStop(card)]),
            lambda n=round_: issue_token(card, f"Kiosk cardio {n}", now=NOW),
        ])  # fmt: skip
        assert errors == []
        # The cancelled patient went back to Orthopaedics, as their visit planned.
        assert sent.visit.tokens.filter(department=orth, status=Token.Status.WAITING).exists()
    assert_numbered_without_gaps(orth, card)


def test_reception_sending_a_patient_on_while_their_doctor_completes_them_never_deadlocks(
    orth, lab, dr_rao, receptionist
):
    # The desk's send-on locked the visit, then wrote an event about the patient's token,
    # which the doctor completing them held; the doctor then waited for the visit. Both
    # now take the department first, and a token or visit locked for a change no longer
    # stops a row that merely refers to it.
    from queues.visits import send_on

    for round_ in range(6):
        token = in_consultation(dr_rao, orth, f"Ortho patient {round_}")
        _, errors = race([
            lambda t=token: complete_token(dr_rao, t, now=NOW),
            lambda t=token: send_on(t.visit, [NextStop(lab)], actor=receptionist, now=NOW),
        ])  # fmt: skip
        assert errors == []
        # Whichever came first, the patient now waits at the laboratory.
        assert token.visit.tokens.filter(department=lab, status=Token.Status.WAITING).exists()
