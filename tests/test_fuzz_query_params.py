"""Hostile query strings on every page, as every persona: a message or a 4xx, never a 5xx.

Every URL pattern that answers GET is listed in PAGES with the query parameters its view
reads (grep request.GET and the forms built from it); a new page fails
test_every_get_page_is_fuzzed until it is listed here. Each parameter is sent each
hostile value on its own (so the others keep sane defaults), then all of them at once.
"""

import datetime
import logging

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from appointments.models import Appointment, Patient, WaitingListEntry
from hospital import health
from queues import services
from tests.conftest import make_receptionist

HOSTILE = [
    "garbage",
    "x" * 5000,
    "9999-12-31",
    "0001-01-01",
    "a\x00b",
    "²",
    "٣",
    "७",
    "1" * 20,
    "1' OR '1'='1",
    "-1",
    "²@09:00",
]
# For pages that read no parameter: whatever is sent must be ignored, and it still ends
# up in the request's own address (build_absolute_uri()).
JUNK = {"x": "y" * 5000, "z": "\x00"}

# url name -> the query parameters its view reads.
PAGES: dict[str, list[str]] = {
    "home": [],
    "register_kiosk": [],
    "token_detail": ["lang"],
    "visit_detail": ["lang"],
    "kiosk": [],
    "kiosk_department": [],
    "token_slip": ["paper", "kiosk"],
    "token_print_status": [],
    "set_language": ["next", "language"],
    "api-schema": ["format", "lang"],
    "api-docs": [],
    "healthz": [],
    "readyz": [],
    "metrics": [],
    "javascript-catalog": [],
    "progress": [],
    "display": ["departments", "d", "sound", "voice", "lang", "languages"],
    "doctor_terminal": [],
    "counter_terminal": [],
    "doctor_panel": [],
    "counter_panel": [],
    "doctor_lists": [],
    "counter_lists": [],
    "doctor_category": [],
    "counter_category": [],
    "login": ["next"],
    "logout": ["next"],
    "password_change": [],
    "password_change_done": [],
    "password_reset": [],
    "password_reset_done": [],
    "password_reset_confirm": [],
    "password_reset_complete": [],
    "two_factor_setup": [],
    "two_factor_verify": ["next"],
    "reception_dashboard": ["date", "q", "doctor", "status"],
    "reception_doctor_search": ["q", "date", "available"],
    "reception_book": ["doctor", "date", "q", "available"],
    "reception_appointment": [],
    "reception_verify": [],
    "reception_find": ["q"],
    "reception_reschedule": ["doctor", "date"],
    "reception_cancel": [],
    "reception_cancellations": ["date"],
    "reception_walk_in": [
        "patient_name",
        "mobile",
        "reason",
        "emergency",
        "department",
        "doctor",
        "action",
        "option",
        "language",
    ],  # fmt: skip
    "reception_waiting_offer": ["doctor", "date", "start", "check_in"],
    "reception_daily_report": ["date", "format"],
    "reception_patients": ["q"],
    "reception_patient_new": [],
    "reception_patient": [],
    "reception_visit": [],
    "supervisor_board": [],
    "reception_queue": ["department", "q", "fragment"],
    "reception_trends": ["from", "to", "format"],
}
# Buttons: they answer POST only (GET is a 405, which the fuzz would not learn from).
POST_ONLY = {
    "doctor_call_next", "doctor_start", "doctor_complete", "doctor_skip", "doctor_recall",
    "reception_resend", "reception_check_in", "reception_no_show", "reception_waiting_remove",
    "counter_choose", "counter_call_next", "counter_start", "counter_complete", "counter_skip",
    "counter_recall", "supervisor_acknowledge",
    "doctor_pause", "doctor_resume", "doctor_late", "doctor_call_again",
    "counter_pause", "counter_resume", "counter_late", "counter_call_again",
    "reception_queue_recall", "reception_queue_cancel", "reception_queue_transfer",
    "reception_queue_category", "reception_queue_announce", "reception_queue_reprint",
    "token_sms_off",
}  # fmt: skip
ADMIN_PARAMS = ["q", "o", "p", "e", "_to_field", "all"]


