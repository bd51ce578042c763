"""The board's figures per department, on a frozen Wednesday."""

import datetime

import pytest
from django.utils import timezone

from hospital.models import Counter
from queues import services
from supervision.figures import department_figures
from tests.conftest import WEDNESDAY, at, make_counter_staff, make_doctor

pytestmark = pytest.mark.django_db


def figures_by_code(now):
    return {f.code: f for f in department_figures(now)}


def test_an_empty_day_shows_zeroes_and_no_waits(orth, lab, dr_rao):
    f = figures_by_code(at(WEDNESDAY, 9))["ORTH"]
    assert (f.waiting, f.being_seen, f.seen_today) == (0, 0, 0)
    assert f.longest_wait_minutes is None
    assert f.average_wait_minutes is None
    assert f.seen_per_hour is None
    assert (f.desks_on_duty, f.desks_paused, f.desks_idle) == (1, 0, 1)
    assert not f.is_service and figures_by_code(at(WEDNESDAY, 9))["LAB"].is_service


def test_waiting_being_seen_waits_and_rate_on_a_frozen_morning(orth, dr_rao, dr_iyer):
    first = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9, 0))
    second = services.issue_token(orth, "Bala Iyer", now=at(WEDNESDAY, 9, 10))
    services.issue_token(orth, "Chitra Nair", now=at(WEDNESDAY, 9, 30))
    services.issue_token(orth, "Deepak Shah", now=at(WEDNESDAY, 9, 40))
    # Asha waited 20 min, seen 20 min; Bala waited 40 min and is with Dr. Iyer now.
    assert services.call_next(dr_rao, now=at(WEDNESDAY, 9, 20)) == first
    services.start_consultation(dr_rao, first, now=at(WEDNESDAY, 9, 21))
    services.complete_token(dr_rao, first, now=at(WEDNESDAY, 9, 40))
    assert services.call_next(dr_iyer, now=at(WEDNESDAY, 9, 50)) == second

    f = figures_by_code(at(WEDNESDAY, 10, 15))["ORTH"]
    assert f.waiting == 2
    assert f.being_seen == 1
    assert f.longest_wait_minutes == 45  # Chitra, since 9:30
    assert f.average_wait_minutes == 30  # (20 + 40) / 2, both called in the last hour
    assert f.seen_today == 1
    assert f.seen_per_hour == 1.0  # one patient since the first call, counted over 1 h
    # Dr. Iyer is with a patient; Dr. Rao is free.
    assert (f.desks_on_duty, f.desks_paused, f.desks_idle) == (2, 0, 1)

    # Later, Asha's call falls out of the hour; Bala's does not.
    later = figures_by_code(at(WEDNESDAY, 10, 30))["ORTH"]
    assert later.average_wait_minutes == 40
    assert later.longest_wait_minutes == 60


def test_seen_per_hour_is_counted_from_the_first_call(orth, dr_rao):
    tokens = [services.issue_token(orth, f"Patient {i}", now=at(WEDNESDAY, 8, 0)) for i in range(4)]
    for i, token in enumerate(tokens):
        called = at(WEDNESDAY, 9, 0) + datetime.timedelta(minutes=20 * i)
        services.call_next(dr_rao, now=called)
        services.start_consultation(dr_rao, token, now=called)
        services.complete_token(
            dr_rao, token, now=at(WEDNESDAY, 9, 10) + datetime.timedelta(minutes=20 * i)
        )
    f = figures_by_code(at(WEDNESDAY, 11, 0))["ORTH"]
    assert f.seen_today == 4
    assert f.seen_per_hour == 2.0  # 4 in the two hours since 9:00


def test_a_token_from_an_earlier_day_waits_from_the_start_of_today(orth):
    services.issue_token(
        orth, "Asha Rao", service_date=WEDNESDAY, now=at(WEDNESDAY - datetime.timedelta(days=1), 15)
    )
    f = figures_by_code(at(WEDNESDAY, 1, 30))["ORTH"]
    assert f.longest_wait_minutes == 90


def test_another_days_tokens_are_not_counted(orth):
    services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY - datetime.timedelta(days=1), 9))
    assert figures_by_code(at(WEDNESDAY, 9))["ORTH"].waiting == 0


def test_paused_and_off_duty_desks(orth, lab, dr_rao, dr_iyer, lab_counter, lab_tech):
    type(dr_iyer).objects.filter(pk=dr_iyer.pk).update(paused_at=at(WEDNESDAY, 9))
    make_doctor("nair", "Dr. Nair", orth, "6", on_duty=False)
    # A counter with nobody at it is not on duty; an inactive one neither.
    Counter.objects.create(department=lab, name="Counter 2")
    closed = Counter.objects.create(department=lab, name="Counter 3", is_active=False)
    make_counter_staff("lab2", "Lab two", lab, closed)

    figures = figures_by_code(at(WEDNESDAY, 10))
    assert (figures["ORTH"].desks_on_duty, figures["ORTH"].desks_paused) == (2, 1)
    assert figures["ORTH"].desks_idle == 1
    assert (figures["LAB"].desks_on_duty, figures["LAB"].desks_idle) == (1, 1)


def test_a_counter_with_a_patient_is_not_idle(lab, lab_counter, lab_tech):
    services.issue_token(lab, "Asha Rao", now=at(WEDNESDAY, 9))
    services.call_next(lab_counter, now=at(WEDNESDAY, 9, 5))
    f = figures_by_code(at(WEDNESDAY, 9, 10))["LAB"]
    assert (f.desks_on_duty, f.desks_idle, f.being_seen) == (1, 0, 1)


def test_inactive_departments_are_left_out(orth, card):
    card.is_active = False
    card.save()
    assert set(figures_by_code(at(WEDNESDAY, 9))) == {"ORTH"}


@pytest.mark.parametrize("departments", [2, 8])
def test_a_fixed_number_of_queries_for_any_number_of_departments(
    departments, django_assert_max_num_queries
):
    from tests.conftest import make_service_department

    for i in range(departments):
        department = make_service_department(f"Service {i}", f"S{i}")
        counter = Counter.objects.create(department=department, name="Counter 1")
        make_counter_staff(f"staff{i}", f"Staff {i}", department, counter)
        make_doctor(f"doc{i}", f"Dr. {i}", department, str(i))
        services.issue_token(department, "Asha Rao", now=at(WEDNESDAY, 9))
        services.call_next(counter, now=at(WEDNESDAY, 9, 5))
        services.issue_token(department, "Bala Iyer", now=at(WEDNESDAY, 9, 6))
    with django_assert_max_num_queries(6):
        figures = department_figures(at(WEDNESDAY, 10))
    assert len(figures) == departments
    assert timezone.is_aware(at(WEDNESDAY, 10))
