"""Thresholds raise one alert per crossing, clear when back under, and tell the duty
manager once; acknowledging records who."""

import pytest
from django.contrib.auth import get_user_model

from appointments.models import Notification
from queues import services as queue_services
from supervision import services
from supervision.models import Alert, Threshold
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_duty_manager(settings):
    settings.DUTY_MANAGER_MOBILE = ""
    settings.DUTY_MANAGER_EMAIL = ""


def issue(department, count, hour=9, minute=0):
    return [
        queue_services.issue_token(
            department,
            f"Asha Ramachandran {i}",
            mobile="98123 45678",
            now=at(WEDNESDAY, hour, minute),
        )
        for i in range(count)
    ]


def test_more_than_n_waiting_raises_one_alert_with_the_reason_in_words(orth, no_duty_manager):
    Threshold.objects.create(department=orth, max_waiting=2)
    issue(orth, 2)
    assert services.check_thresholds(at(WEDNESDAY, 9, 1)) == []  # 2 is not more than 2

    issue(orth, 1)
    [alert] = services.check_thresholds(at(WEDNESDAY, 9, 2))
    assert alert.department == orth
    assert alert.reason == "3 waiting (more than 2)"
    assert alert.raised_at == at(WEDNESDAY, 9, 2)
    assert alert.is_open and not alert.notified

    # Still over, and more so: the same crossing, no second alert.
    issue(orth, 2)
    assert services.check_thresholds(at(WEDNESDAY, 9, 3)) == []
    assert Alert.objects.count() == 1


def test_a_long_wait_crosses_with_no_event_at_all(orth, no_duty_manager):
    Threshold.objects.create(department=orth, max_longest_wait_minutes=60)
    issue(orth, 1, hour=9)
    assert services.check_thresholds(at(WEDNESDAY, 10, 0)) == []  # 60 is not over 60
    [alert] = services.check_thresholds(at(WEDNESDAY, 10, 32))
    assert alert.reason == "Longest wait 92 min (over 60)"


def test_both_limits_crossed_give_both_reasons(orth, no_duty_manager):
    Threshold.objects.create(department=orth, max_longest_wait_minutes=30, max_waiting=1)
    issue(orth, 2, hour=9)
    [alert] = services.check_thresholds(at(WEDNESDAY, 9, 45))
    assert alert.reason == "Longest wait 45 min (over 30); 2 waiting (more than 1)"


def test_an_alert_clears_when_back_under_and_a_new_crossing_raises_a_new_one(
    orth, dr_rao, no_duty_manager
):
    Threshold.objects.create(department=orth, max_waiting=1)
    issue(orth, 2)
    [first] = services.check_thresholds(at(WEDNESDAY, 9, 1))

    queue_services.call_next(dr_rao, now=at(WEDNESDAY, 9, 5))
    assert services.check_thresholds(at(WEDNESDAY, 9, 6)) == []
    first.refresh_from_db()
    assert first.cleared_at == at(WEDNESDAY, 9, 6)

    issue(orth, 1, minute=10)
    [second] = services.check_thresholds(at(WEDNESDAY, 9, 11))
    assert second.pk != first.pk and second.is_open
    assert Alert.objects.filter(cleared_at__isnull=True).get() == second


def test_departments_without_a_threshold_or_with_an_inactive_one_raise_nothing(
    orth, card, no_duty_manager
):
    Threshold.objects.create(department=card, max_waiting=0, is_active=False)
    issue(orth, 5)
    issue(card, 5)
    assert services.check_thresholds(at(WEDNESDAY, 9, 1)) == []


def test_switching_a_threshold_off_clears_its_open_alert(orth, no_duty_manager):
    threshold = Threshold.objects.create(department=orth, max_waiting=0)
    issue(orth, 1)
    [alert] = services.check_thresholds(at(WEDNESDAY, 9, 1))
    threshold.is_active = False
    threshold.save()
    services.check_thresholds(at(WEDNESDAY, 9, 2))
    alert.refresh_from_db()
    assert alert.cleared_at == at(WEDNESDAY, 9, 2)