def url_names(patterns, prefix="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the admin's pages are fuzzed through its changelists
            if str(pattern.pattern) == "api/v1/":
                continue  # the API is fuzzed from its schema (tests/api/test_schemathesis.py)
            names |= url_names(pattern.url_patterns, prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def test_every_get_page_is_fuzzed():
    assert url_names(get_resolver().url_patterns) - POST_ONLY - set(PAGES) == set()


@pytest.fixture
def pages(orth, dr_rao, today) -> dict[str, str]:
    token = services.issue_token(orth, "Asha Rao")
    patient = Patient.objects.create(name="Bala Iyer", mobile="+919812345678")
    appointment = Appointment.objects.create(
        patient=patient, doctor=dr_rao, date=today, start=datetime.time(23, 0),
        end=datetime.time(23, 15), reason="Knee pain", status=Appointment.Status.BOOKED,
        created_at=token.issued_at,
    )  # fmt: skip
    entry = WaitingListEntry.objects.create(
        patient=patient, department=orth, reason="Fever", arrived_at=token.issued_at
    )
    # A worker that has just beaten: /readyz says ready (its 503 is the answer when the
    # worker is down, tested in tests/hospital/test_health.py).
    health.record_heartbeat()
    kwargs = {
        "token_detail": {"public_id": token.public_id},
        "visit_detail": {"public_id": token.visit.public_id},
        "kiosk_department": {"slug": orth.slug},
        "javascript-catalog": {"language": "ta"},
        "token_slip": {"public_id": token.public_id},
        "token_print_status": {"public_id": token.public_id},
        "doctor_category": {"public_id": token.public_id},
        "counter_category": {"public_id": token.public_id},
        "password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
        "reception_waiting_offer": {"pk": entry.pk},
        "reception_patient": {"pk": patient.pk},
        "reception_visit": {"public_id": token.visit.public_id},
    }
    for name in ("reception_appointment", "reception_verify", "reception_reschedule",
                 "reception_cancel"):  # fmt: skip
        kwargs[name] = {"public_id": appointment.public_id}
    # A page listed here but not (or no longer) in the URLconf is simply not fuzzed.
    known = url_names(get_resolver().url_patterns)
    return {name: reverse(name, kwargs=kwargs.get(name)) for name in PAGES if name in known}


def admin_changelists() -> list[str]:
    return [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


@pytest.fixture(autouse=True)
def quiet_request_log():
    """Thousands of refused requests each log a warning; only errors matter here."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def personas(dr_rao, lab_tech, admin_user, plain_user) -> dict[str, Client]:
    users = {
        "anonymous": None,
        "plain user": plain_user,
        "doctor": dr_rao.user,
        "counter staff": lab_tech.user,
        "receptionist": make_receptionist("frontdesk"),
        "admin": admin_user,
    }
    clients = {}
    for name, user in users.items():
        # A 500 is counted, not raised, so one run lists every failing page.
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        clients[name] = client
    return clients


def server_errors(client: Client, url: str, params: list[str]) -> list[str]:
    failures = []
    queries = [{name: value} for name in params for value in HOSTILE]
    if len(params) > 1:
        queries += [dict.fromkeys(params, value) for value in HOSTILE]
    if client.get(url).status_code in (302, 403):
        # Refused by role before the view reads anything: every value at once is enough.
        queries = [dict.fromkeys(params, value) for value in HOSTILE] if params else []
    queries.append(JUNK)
    for query in queries:
        response = client.get(url, query)
        if response.status_code >= 500:
            failures.append(f"{url} {query!r:.120}: {response.status_code}")
    return failures


@pytest.mark.django_db
def test_hostile_query_parameters_never_give_a_server_error(pages, personas):
    failures = []
    for persona, client in personas.items():
        for name, url in pages.items():
            failures += [f"{persona}: {f}" for f in server_errors(client, url, PAGES[name])]
    assert failures == []


@pytest.mark.django_db
def test_hostile_admin_list_filters_never_give_a_server_error(personas):
    # The admin is Django's own, well tested: the admin persona, every parameter at once.
    failures = []
    for url in admin_changelists():
        for value in HOSTILE:
            response = personas["admin"].get(url, dict.fromkeys(ADMIN_PARAMS, value))
            if response.status_code >= 500:
                failures.append(f"{url} {value!r:.40}: {response.status_code}")
    assert failures == []
