"""The hot reads (the public state every change publishes, a counter's terminal) read a
fixed number of queries however busy the day: bench/day.py found both re-reading the
department once per token listed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from queues import reading, services
from queues.state import public_state
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at, make_counter_staff, make_doctor

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


def queries(read) -> int:
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured.captured_queries)


def finish(desk, now) -> None:
    token = reading.open_token_for(desk)
    services.start_consultation(desk, token, now=now)
    services.complete_token(desk, token, now=now)


def call_and_finish(doctor, minute: int) -> None:
    services.call_next(doctor, now=at(WEDNESDAY, 9, minute))
    finish(doctor, at(WEDNESDAY, 9, minute + 1))


def test_the_public_state_reads_as_many_queries_after_two_calls_as_after_eight(orth):
    doctors = [make_doctor(f"dr{i}", f"Dr. {i}", orth, str(i)) for i in range(4)]
    for i in range(12):
        services.issue_token(orth, f"Patient {i}", now=at(WEDNESDAY, 8, i))
    for minute, doctor in enumerate(doctors[:2]):
        call_and_finish(doctor, minute * 2)
    services.call_next(doctors[2], now=at(WEDNESDAY, 9, 5))
    few = queries(lambda: public_state(orth))

    finish(doctors[2], at(WEDNESDAY, 9, 8))
    for minute, doctor in enumerate([doctors[0], doctors[1], doctors[3]] * 2):
        call_and_finish(doctor, 10 + minute * 2)
    for minute, doctor in enumerate([doctors[3], doctors[0]]):
        services.call_next(doctor, now=at(WEDNESDAY, 9, 40 + minute))
    state = public_state(orth)
    assert len(state["recent_calls"]) == 8 and len(state["serving"]) == 2
    assert queries(lambda: public_state(orth)) == few


def test_a_counter_terminal_reads_as_many_queries_for_a_patients_third_stop_as_second(
    client, orth, dr_rao, lab, lab_tech, pharmacy, pharmacy_window
):
    pharmacist = make_counter_staff("pharm", "Pooja (pharmacy)", pharmacy, pharmacy_window)

    def patient_at_the_lab(name: str, stops: list) -> None:
        token = services.issue_token(orth, name, now=at(WEDNESDAY, 8))
        services.call_next(dr_rao, now=at(WEDNESDAY, 9))
        services.start_consultation(dr_rao, token, now=at(WEDNESDAY, 9))
        services.complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 5), send_on=stops)
        if stops[0].department == pharmacy:
            services.call_next(pharmacist.counter, actor=pharmacist.user, now=at(WEDNESDAY, 9, 6))
            finish(pharmacist.counter, at(WEDNESDAY, 9, 7))
        services.call_next(lab_tech.counter, actor=lab_tech.user, now=at(WEDNESDAY, 9, 8))

    client.force_login(lab_tech.user)
    patient_at_the_lab("Asha Rao", [NextStop(lab)])
    client.get(reverse("counter_terminal"))  # the session's first page reads more
    second_stop = queries(lambda: client.get(reverse("counter_terminal")))
    finish(lab_tech.counter, at(WEDNESDAY, 9, 9))

    patient_at_the_lab("Bala K", [NextStop(pharmacy), NextStop(lab)])
    page = client.get(reverse("counter_terminal")).content.decode()
    assert "ORTH-002" in page and "PHAR-001" in page
    assert queries(lambda: client.get(reverse("counter_terminal"))) == second_stop