def test_the_database_refuses_a_second_open_alert_for_one_threshold(orth, no_duty_manager):
    from django.db import IntegrityError, transaction

    threshold = Threshold.objects.create(department=orth, max_waiting=0)
    Alert.objects.create(
        department=orth, threshold=threshold, reason="x", raised_at=at(WEDNESDAY, 9)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            department=orth, threshold=threshold, reason="y", raised_at=at(WEDNESDAY, 9)
        )


def test_the_duty_manager_is_told_once_per_crossing_without_patient_details(orth, dr_rao, settings):
    settings.DUTY_MANAGER_MOBILE = "98765 43210"
    settings.DUTY_MANAGER_EMAIL = "duty@example.org"
    Threshold.objects.create(department=orth, max_waiting=1)
    issue(orth, 2)
    before = set(Notification.objects.values_list("pk", flat=True))

    [alert] = services.check_thresholds(at(WEDNESDAY, 9, 1))
    services.check_thresholds(at(WEDNESDAY, 9, 2))  # still the same crossing
    sent = Notification.objects.exclude(pk__in=before).order_by("channel")
    assert [(n.channel, n.to, n.purpose) for n in sent] == [
        ("email", "duty@example.org", "supervisor_alert"),
        ("sms", "+919876543210", "supervisor_alert"),
    ]
    alert.refresh_from_db()
    assert alert.notified
    for message in sent:
        assert "Orthopedic Surgery" in message.body and "2 waiting (more than 1)" in message.body
        assert "Asha" not in message.body + message.subject
        assert "98123" not in message.body and "45678" not in message.body

    # Back under, then over again: a new crossing, told again.
    queue_services.call_next(dr_rao, now=at(WEDNESDAY, 9, 5))
    services.check_thresholds(at(WEDNESDAY, 9, 6))
    issue(orth, 1, minute=10)
    services.check_thresholds(at(WEDNESDAY, 9, 11))
    # (The patients' own messages, the call and the status link, are not the manager's.)
    told = Notification.objects.exclude(pk__in=before).filter(purpose="supervisor_alert")
    assert told.count() == 4


def test_nobody_is_told_when_no_duty_manager_is_set(orth, no_duty_manager):
    Threshold.objects.create(department=orth, max_waiting=0)
    issue(orth, 1)
    before = Notification.objects.count()
    [alert] = services.check_thresholds(at(WEDNESDAY, 9, 1))
    assert Notification.objects.count() == before
    assert not alert.notified


def test_acknowledging_records_who_and_when_once(orth, supervisor, admin_user, no_duty_manager):
    Threshold.objects.create(department=orth, max_waiting=0)
    issue(orth, 1)
    [alert] = services.check_thresholds(at(WEDNESDAY, 9, 1))

    acknowledged = services.acknowledge(alert, supervisor, now=at(WEDNESDAY, 9, 3))
    assert acknowledged.acknowledged_by == supervisor
    assert acknowledged.acknowledged_at == at(WEDNESDAY, 9, 3)
    assert acknowledged.is_open  # seen, but the department is still over

    with pytest.raises(services.SupervisionError, match="already acknowledged"):
        services.acknowledge(alert, admin_user, now=at(WEDNESDAY, 9, 4))
    alert.refresh_from_db()
    assert alert.acknowledged_by == supervisor


def test_only_admins_and_supervisors_acknowledge(orth, dr_rao, receptionist, no_duty_manager):
    Threshold.objects.create(department=orth, max_waiting=0)
    issue(orth, 1)
    [alert] = services.check_thresholds(at(WEDNESDAY, 9, 1))
    plain = get_user_model().objects.create_user(username="someone")
    for user in [dr_rao.user, receptionist, plain]:
        with pytest.raises(services.SupervisionError):
            services.acknowledge(alert, user)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_alerts_shown_are_open_or_not_yet_acknowledged(orth, card, supervisor, no_duty_manager):
    for department in (orth, card):
        Threshold.objects.create(department=department, max_waiting=0)
    issue(orth, 1)
    issue(card, 1)
    orth_alert, card_alert = sorted(
        services.check_thresholds(at(WEDNESDAY, 9, 1)), key=lambda a: a.department.code
    )[::-1]
    services.acknowledge(card_alert, supervisor)
    Alert.objects.filter(pk=card_alert.pk).update(cleared_at=at(WEDNESDAY, 9, 2))
    assert list(services.alerts_to_show()) == [orth_alert]
