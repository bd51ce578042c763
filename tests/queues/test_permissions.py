"""Who may open every URL of queues/urls.py: anonymous, a doctor of the token's
department, a doctor of another department, an admin with no Doctor or Counter staff
record, and the laboratory's counter staff (the token is an orthopaedic one)."""

import pytest
from django.urls import reverse

from queues import services
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")

LOGIN = "login"
OK = 200
BACK = 302  # back to the terminal (/doctor/ or /counter/) with a message
FORBIDDEN = 403
NOT_ALLOWED = 405

PERSONAS = ["anonymous", "same_department_doctor", "other_department_doctor", "admin", "counter"]

# (method, url name, takes the token's id (or "visit": its visit's id, "slug": the
# department's), expected outcome
# per persona in PERSONAS order)
MATRIX = [
    ("get", "home", False, [OK, OK, OK, OK, OK]),
    ("post", "home", False, [BACK, BACK, BACK, BACK, BACK]),
    ("get", "token_detail", True, [OK, OK, OK, OK, OK]),
    ("get", "visit_detail", "visit", [OK, OK, OK, OK, OK]),
    ("get", "kiosk", False, [OK] * 5),
    ("get", "kiosk_department", "slug", [OK] * 5),
    # No name given: the form again, with its errors.
    ("post", "kiosk_department", "slug", [OK] * 5),
    ("get", "token_slip", True, [OK] * 5),
    ("get", "token_print_status", True, [OK] * 5),
    # A patient's own page; the token has no mobile, so back to it with a message.
    ("post", "token_sms_off", True, [BACK] * 5),
    ("get", "token_sms_off", True, [NOT_ALLOWED] * 5),
    ("get", "progress", False, [OK, OK, OK, OK, OK]),
    ("get", "display", False, [OK, OK, OK, OK, OK]),
    ("get", "doctor_terminal", False, [LOGIN, OK, OK, FORBIDDEN, FORBIDDEN]),
    ("post", "doctor_call_next", False, [LOGIN, BACK, BACK, FORBIDDEN, FORBIDDEN]),
    ("get", "doctor_call_next", False, [NOT_ALLOWED] * 5),
    # The panel a terminal's script fetches: its own staff only, and read-only.
    ("get", "doctor_panel", False, [LOGIN, OK, OK, FORBIDDEN, FORBIDDEN]),
    ("post", "doctor_panel", False, [NOT_ALLOWED] * 5),
    ("get", "doctor_lists", False, [LOGIN, OK, OK, FORBIDDEN, FORBIDDEN]),
    ("post", "doctor_lists", False, [NOT_ALLOWED] * 5),
    ("get", "counter_terminal", False, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK]),
    ("get", "counter_panel", False, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK]),
    ("post", "counter_panel", False, [NOT_ALLOWED] * 5),
    ("get", "counter_lists", False, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK]),
    ("post", "counter_lists", False, [NOT_ALLOWED] * 5),
    ("post", "counter_call_next", False, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BACK]),
    ("get", "counter_call_next", False, [NOT_ALLOWED] * 5),
    # No counter given: a message, nothing changes.
    ("post", "counter_choose", False, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BACK]),
    ("get", "counter_choose", False, [NOT_ALLOWED] * 5),
    # The front desk registers kiosks (an admin counts as the front desk).
    ("get", "register_kiosk", False, [LOGIN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN]),
    # no name given
    ("post", "register_kiosk", False, [LOGIN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN]),
]
# Breaks: no input given, so a message and nothing changes.
for action in ["doctor_pause", "doctor_resume", "doctor_late"]:
    MATRIX += [
        ("post", action, False, [LOGIN, BACK, BACK, FORBIDDEN, FORBIDDEN]),
        ("get", action, False, [NOT_ALLOWED] * 5),
    ]
for action in ["counter_pause", "counter_resume", "counter_late"]:
    MATRIX += [
        ("post", action, False, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BACK]),
        ("get", action, False, [NOT_ALLOWED] * 5),
    ]
for action in [
    "doctor_start", "doctor_complete", "doctor_skip", "doctor_recall", "doctor_call_again",
    "doctor_category",
]:  # fmt: skip
    MATRIX += [("post", action, True, [LOGIN, BACK, BACK, FORBIDDEN, FORBIDDEN])]
    if action != "doctor_category":
        MATRIX += [("get", action, True, [NOT_ALLOWED] * 5)]
# A waiting token's category form: its own department's doctors only (the other is sent
# back with "not in your department's queue").
MATRIX += [("get", "doctor_category", True, [LOGIN, OK, BACK, FORBIDDEN, FORBIDDEN])]
# The laboratory's staff are sent back with "not in your department's queue".
for action in [
    "counter_start", "counter_complete", "counter_skip", "counter_recall", "counter_call_again",
    "counter_category",
]:  # fmt: skip
    MATRIX += [("post", action, True, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BACK])]
    if action != "counter_category":
        MATRIX += [("get", action, True, [NOT_ALLOWED] * 5)]
MATRIX += [("get", "counter_category", True, [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BACK])]


@pytest.fixture
def persona(request, client, dr_rao, dr_shah, admin_user, lab_tech):
    users = {
        "anonymous": None,
        "same_department_doctor": dr_rao.user,
        "other_department_doctor": dr_shah.user,
        "admin": admin_user,
        "counter": lab_tech.user,
    }
    if users[request.param]:
        client.force_login(users[request.param])
    return request.param


def test_the_matrix_covers_every_queues_url():
    from queues.urls import urlpatterns

    assert {p.name for p in urlpatterns} == {name for _, name, _, _ in MATRIX}


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
@pytest.mark.parametrize(
    "method, name, with_token, outcomes", MATRIX, ids=[f"{m}-{n}" for m, n, _, _ in MATRIX]
)
def test_who_may_open_what(client, persona, orth, method, name, with_token, outcomes):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    ids = {
        True: [token.public_id],
        "visit": [token.visit.public_id],
        "slug": [orth.slug],
        False: [],
    }
    url = reverse(name, args=ids[with_token])
    data = {"department": "orth", "patient_name": "Bala", "service_date": WEDNESDAY.isoformat()}
    response = getattr(client, method)(url, data if name == "home" else {})
    expected = outcomes[PERSONAS.index(persona)]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    elif expected == BACK:
        assert response.status_code == 302
        if name.startswith("doctor_"):
            assert response["Location"] == "/doctor/"
        elif name.startswith("counter_"):
            assert response["Location"] == "/counter/"
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("name", ["doctor_terminal", "counter_terminal"])
def test_a_signed_in_user_without_a_staff_record_gets_a_403_page(client, plain_user, name):
    client.force_login(plain_user)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "You can't open this page" in response.content.decode().replace("&#x27;", "'")
