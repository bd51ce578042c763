"""The API's doctor search (the desk's own, appointments.slots.search_doctors) and a
doctor's free slots on a day, on Dr. Rao's Wednesday morning (09:00-12:00, 15 minutes)."""

import datetime

import pytest
from django.urls import reverse

from appointments.models import Appointment, DoctorLeave
from tests.appointments.conftest import MORNING, place, rao_morning, t  # noqa: F401 (fixture)
from tests.conftest import WEDNESDAY

pytestmark = pytest.mark.usefixtures("clock", "rao_morning")

NOW = MORNING  # 08:00 on the Wednesday, before the morning session
DOCTORS = reverse("api-doctors")


def slots_url(doctor_id) -> str:
    return reverse("api-doctor-slots", args=[doctor_id])


def test_a_doctor_is_found_by_name_with_or_without_dr_with_the_days_free_slots(
    reader, dr_rao, dr_iyer, dr_shah
):
    place(dr_rao, t(9))
    for q in ("rao", "Dr. Rao", "dr rao"):
        response = reader.get(DOCTORS, {"q": q, "date": WEDNESDAY.isoformat()})
        assert response.status_code == 200
        assert [(d["name"], d["free_slots"]) for d in response.json()] == [("Dr. Rao", 11)]
    found = response.json()[0]
    assert (found["id"], found["department"], found["room"]) == (dr_rao.pk, "orth", "4")
    assert found["department_name"] == "Orthopedic Surgery"


def test_the_search_can_be_limited_to_one_department_and_to_doctors_with_a_free_slot(
    reader, dr_rao, dr_iyer, dr_shah
):
    everyone = reader.get(DOCTORS).json()
    assert {d["name"] for d in everyone} == {"Dr. Rao", "Dr. Iyer", "Dr. Shah"}
    orth = reader.get(DOCTORS, {"department": "orth"}).json()
    assert {d["name"] for d in orth} == {"Dr. Rao", "Dr. Iyer"}
    # Only Dr. Rao has a session on Wednesdays.
    free = reader.get(DOCTORS, {"department": "orth", "available": "true"}).json()
    assert [d["name"] for d in free] == ["Dr. Rao"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"department": "nowhere"}, "department"),
        ({"department": "not a slug!"}, "department"),
        ({"date": "9999-12-31"}, "date"),
        ({"date": "0001-01-01"}, "date"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"q": "x" * 5000}, "q"),
        ({"q": "rao\x00"}, "q"),
        ({"available": "perhaps"}, "available"),
    ],
)
def test_a_search_that_cannot_be_read_is_a_400_naming_the_field(reader, dr_rao, params, field):
    response = reader.get(DOCTORS, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]


def test_a_doctors_free_slots_leave_out_the_taken_ones(reader, dr_rao):
    place(dr_rao, t(9, 15))
    response = reader.get(slots_url(dr_rao.pk), {"date": WEDNESDAY.isoformat()})
    assert response.status_code == 200
    plan = response.json()
    assert (plan["doctor"], plan["date"], plan["why"]) == (dr_rao.pk, "2026-11-18", "")
    starts = [slot["start"] for slot in plan["free"]]
    assert starts[:3] == ["09:00", "09:30", "09:45"] and len(starts) == 11
    assert plan["free"][0] == {"start": "09:00", "end": "09:15"}


def test_the_day_defaults_to_today(reader, dr_rao):
    assert reader.get(slots_url(dr_rao.pk)).json()["date"] == WEDNESDAY.isoformat()


def test_a_day_without_free_slots_says_why(reader, dr_rao):
    thursday = WEDNESDAY + datetime.timedelta(days=1)
    assert reader.get(slots_url(dr_rao.pk), {"date": str(thursday)}).json()["why"] == "no_session"
    yesterday = WEDNESDAY - datetime.timedelta(days=1)
    assert reader.get(slots_url(dr_rao.pk), {"date": str(yesterday)}).json()["why"] == "past"
    DoctorLeave.objects.create(doctor=dr_rao, start_date=WEDNESDAY, end_date=WEDNESDAY)
    plan = reader.get(slots_url(dr_rao.pk)).json()
    assert (plan["free"], plan["why"], plan["why_text"]) == ([], "leave", "The doctor is on leave.")


def test_a_full_day_is_full(reader, dr_rao):
    for minutes in range(0, 180, 15):
        place(
            dr_rao, (datetime.datetime(2026, 1, 1, 9) + datetime.timedelta(minutes=minutes)).time()
        )
    assert Appointment.objects.count() == 12
    assert reader.get(slots_url(dr_rao.pk)).json()["why"] == "full"


@pytest.mark.parametrize("doctor_id", ["999999", "abc", "1" * 40, "-1", "1.5", "%00"])
def test_an_unknown_doctor_is_a_404_problem(reader, dr_rao, doctor_id):
    response = reader.get(f"/api/v1/doctors/{doctor_id}/slots/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-13-01", "18-11-2026", "x" * 500])
def test_a_day_that_cannot_be_read_is_a_400(reader, dr_rao, day):
    response = reader.get(slots_url(dr_rao.pk), {"date": day})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["date"]
