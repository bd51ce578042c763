"""The API's departments and their live state, and what every endpoint shares: keys,
scopes, problem details."""

import pytest
from django.urls import reverse

from api import keys
from api.models import Scope
from queues import services
from queues.state import public_state


def test_departments_are_listed_with_counters_and_names_in_every_language(
    reader, orth, lab, lab_counter
):
    orth.name_ta = "எலும்பியல்"
    orth.save()
    response = reader.get(reverse("api-departments"))
    assert response.status_code == 200
    by_slug = {d["slug"]: d for d in response.json()}
    assert by_slug["orth"]["names"]["ta"] == "எலும்பியல்"
    assert by_slug["orth"]["names"]["hi"] == orth.name  # not given: English
    assert [c["name"] for c in by_slug["lab"]["counters"]] == [lab_counter.name]


def test_a_departments_state_is_what_the_socket_sends(reader, orth, dr_rao):
    services.issue_token(orth, "Asha Rao")
    response = reader.get(reverse("api-department-state", args=["orth"]))
    assert response.status_code == 200
    state = response.json()
    orth.refresh_from_db()
    expected = public_state(orth)
    assert (state["version"], state["queue"]) == (expected["version"], expected["queue"])
    assert "Asha" not in response.content.decode()  # initials only


def test_an_unknown_department_is_a_problem_not_a_page(reader, db):
    response = reader.get(reverse("api-department-state", args=["nope"]))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["title"]) == (404, "Not Found") and body["detail"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer opdq_nope_x", "Bearer x y", "Token abc", "Bearer \u00e9"],
)
def test_no_or_a_bad_key_is_a_401_problem(api, db, authorization):
    if authorization:
        api.credentials(HTTP_AUTHORIZATION=authorization)
    response = api.get(reverse("api-departments"))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"]


def test_a_revoked_key_no_longer_works(api, make_key, db):
    key, raw = make_key(Scope.READ)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(reverse("api-departments")).status_code == 200
    keys.revoke(key)
    assert api.get(reverse("api-departments")).status_code == 401


def test_a_key_without_the_scope_is_refused(api, make_key, db):
    _, raw = make_key(Scope.TOKENS)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get(reverse("api-departments"))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_a_signed_in_member_of_staff_reads_from_the_browser(api, dr_rao, orth):
    api.force_login(dr_rao.user)
    assert api.get(reverse("api-departments")).status_code == 200


def test_only_the_keys_hash_is_kept(make_key):
    key, raw = make_key(Scope.READ)
    assert raw.startswith(f"opdq_{key.prefix}_") and raw not in key.key_hash
    assert not key.user.has_usable_password()


def test_the_schema_and_its_docs_are_served_by_the_app(client, db):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/departments/{slug}/state/" in schema.json()["paths"]
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()


@pytest.mark.parametrize("slug", ["nope", "a\x00b", "x" * 300, "%00", "é"])
def test_a_slug_that_is_no_department_is_a_404_problem(reader, db, slug):
    for name in ("api-department", "api-department-state"):
        response = reader.get(
            f"/api/v1/departments/{slug}/" + ("state/" if "state" in name else "")
        )
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
