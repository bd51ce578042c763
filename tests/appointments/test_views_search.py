"""The doctor search endpoint behind the suggestions box: GET /reception/api/doctors/."""

import datetime

import pytest
from django.urls import reverse

from appointments.models import DoctorSchedule
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 8)
pytestmark = pytest.mark.usefixtures("clock")
URL = reverse("reception_doctor_search")


@pytest.fixture
def doctors(dr_rao, dr_iyer, dr_shah):
    dr_shah.specialization = "Interventional cardiologist"
    dr_shah.save()
    dr_iyer.specialization = "Spine surgeon"
    dr_iyer.save()
    # Dr. Rao works Wednesdays; Dr. Shah and Dr. Iyer only on Thursdays.
    DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=WEDNESDAY.weekday(), start=datetime.time(9), end=datetime.time(10)
    )
    for doctor in (dr_shah, dr_iyer):
        DoctorSchedule.objects.create(
            doctor=doctor, weekday=(WEDNESDAY.weekday() + 1) % 7,
            start=datetime.time(9), end=datetime.time(9, 30),
        )  # fmt: skip
    return {"rao": dr_rao, "iyer": dr_iyer, "shah": dr_shah}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["name"] for r in response.json()["results"]]


@pytest.mark.parametrize(
    "q, expected",
    [
        ("rao", ["Dr. Rao"]),  # name
        ("Dr. Iy", ["Dr. Iyer"]),  # name with the title
        ("card", ["Dr. Shah"]),  # department (Cardiology) and specialization
        ("spine", ["Dr. Iyer"]),  # specialization
        ("ortho", ["Dr. Iyer", "Dr. Rao"]),  # department
        ("zzz", []),
    ],
)
def test_it_matches_name_specialization_and_department(desk_client, doctors, q, expected):
    assert names(desk_client.get(URL, {"q": q})) == expected


def test_each_result_says_where_and_how_free_and_links_to_booking(desk_client, doctors):
    thursday = WEDNESDAY + datetime.timedelta(days=1)
    [result] = desk_client.get(URL, {"q": "card", "date": thursday.isoformat()}).json()["results"]
    shah = doctors["shah"]
    assert result == {
        "id": shah.pk,
        "name": "Dr. Shah",
        "specialization": "Interventional cardiologist",
        "department": "Cardiology",
        "room": "12",
        "free_count": 2,
        "url": f"/reception/book/?doctor={shah.pk}&date=2026-11-19",
    }


def test_available_only_leaves_out_doctors_with_no_free_slot(desk_client, doctors):
    assert names(desk_client.get(URL, {"q": "dr"})) == ["Dr. Iyer", "Dr. Rao", "Dr. Shah"]
    assert names(desk_client.get(URL, {"q": "dr", "available": "1"})) == ["Dr. Rao"]
    thursday = (WEDNESDAY + datetime.timedelta(days=1)).isoformat()
    assert names(desk_client.get(URL, {"q": "dr", "available": "1", "date": thursday})) == [
        "Dr. Iyer",
        "Dr. Shah",
    ]


@pytest.mark.parametrize("q", ["", "   ", None])
def test_an_empty_query_gives_an_empty_list(desk_client, doctors, q):
    response = desk_client.get(URL, {} if q is None else {"q": q})
    assert response.json() == {"results": []}


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 5000},
        {"q": "'; DROP TABLE hospital_doctor; --"},
        {"q": "%_%"},
        {"q": "\x00rao"},
        {"q": "राव"},
        {"q": "rao", "available": "maybe"},
        {"q": "rao", "date": "1999-01-01"},
    ],
)
def test_garbage_never_breaks_it(desk_client, doctors, params):
    response = desk_client.get(URL, params)
    assert response.status_code == 200
    assert isinstance(response.json()["results"], list)


@pytest.mark.parametrize("date", ["tomorrow", "2026-02-30", "9" * 30])
def test_a_bad_date_is_a_400_with_a_reason(desk_client, doctors, date):
    response = desk_client.get(URL, {"q": "rao", "date": date})
    assert response.status_code == 400
    assert response.json() == {"results": [], "error": "Choose a valid date."}
