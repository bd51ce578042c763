"""Who may call the API's token and visit endpoints: no credentials, keys with and without
each scope, and signed-in staff with and without the role the matching page asks for
(the take-a-token page is open to all staff; sending a patient on is the reception
desk's)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import Scope
from queues import services
from tests.api.conftest import client_as
from tests.conftest import WEDNESDAY, at, make_receptionist

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")

PERSONAS = [
    "anonymous",
    "key_other",  # a key for another job (patients)
    "key_read",
    "key_tokens",
    "key_visits",
    "receptionist",
    "doctor",
    "counter",
    "plain_user",  # signed in, not hospital staff
]
KEYS = {
    "key_other": [Scope.PATIENTS],
    "key_read": [Scope.READ],
    "key_tokens": [Scope.TOKENS],
    "key_visits": [Scope.VISITS],
}
NO_LOGIN, DENIED, NOT_ALLOWED = 401, 403, 405

ISSUE = {"department": "orth", "patient_name": "Asha Rao"}
SEND_ON = {"stops": [{"department": "lab"}]}

# (method, url name, what the url takes ("token", "visit" or nothing), body, expected
# status per persona in PERSONAS order)
MATRIX = [
    ("post", "api-tokens", None, ISSUE,
     [NO_LOGIN, DENIED, DENIED, 201, DENIED, 201, 201, 201, DENIED]),
    ("get", "api-tokens", None, None,
     [NO_LOGIN, DENIED, DENIED, NOT_ALLOWED, DENIED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED,
      DENIED]),
    ("get", "api-token", "token", None,
     [NO_LOGIN, DENIED, 200, DENIED, DENIED, 200, 200, 200, 200]),
    ("post", "api-token", "token", ISSUE,
     [NO_LOGIN, DENIED, NOT_ALLOWED, DENIED, DENIED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED,
      NOT_ALLOWED]),
    ("get", "api-visit", "visit", None,
     [NO_LOGIN, DENIED, 200, DENIED, DENIED, 200, 200, 200, 200]),
    ("delete", "api-visit", "visit", None,
     [NO_LOGIN, DENIED, NOT_ALLOWED, DENIED, DENIED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED,
      NOT_ALLOWED]),
    ("post", "api-visit-send-on", "visit", SEND_ON,
     [NO_LOGIN, DENIED, DENIED, DENIED, 200, 200, DENIED, DENIED, DENIED]),
    ("get", "api-visit-send-on", "visit", None,
     [NO_LOGIN, DENIED, DENIED, DENIED, NOT_ALLOWED, NOT_ALLOWED, DENIED, DENIED, DENIED]),
]  # fmt: skip


def client_for(persona: str, dr_rao, lab_tech, plain_user) -> APIClient:
    if persona in KEYS:
        return client_as(scopes=KEYS[persona], name=f"Integration {persona}")
    user = {
        "anonymous": lambda: None,
        "receptionist": make_receptionist,
        "doctor": lambda: dr_rao.user,
        "counter": lambda: lab_tech.user,
        "plain_user": lambda: plain_user,
    }[persona]()
    return client_as(user=user)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    "method, name, takes, body, expected", MATRIX, ids=[f"{m} {n}" for m, n, *_ in MATRIX]
)
def test_matrix(method, name, takes, body, expected, persona, orth, dr_rao, lab_tech, plain_user):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    args = {"token": [token.public_id], "visit": [token.visit.public_id], None: []}[takes]
    client = client_for(persona, dr_rao, lab_tech, plain_user)
    response = getattr(client, method)(reverse(name, args=args), body, format="json")
    assert response.status_code == expected[PERSONAS.index(persona)], response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"


def test_every_url_of_this_area_is_in_the_matrix():
    names = {name for _, name, *_ in MATRIX}
    assert names == {"api-tokens", "api-token", "api-visit", "api-visit-send-on"}


def test_a_signed_in_browser_must_send_the_csrf_token(orth, lab):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_receptionist())
    url = reverse("api-visit-send-on", args=[token.visit.public_id])
    response = client.post(url, SEND_ON, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert token.visit.stops.count() == 1
