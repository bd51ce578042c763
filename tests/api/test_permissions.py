"""Who may call the API's department endpoints, and a check that every API URL is in
one of the permission matrices (tests/api/test_permissions_*.py)."""

import importlib
import pkgutil

import pytest
from django.urls import URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

import tests.api
from api.keys import create_key
from api.models import Scope

PERSONAS = ["anonymous", "key_other", "key_read", "doctor", "plain_user"]
NO, DENIED, OK, NA = 401, 403, 200, 405

# Reading the hospital's structure and queues: a key with `read`, or anyone signed in
# (the TV and the progress board show the same to everybody).
MATRIX = [
    ("get", "api-departments", False, [NO, DENIED, OK, OK, OK]),
    ("post", "api-departments", False, [NO, DENIED, NA, NA, NA]),
    ("get", "api-department", True, [NO, DENIED, OK, OK, OK]),
    ("get", "api-department-state", True, [NO, DENIED, OK, OK, OK]),
    ("delete", "api-department-state", True, [NO, DENIED, NA, NA, NA]),
]


@pytest.fixture
def caller(request, db, dr_rao, plain_user):
    client = APIClient()
    persona = request.param
    if persona.startswith("key_"):
        scopes = [Scope.READ] if persona == "key_read" else [Scope.PATIENTS]
        _, raw = create_key(persona, scopes)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    elif persona == "doctor":
        client.force_login(dr_rao.user)
    elif persona == "plain_user":
        client.force_login(plain_user)
    return persona, client


@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
@pytest.mark.parametrize("method, name, takes_slug, expected", MATRIX)
def test_who_may_read_departments(caller, orth, method, name, takes_slug, expected):
    persona, client = caller
    url = reverse(name, args=[orth.slug] if takes_slug else [])
    response = getattr(client, method)(url)
    assert response.status_code == expected[PERSONAS.index(persona)]


def named(patterns, under_api=False) -> set[str]:
    """The names of the URLs under /api/v1/, wherever it is included."""
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inside = under_api or str(pattern.pattern) == "api/v1/"
            names |= named(pattern.url_patterns, inside)
        elif under_api and pattern.name:
            names.add(pattern.name)
    return names


def test_every_api_url_is_in_a_permission_matrix():
    covered = set()
    for module in pkgutil.iter_modules(tests.api.__path__):
        if module.name.startswith("test_permissions"):
            matrix = importlib.import_module(f"tests.api.{module.name}").MATRIX
            covered |= {row[1] for row in matrix}
    api_names = named(get_resolver().url_patterns)
    assert api_names and api_names - covered == set()
