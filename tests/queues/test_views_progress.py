"""The public progress board at /progress/."""

import pytest
from django.urls import reverse

from hospital.models import Department
from queues import reading, services
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def busy_morning(orth, card, dr_rao, dr_iyer, dr_shah):
    for name in ["Asha Rao", "Bala Krishnan", "Chitra Menon", "Dev Anand"]:
        services.issue_token(orth, name, mobile="98123 45678", now=NOW)
    services.issue_token(card, "Esha Gupta", mobile="98123 45679", now=NOW)
    services.call_next(dr_rao, now=NOW)
    services.call_next(dr_iyer, now=NOW)
    services.start_consultation(dr_iyer, reading.open_token_for(dr_iyer), now=NOW)


def test_it_shows_every_department_with_its_current_tokens_rooms_and_waiting(client, busy_morning):
    response = client.get(reverse("progress"))
    assert response.status_code == 200
    page = page_text(response)
    assert 'data-department-slug="orth"' in page
    assert 'data-department-slug="card"' in page
    assert "ORTH-001" in page and "Room 4" in page
    assert "ORTH-002" in page and "Room 5" in page
    assert 'data-role="waiting-count">2<' in page
    assert 'data-role="waiting-count">1<' in page


def test_it_shows_no_names_or_mobiles(client, busy_morning):
    page = page_text(client.get(reverse("progress")))
    for name in ["Asha", "Bala", "Chitra", "Dev Anand", "Esha", "+9198123", "98123"]:
        assert name not in page


def test_it_leaves_out_inactive_departments(client, orth):
    Department.objects.create(name="Dermatology", code="DERM", is_active=False)
    page = page_text(client.get(reverse("progress")))
    assert "Orthopedic Surgery" in page
    assert "Dermatology" not in page


def test_its_query_count_does_not_grow_with_departments(
    client, busy_morning, django_assert_max_num_queries
):
    for i in range(8):
        dept = Department.objects.create(name=f"Dept {i}", code=f"D{i}")
        services.issue_token(dept, "Someone", now=NOW)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("progress"))
    assert response.status_code == 200


def test_a_service_counter_is_shown_by_its_name_not_as_a_room(
    client, orth, dr_rao, lab, lab_counter, lab_counter_2
):
    from tests.queues.test_views_display import lab_token_at_counter_2

    lab_token_at_counter_2(orth, dr_rao, lab, lab_counter_2, mobile="98123 45678")
    page = page_text(client.get(reverse("progress")))
    board = page[page.index('data-department-slug="lab"') :]
    board = board[: board.index("</section>")]
    assert "LAB-001" in board
    assert '<span class="serving-room">Counter 2</span>' in board
    assert "Room" not in board
    for secret in ["Asha", "Ramachandran", "98123", "Fasting", "diabetes"]:
        assert secret not in page
