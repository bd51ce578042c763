"""Thresholds are edited per department in the admin; alerts are read-only there."""

import pytest

from supervision.models import Alert, Threshold
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.django_db


def test_an_admin_sets_a_departments_threshold(staff, orth):
    response = staff.post(
        "/admin/supervision/threshold/add/",
        {
            "department": orth.pk,
            "max_longest_wait_minutes": "60",
            "max_waiting": "40",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    threshold = Threshold.objects.get(department=orth)
    assert (threshold.max_longest_wait_minutes, threshold.max_waiting) == (60, 40)
    assert staff.get("/admin/supervision/threshold/").status_code == 200


def test_alerts_are_listed_read_only_with_who_acknowledged(staff, orth, admin_user):
    threshold = Threshold.objects.create(department=orth, max_waiting=1)
    alert = Alert.objects.create(
        department=orth, threshold=threshold, reason="2 waiting (more than 1)",
        raised_at=at(WEDNESDAY, 9), acknowledged_at=at(WEDNESDAY, 9, 5), acknowledged_by=admin_user,
    )  # fmt: skip
    listing = staff.get("/admin/supervision/alert/")
    assert listing.status_code == 200
    assert "2 waiting (more than 1)" in listing.content.decode()
    assert staff.get("/admin/supervision/alert/add/").status_code == 403
    staff.post(f"/admin/supervision/alert/{alert.pk}/change/", {"reason": "edited"})
    staff.post(f"/admin/supervision/alert/{alert.pk}/delete/", {"post": "yes"})
    alert.refresh_from_db()
    assert alert.reason == "2 waiting (more than 1)"
