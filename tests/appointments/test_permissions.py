"""Who may open every URL of appointments/urls.py: anonymous, a doctor, a receptionist
and a superuser; plus the roles themselves (groups with permissions, from a migration)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from appointments import booking
from appointments.models import DoctorSchedule, WaitingListEntry
from hospital.models import Roles
from hospital.roles import is_receptionist
from queues import services
from tests.conftest import WEDNESDAY, at, make_receptionist

# Wednesday morning, with texts going to a file.
pytestmark = pytest.mark.usefixtures("clock", "outbox")

NOW = at(WEDNESDAY, 8)

LOGIN = "login"
OK = 200
REDIRECT = 302
FORBIDDEN = 403
NOT_ALLOWED = 405
BAD_REQUEST = 400  # the form shown again with its error
APPOINTMENT = "appointment"  # 302 back to the appointment, with a message
DASHBOARD = "dashboard"  # 302 back to the reception dashboard
SLIP = "slip"  # 302 to the token's slip page, to print it

PERSONAS = ["anonymous", "doctor", "receptionist", "admin"]

# (method, url name, takes the appointment's id, expected outcome per persona)
MATRIX = [
    ("get", "reception_dashboard", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_dashboard", False, [NOT_ALLOWED] * 4),
    ("get", "reception_doctor_search", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_doctor_search", False, [NOT_ALLOWED] * 4),
    ("get", "reception_book", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_book", False, [LOGIN, FORBIDDEN, OK, OK]),  # form errors shown
    ("get", "reception_appointment", True, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_appointment", True, [NOT_ALLOWED] * 4),
    ("get", "reception_verify", True, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_verify", True, [LOGIN, FORBIDDEN, OK, OK]),  # wrong code shown
    ("post", "reception_resend", True, [LOGIN, FORBIDDEN, REDIRECT, REDIRECT]),
    ("get", "reception_resend", True, [NOT_ALLOWED] * 4),
    # Finding and changing an appointment, the cancellations log.
    ("get", "reception_find", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_find", False, [NOT_ALLOWED] * 4),
    ("get", "reception_reschedule", True, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_reschedule", True, [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_cancel", True, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_cancel", True, [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),  # no reason
    ("post", "reception_check_in", True, [LOGIN, FORBIDDEN, APPOINTMENT, APPOINTMENT]),
    ("get", "reception_check_in", True, [NOT_ALLOWED] * 4),
    ("post", "reception_no_show", True, [LOGIN, FORBIDDEN, APPOINTMENT, APPOINTMENT]),
    ("get", "reception_no_show", True, [NOT_ALLOWED] * 4),
    ("get", "reception_cancellations", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_cancellations", False, [NOT_ALLOWED] * 4),
    # Walk-ins, the waiting list ("entry": takes a waiting-list entry's id) and the report.
    ("get", "reception_walk_in", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_walk_in", False, [LOGIN, FORBIDDEN, OK, OK]),  # form errors shown
    ("get", "reception_waiting_offer", "entry", [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_waiting_offer", "entry", [LOGIN, FORBIDDEN, OK, OK]),  # no slot given
    ("post", "reception_waiting_remove", "entry", [LOGIN, FORBIDDEN, DASHBOARD, DASHBOARD]),
    ("get", "reception_waiting_remove", "entry", [NOT_ALLOWED] * 4),
    # Registered patients ("patient": takes the held appointment's patient's id) and
    # visits ("visit": a visit's id); a POST without a valid form is refused with a 400.
    ("get", "reception_patients", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_patients", False, [NOT_ALLOWED] * 4),
    ("get", "reception_patient_new", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_patient_new", False, [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_patient", "patient", [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_patient", "patient", [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_visit", "visit", [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_visit", "visit", [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_daily_report", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_daily_report", False, [NOT_ALLOWED] * 4),
    ("get", "reception_trends", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_trends", False, [NOT_ALLOWED] * 4),
    # The live queue ("token": a waiting token of today); an action without its form's
    # fields (or, to call again, on a token not called) is refused with a 400.
    ("get", "reception_queue", False, [LOGIN, FORBIDDEN, OK, OK]),
    ("post", "reception_queue", False, [NOT_ALLOWED] * 4),
    ("post", "reception_queue_recall", "token", [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_queue_recall", "token", [NOT_ALLOWED] * 4),
    ("post", "reception_queue_cancel", "token", [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_queue_cancel", "token", [NOT_ALLOWED] * 4),
    ("post", "reception_queue_transfer", "token", [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_queue_transfer", "token", [NOT_ALLOWED] * 4),
    ("post", "reception_queue_category", "token", [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_queue_category", "token", [NOT_ALLOWED] * 4),
    ("post", "reception_queue_announce", "token", [LOGIN, FORBIDDEN, BAD_REQUEST, BAD_REQUEST]),
    ("get", "reception_queue_announce", "token", [NOT_ALLOWED] * 4),
    ("post", "reception_queue_reprint", "token", [LOGIN, FORBIDDEN, SLIP, SLIP]),
    ("get", "reception_queue_reprint", "token", [NOT_ALLOWED] * 4),
]


@pytest.fixture
def held(dr_rao, admin_user):
    DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=WEDNESDAY.weekday(), start=at(WEDNESDAY, 9).time(),
        end=at(WEDNESDAY, 12).time(),
    )  # fmt: skip
    return booking.hold_slot(
        doctor=dr_rao,
        day=WEDNESDAY,
        start=at(WEDNESDAY, 9).time(),
        patient_name="Asha Rao",
        mobile="98123 45678",
        reason="Knee pain",
        actor=admin_user,
    )


def waiting_entry(held):
    return WaitingListEntry.objects.create(
        patient=held.patient, department=held.doctor.department, reason="Fever", arrived_at=NOW
    )


@pytest.fixture
def persona(request, client, dr_shah, admin_user):
    users = {
        "anonymous": None,
        "doctor": dr_shah.user,
        "receptionist": make_receptionist("frontdesk"),
        "admin": admin_user,
    }
    if users[request.param]:
        client.force_login(users[request.param])
    return request.param


def test_the_matrix_covers_every_reception_url():
    from appointments.urls import urlpatterns

    assert {p.name for p in urlpatterns} == {name for _, name, _, _ in MATRIX}


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
@pytest.mark.parametrize(
    "method, name, with_id, outcomes", MATRIX, ids=[f"{m}-{n}" for m, n, _, _ in MATRIX]
)
def test_who_may_open_what(client, persona, held, method, name, with_id, outcomes):
    args = [held.public_id] if with_id is True else []
    if with_id == "entry":
        args = [waiting_entry(held).pk]
    if with_id == "patient":
        args = [held.patient.pk]
    if with_id == "visit":
        department = held.doctor.department
        args = [services.issue_token(department, "Asha Rao", now=NOW).visit.public_id]
    if with_id == "token":
        department = held.doctor.department
        token = services.issue_token(department, "Asha Rao", now=NOW)
        args = [token.public_id]
    url = reverse(name, args=args)
    data = {"code": "000000"} if (method, name) == ("post", "reception_verify") else {}
    response = getattr(client, method)(url, data)
    expected = outcomes[PERSONAS.index(persona)]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    elif expected == DASHBOARD:
        assert response.status_code == 302
        assert response["Location"] == reverse("reception_dashboard")
    elif expected == APPOINTMENT:
        assert response.status_code == 302
        assert response["Location"] == reverse("reception_appointment", args=[held.public_id])
    elif expected == SLIP:
        assert response.status_code == 302
        assert response["Location"] == reverse("token_slip", args=args)
    elif expected == REDIRECT:
        assert response.status_code == 302
        assert response["Location"] == reverse("reception_verify", args=[held.public_id])
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("name", ["reception_dashboard", "reception_patients", "reception_trends"])
def test_a_user_without_a_role_gets_the_403_page(client, plain_user, name):
    client.force_login(plain_user)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "for the reception desk" in response.content.decode()


def test_an_unknown_appointment_is_a_404_for_reception(client, db):
    client.force_login(make_receptionist("frontdesk"))
    missing = "00000000-0000-4000-8000-000000000000"
    for name in ("reception_appointment", "reception_verify"):
        assert client.get(reverse(name, args=[missing])).status_code == 404


# --- The roles ------------------------------------------------------------------------


def codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_the_migration_made_the_role_groups_with_permissions(db):
    receptionist = codenames(Roles.RECEPTIONIST)
    assert {
        "appointments.view_appointment",
        "appointments.add_appointment",
        "appointments.change_appointment",
        "appointments.add_patient",
        "appointments.view_doctorschedule",
        "appointments.view_doctorleave",
        "hospital.view_doctor",
        "hospital.view_department",
    } <= receptionist
    assert not any(p.split(".")[1].startswith("delete_") for p in receptionist)

    doctor = codenames(Roles.DOCTOR)
    assert "queues.view_token" in doctor
    assert "appointments.add_appointment" not in doctor

    hospital_admin = codenames(Roles.HOSPITAL_ADMIN)
    assert {
        "hospital.change_department",
        "queues.change_token",
        "appointments.delete_appointment",
        "appointments.change_doctorschedule",
    } <= hospital_admin
    # History is written by the services only, for everyone.
    assert "appointments.change_appointmentevent" not in hospital_admin
    assert "queues.change_tokenevent" not in hospital_admin


@pytest.mark.parametrize(
    "how, expected",
    [
        ("nothing", False),
        ("receptionist group", True),
        ("hospital admin group", True),
        ("doctor group", False),
        ("reception permission only", True),
        ("superuser", True),
        ("inactive receptionist", False),
    ],
)
def test_who_counts_as_a_receptionist(db, how, expected):
    User = get_user_model()
    user = User.objects.create_user(username="someone", password="pw")
    group = {
        "receptionist group": Roles.RECEPTIONIST,
        "inactive receptionist": Roles.RECEPTIONIST,
        "hospital admin group": Roles.HOSPITAL_ADMIN,
        "doctor group": Roles.DOCTOR,
    }.get(how)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if how == "reception permission only":
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="appointments", codename="add_appointment"
            )
        )
    if how == "superuser":
        user.is_superuser = True
    if how == "inactive receptionist":
        user.is_active = False
    user.save()
    assert is_receptionist(User.objects.get(pk=user.pk)) is expected
