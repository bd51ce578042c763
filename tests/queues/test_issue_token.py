import datetime

import pytest

from hospital.models import MON_TO_SAT
from queues.models import Token, TokenEvent
from queues.reading import calling_sequence
from queues.services import QueueError, issue_token
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 9)


def test_numbers_start_at_one_per_department_per_day(orth, card):
    a = issue_token(orth, "Asha Rao", now=NOW)
    b = issue_token(orth, "Bala K", now=NOW)
    c = issue_token(card, "Chitra", now=NOW)
    tomorrow = issue_token(
        orth, "Dev", service_date=WEDNESDAY + datetime.timedelta(days=1), now=NOW
    )
    assert [a.number, b.number, c.number, tomorrow.number] == [1, 2, 1, 1]
    assert a.display_number == "ORTH-001"
    assert c.display_number == "CARD-001"


def test_issuing_records_an_event_and_normalises_the_mobile(orth):
    token = issue_token(orth, "  Asha   Rao ", mobile="98123 45678", now=NOW)
    assert token.patient_name == "Asha Rao"
    assert token.mobile == "+919812345678"
    assert TokenEvent.objects.get(token=token).kind == TokenEvent.Kind.ISSUED


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("", {}, "Enter the patient's name"),
        ("x" * 101, {}, "too long"),
        ("Asha", {"service_date": WEDNESDAY - datetime.timedelta(days=1)}, "has passed"),
        ("Asha", {"service_date": WEDNESDAY + datetime.timedelta(days=8)}, "at most 7 day"),
        ("Asha", {"mobile": "12345"}, "valid mobile"),
        ("Asha", {"priority": Token.Priority.EMERGENCY}, "Only hospital staff"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(orth, name, kwargs, message):
    with pytest.raises(QueueError, match=message):
        issue_token(orth, name, now=NOW, **kwargs)
    assert not Token.objects.exists()
    assert not TokenEvent.objects.exists()


def test_it_refuses_an_inactive_department(orth):
    orth.is_active = False
    orth.save()
    with pytest.raises(QueueError, match="not taking tokens"):
        issue_token(orth, "Asha", now=NOW)


def test_the_daily_limit_leaves_no_gap(orth):
    orth.daily_token_limit = 2
    orth.save()
    issue_token(orth, "A", now=NOW)
    issue_token(orth, "B", now=NOW)
    with pytest.raises(QueueError, match="All 2 tokens"):
        issue_token(orth, "C", now=NOW)
    orth.daily_token_limit = 3
    orth.save()
    assert issue_token(orth, "D", now=NOW).number == 3


def test_it_refuses_a_day_the_department_is_closed(orth):
    orth.open_weekdays = MON_TO_SAT
    orth.save()
    sunday = WEDNESDAY + datetime.timedelta(days=4)
    with pytest.raises(QueueError, match="closed on Sundays"):
        issue_token(orth, "Asha", service_date=sunday, now=NOW)
    assert not Token.objects.exists()


def test_a_department_deactivated_after_the_kiosk_read_it_gets_no_token(orth):
    """The kiosk's department list may be a moment old; numbering checks the department
    in the database and writes nothing."""
    from hospital.models import Department

    Department.objects.filter(pk=orth.pk).update(is_active=False)
    assert orth.is_active  # the kiosk's stale copy
    with pytest.raises(QueueError, match="not taking tokens"):
        issue_token(orth, "Asha", now=NOW)
    assert not Token.objects.exists()
    assert not TokenEvent.objects.exists()


def test_a_limit_lowered_after_the_kiosk_read_it_still_holds(orth):
    from hospital.models import Department

    issue_token(orth, "A", now=NOW)
    Department.objects.filter(pk=orth.pk).update(daily_token_limit=1)
    with pytest.raises(QueueError, match="All 1 tokens"):
        issue_token(orth, "B", now=NOW)
    assert list(Token.objects.values_list("number", flat=True)) == [1]


def test_issuing_writes_the_token_its_event_and_the_version_together(orth):
    from hospital.models import Department

    before = Department.objects.get(pk=orth.pk).state_version
    token = issue_token(orth, "Asha", now=NOW)
    assert Token.objects.get(pk=token.pk).number == token.number == 1
    event = TokenEvent.objects.get(token=token)
    assert (event.token_number, event.department_id, event.at) == (1, orth.pk, NOW)
    assert Department.objects.get(pk=orth.pk).state_version == before + 1


def test_a_request_that_read_the_clock_first_but_got_its_number_second_joins_behind(orth):
    # Two kiosks at once: the second to take a number had read the clock a moment before
    # the first. ORTH-002 is still called after ORTH-001.
    first = issue_token(orth, "Asha Rao", now=NOW + datetime.timedelta(seconds=2))
    second = issue_token(orth, "Bala K", now=NOW)
    assert second.number == 2 and second.queued_at == first.queued_at
    assert [t.number for t in calling_sequence(orth, WEDNESDAY)] == [1, 2]
