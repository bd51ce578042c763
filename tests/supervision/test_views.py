"""/supervisor/ and its Acknowledge button: hospital admins and supervisors only."""

import pytest
from django.contrib.auth.models import Group

from hospital.models import Roles
from supervision import services
from supervision.models import Alert, Threshold
from tests.conftest import WEDNESDAY, at, flat_text, page_text

pytestmark = pytest.mark.django_db

BOARD = "/supervisor/"


@pytest.fixture
def alert(orth, settings):
    settings.DUTY_MANAGER_MOBILE = settings.DUTY_MANAGER_EMAIL = ""
    threshold = Threshold.objects.create(department=orth, max_waiting=40)
    return Alert.objects.create(
        department=orth, threshold=threshold, reason="41 waiting (more than 40)",
        raised_at=at(WEDNESDAY, 10, 42),
    )  # fmt: skip


def acknowledge_path(alert) -> str:
    return f"/supervisor/alerts/{alert.pk}/acknowledge/"


def test_anonymous_visitors_are_sent_to_sign_in(client, alert):
    for response in [client.get(BOARD), client.post(acknowledge_path(alert))]:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_doctors_receptionists_and_plain_users_are_refused(
    client, alert, dr_rao, receptionist, plain_user, lab_tech
):
    for user in [dr_rao.user, receptionist, plain_user, lab_tech.user]:
        client.force_login(user)
        assert client.get(BOARD).status_code == 403
        assert client.post(acknowledge_path(alert)).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_a_hospital_admin_in_the_group_sees_the_board(client, orth, plain_user):
    plain_user.groups.add(Group.objects.get_or_create(name=Roles.HOSPITAL_ADMIN)[0])
    client.force_login(plain_user)
    assert client.get(BOARD).status_code == 200


def test_the_board_shows_every_active_department_and_the_red_tile_in_words(
    client, supervisor, orth, card, lab, alert
):
    from queues import services as queue_services

    for i in range(3):
        queue_services.issue_token(orth, f"Asha Rao {i}")
    alert.threshold.max_waiting = 2
    alert.threshold.save()
    client.force_login(supervisor)
    response = client.get(BOARD)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = flat_text(response)
    for name in ["Orthopedic Surgery", "Cardiology", "Laboratory"]:
        assert name in text
    assert "ALERT</strong>: 3 waiting (more than 2)" in text
    assert text.count("dept-tile-alert") == 1
    # The alert with its time on the hospital's clock, and a button to acknowledge it.
    assert "10:42" in text and "41 waiting (more than 40)" in text
    assert acknowledge_path(alert) in text
    assert "Asha" not in page_text(response)
    assert 'href="/supervisor/"' in text  # the nav link


def test_the_nav_link_is_only_for_admins_and_supervisors(client, dr_rao, supervisor, admin_user):
    client.force_login(dr_rao.user)
    assert 'href="/supervisor/"' not in client.get("/").content.decode()
    for user in [supervisor, admin_user]:
        client.force_login(user)
        assert 'href="/supervisor/"' in client.get("/").content.decode()


def test_a_supervisor_acknowledges_an_alert(client, supervisor, alert):
    client.force_login(supervisor)
    assert client.get(acknowledge_path(alert)).status_code == 405
    response = client.post(acknowledge_path(alert), follow=True)
    assert response.redirect_chain[-1][0] == BOARD
    assert "Alert for Orthopedic Surgery acknowledged." in page_text(response)
    alert.refresh_from_db()
    assert alert.acknowledged_by == supervisor and alert.acknowledged_at is not None
    assert f"Acknowledged by {supervisor.username}" in page_text(response)

    again = client.post(acknowledge_path(alert), follow=True)
    assert "already acknowledged" in page_text(again)


def test_an_admin_acknowledges_and_a_missing_alert_is_404(client, admin_user, alert):
    client.force_login(admin_user)
    assert client.post("/supervisor/alerts/999999/acknowledge/").status_code == 404
    client.post(acknowledge_path(alert))
    alert.refresh_from_db()
    assert alert.acknowledged_by == admin_user


def test_acknowledging_needs_the_csrf_token(supervisor, alert):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    assert client.post(acknowledge_path(alert)).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_migration_gives_supervisors_view_rights_only(db):
    group = Group.objects.get(name=Roles.SUPERVISOR)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_threshold", "view_alert", "view_department"} <= codenames
    assert all(c.startswith("view_") for c in codenames)
    admin = Group.objects.get(name=Roles.HOSPITAL_ADMIN)
    admin_codes = set(admin.permissions.values_list("codename", flat=True))
    assert "change_threshold" in admin_codes and "change_alert" not in admin_codes


def test_the_check_runs_every_minute_in_the_worker(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="check_thresholds")
    assert schedule.func == "supervision.services.check_thresholds"
    assert schedule.minutes == 1
    assert callable(services.check_thresholds)
