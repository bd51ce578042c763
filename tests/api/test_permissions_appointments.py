"""Who may call every patient, doctor and appointment URL of the API: nobody without
credentials (401), a key without the endpoint's scope (403), a key with it, a signed-in
receptionist or the hospital admin (as the reception pages allow), and not a signed-in
doctor (403)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.keys import create_key
from api.models import Scope
from appointments import booking
from appointments.models import Appointment
from tests.api.conftest import client_as
from tests.appointments.conftest import outbox, rao_morning  # noqa: F401 (fixtures)
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.usefixtures("clock", "outbox", "rao_morning")

NOW = at(WEDNESDAY, 8)

PERSONAS = ["anonymous", "other_scopes", "scoped_key", "receptionist", "doctor", "admin"]
NO, DENIED = 401, 403
OK, BAD = 200, 400
LATE = 409  # a refusal: here, a new code asked for within a minute
NA = 405  # method not allowed

# (method, url name, what the url takes, expected per persona). The POSTs send an empty
# body: allowed callers get the 400 that names the missing fields, and nothing is written;
# a new code within a minute of the last is the service's 409.
MATRIX = [
    ("get", "api-patients", None, [NO, DENIED, OK, OK, DENIED, OK]),  # ?q=Asha
    ("post", "api-patients", None, [NO, DENIED, BAD, BAD, DENIED, BAD]),
    ("delete", "api-patients", None, [NO, DENIED, NA, NA, DENIED, NA]),
    ("get", "api-patient", "patient", [NO, DENIED, OK, OK, DENIED, OK]),
    ("post", "api-patient", "patient", [NO, DENIED, NA, NA, DENIED, NA]),
    ("get", "api-doctors", None, [NO, DENIED, OK, OK, DENIED, OK]),
    ("post", "api-doctors", None, [NO, DENIED, NA, NA, DENIED, NA]),
    ("get", "api-doctor-slots", "doctor", [NO, DENIED, OK, OK, DENIED, OK]),
    ("post", "api-doctor-slots", "doctor", [NO, DENIED, NA, NA, DENIED, NA]),
    ("post", "api-appointments", None, [NO, DENIED, BAD, BAD, DENIED, BAD]),
    ("get", "api-appointments", None, [NO, DENIED, NA, NA, DENIED, NA]),
    ("get", "api-appointment", "appt", [NO, DENIED, OK, OK, DENIED, OK]),
    ("delete", "api-appointment", "appt", [NO, DENIED, NA, NA, DENIED, NA]),
    ("post", "api-appointment-confirm", "appt", [NO, DENIED, BAD, BAD, DENIED, BAD]),
    ("get", "api-appointment-confirm", "appt", [NO, DENIED, NA, NA, DENIED, NA]),
    ("post", "api-appointment-resend-code", "appt", [NO, DENIED, LATE, LATE, DENIED, LATE]),
    ("post", "api-appointment-reschedule", "appt", [NO, DENIED, BAD, BAD, DENIED, BAD]),
    ("post", "api-appointment-cancel", "appt", [NO, DENIED, BAD, BAD, DENIED, BAD]),
    ("get", "api-appointment-cancel", "appt", [NO, DENIED, NA, NA, DENIED, NA]),
]  # fmt: skip

SCOPE = {
    "api-patients": Scope.PATIENTS,
    "api-patient": Scope.PATIENTS,
    "api-doctors": Scope.READ,
    "api-doctor-slots": Scope.READ,
}
QUERY = {("get", "api-patients"): {"q": "Asha"}}


def scope_of(name: str) -> str:
    return SCOPE.get(name, Scope.APPOINTMENTS)


@pytest.fixture
def held(dr_rao, receptionist):
    """A slot held for Asha by the desk at 08:00 (her code was texted then)."""
    return booking.hold_slot(
        doctor=dr_rao, day=WEDNESDAY, start=at(WEDNESDAY, 9, 15).time(), patient_name="Asha Rao",
        mobile="+919812345678", reason="Knee pain", actor=receptionist, now=NOW,
    )  # fmt: skip


def client_for(persona: str, name: str, request) -> APIClient:
    if persona in ("other_scopes", "scoped_key"):
        scope = scope_of(name)
        scopes = [scope] if persona == "scoped_key" else [s for s in Scope.values if s != scope]
        return client_as(scopes=scopes, name=persona)
    user = {
        "anonymous": lambda: None,
        "receptionist": lambda: request.getfixturevalue("receptionist"),
        "doctor": lambda: request.getfixturevalue("dr_rao").user,
        "admin": lambda: request.getfixturevalue("admin_user"),
    }[persona]()
    return client_as(user=user)


def address(name: str, takes, held: Appointment, dr_rao) -> str:
    args = {
        None: [],
        "patient": [held.patient.hospital_number],
        "doctor": [dr_rao.pk],
        "appt": [held.public_id],
    }[takes]
    return reverse(name, args=args)


@pytest.mark.parametrize(
    "method, name, takes, persona, expected",
    [
        (method, name, takes, persona, outcome)
        for method, name, takes, outcomes in MATRIX
        for persona, outcome in zip(PERSONAS, outcomes, strict=True)
    ],
)
def test_who_may_call_what(request, held, dr_rao, method, name, takes, persona, expected):
    client = client_for(persona, name, request)
    path = address(name, takes, held, dr_rao)
    if method == "get":
        response = client.get(path, QUERY.get((method, name), {}))
    else:
        response = getattr(client, method)(path, {}, format="json")
    assert response.status_code == expected
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
    # Refused or not, nothing changed: the hold is as it was.
    held.refresh_from_db()
    assert held.status == Appointment.Status.HELD
    assert Appointment.objects.count() == 1


def test_every_api_url_of_this_area_is_in_the_matrix():
    from api import urls

    names = {
        p.name for p in urls.v1 if p.name.startswith(("api-patient", "api-doctor", "api-appo"))
    }
    assert names == {name for _, name, _, _ in MATRIX}


def test_a_revoked_key_is_refused(db, held):
    from api.keys import revoke

    key, raw = create_key("HIS", [Scope.APPOINTMENTS])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(reverse("api-appointment", args=[held.public_id])).status_code == 200
    revoke(key)
    response = client.post(
        reverse("api-appointment-cancel", args=[held.public_id]), {"reason": "x"}
    )
    assert response.status_code == 401
    assert Appointment.objects.get().status == Appointment.Status.HELD
