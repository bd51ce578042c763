"""The doctor terminal at /doctor/ and its buttons, driven through the client."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from queues import services
from queues.models import Token
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def queue(orth):
    return [
        services.issue_token(orth, name, now=at(WEDNESDAY, 8, i))
        for i, name in enumerate(["Asha Rao", "Bala K", "Chitra M"])
    ]


@pytest.fixture
def rao_client(client, dr_rao):
    client.force_login(dr_rao.user)
    return client


def post(client, name, token=None, **kwargs):
    args = [token.public_id] if token else []
    return client.post(reverse(name, args=args), follow=True, **kwargs)


def test_the_terminal_shows_the_doctor_the_queue_and_empty_figures(rao_client, queue, admin_user):
    emergency = services.issue_token(
        queue[0].department, "Esha G", priority=Token.Priority.EMERGENCY, actor=admin_user, now=NOW
    )
    response = rao_client.get(reverse("doctor_terminal"))
    assert response.status_code == 200
    page = page_text(response)
    assert "Dr. Rao" in page and "Orthopedic Surgery" in page and "Room 4" in page
    # Calling order: the emergency first, then by number.
    positions = [page.index(t.patient_name) for t in [emergency, *queue]]
    assert positions == sorted(positions)
    assert 'class="row-emergency"' in page
    assert "Emergency" in page
    assert page.count("—") >= 2
    assert reverse("doctor_call_next") in page
    assert 'data-since="2026-11-18T08:00:00+05:30"' in page


def test_call_start_complete_walks_a_patient_through(rao_client, dr_rao, queue):
    response = post(rao_client, "doctor_call_next")
    assert response.redirect_chain == [("/doctor/", 302)]
    assert "Called ORTH-001 — Asha Rao." in page_text(response)
    first = Token.objects.get(pk=queue[0].pk)
    assert first.status == Token.Status.CALLED and first.doctor == dr_rao
    page = page_text(response)
    assert reverse("doctor_start", args=[first.public_id]) in page
    assert reverse("doctor_skip", args=[first.public_id]) in page
    assert reverse("doctor_complete", args=[first.public_id]) not in page
    assert "Since called" in page

    response = post(rao_client, "doctor_start", first)
    assert "Consultation with ORTH-001 started." in page_text(response)
    first.refresh_from_db()
    assert first.status == Token.Status.IN_CONSULTATION
    page = page_text(response)
    assert reverse("doctor_complete", args=[first.public_id]) in page
    assert reverse("doctor_skip", args=[first.public_id]) not in page
    assert "In consultation" in page

    response = post(rao_client, "doctor_complete", first)
    assert "ORTH-001 completed." in page_text(response)
    first.refresh_from_db()
    assert first.status == Token.Status.COMPLETED
    assert "<dt>Patients seen</dt><dd>1</dd>" in page_text(response)
    assert "60 min" in page_text(response)  # issued 08:00, called 09:00


def test_skip_then_recall_puts_the_patient_back_first(rao_client, queue):
    post(rao_client, "doctor_call_next")
    response = post(rao_client, "doctor_skip", queue[0])
    assert "ORTH-001 skipped as a no-show" in page_text(response)
    assert Token.objects.get(pk=queue[0].pk).status == Token.Status.SKIPPED
    assert reverse("doctor_recall", args=[queue[0].public_id]) in page_text(response)

    response = post(rao_client, "doctor_recall", queue[0])
    assert "ORTH-001 recalled" in page_text(response)
    assert Token.objects.get(pk=queue[0].pk).status == Token.Status.WAITING
    response = post(rao_client, "doctor_call_next")
    assert "Called ORTH-001" in page_text(response)


def test_calling_twice_without_finishing_says_finish_first(rao_client, queue):
    post(rao_client, "doctor_call_next")
    response = post(rao_client, "doctor_call_next")
    assert "Finish ORTH-001 first" in page_text(response)
    assert Token.objects.get(pk=queue[1].pk).status == Token.Status.WAITING


def test_a_double_post_only_shows_the_message(rao_client, queue):
    post(rao_client, "doctor_call_next")
    post(rao_client, "doctor_skip", queue[0])
    response = post(rao_client, "doctor_skip", queue[0])
    assert response.status_code == 200
    assert "only a called patient who has not come can be skipped" in page_text(response)


def test_calling_an_empty_queue_says_nobody_is_waiting(rao_client, orth):
    response = post(rao_client, "doctor_call_next")
    assert "Nobody is waiting. Nothing to call." in page_text(response)


def test_a_doctor_of_another_department_cannot_act_on_the_token(client, dr_rao, dr_shah, queue):
    services.call_next(dr_rao, now=NOW)
    client.force_login(dr_shah.user)
    for name in ["doctor_start", "doctor_skip", "doctor_complete", "doctor_recall"]:
        response = post(client, name, queue[0])
        assert "ORTH-001 is not in your department's queue." in page_text(response)
    token = Token.objects.get(pk=queue[0].pk)
    assert token.status == Token.Status.CALLED and token.doctor == dr_rao


def test_another_doctor_of_the_department_cannot_close_my_patient(client, dr_iyer, dr_rao, queue):
    services.call_next(dr_rao, now=NOW)
    client.force_login(dr_iyer.user)
    response = post(client, "doctor_skip", queue[0])
    assert "ORTH-001 was called by another doctor." in page_text(response)
    assert Token.objects.get(pk=queue[0].pk).status == Token.Status.CALLED


def test_an_unknown_token_is_404(rao_client, orth):
    response = rao_client.post(reverse("doctor_start", args=[uuid.uuid4()]))
    assert response.status_code == 404


# --- In the staff member's language (issue 15) ------------------------------------------


def test_a_hindi_session_sees_the_terminal_in_hindi(rao_client, queue, settings):
    rao_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    response = rao_client.get(reverse("doctor_terminal"))
    assert response.status_code == 200
    page = page_text(response)
    assert '<html lang="hi"' in page
    # Django's own Hindi: the date's weekday (WEDNESDAY); token numbers stay Latin.
    assert "बुधवार" in page
    assert "ORTH-001" in page and "Asha Rao" in page


def test_the_live_panel_is_fetched_in_the_terminal_s_language(rao_client, queue, settings):
    english = rao_client.get(reverse("doctor_panel")).json()
    rao_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    hindi = rao_client.get(reverse("doctor_panel")).json()
    assert "बुधवार" in hindi["html"] and "Wednesday" not in hindi["html"]
    assert "Wednesday" in english["html"]
    assert hindi["waiting"] == english["waiting"] == ["ORTH-001", "ORTH-002", "ORTH-003"]


def test_the_live_panel_shows_the_page_s_queue_at_its_version(rao_client, queue, orth):
    response = rao_client.get(reverse("doctor_panel"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # patients' names: no copy kept
    panel = response.json()
    orth.refresh_from_db()
    assert panel["type"] == "doctor" and panel["version"] == orth.state_version
    assert panel["current"] is None
    page = rao_client.get(reverse("doctor_terminal"))
    assert f'data-version="{orth.state_version}"' in page_text(page)

    post(rao_client, "doctor_call_next")
    called = rao_client.get(reverse("doctor_panel")).json()
    assert called["current"] == "ORTH-001" and called["waiting"] == ["ORTH-002", "ORTH-003"]
    assert called["version"] > panel["version"]


def test_the_live_panel_s_forms_carry_the_session_s_csrf_token(dr_rao, queue):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dr_rao.user)
    client.get(reverse("doctor_terminal"))  # sets the CSRF cookie, as the page does
    html = client.get(reverse("doctor_panel")).json()["html"]
    token = html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = client.post(reverse("doctor_call_next"), {"csrfmiddlewaretoken": token}, follow=True)
    assert response.status_code == 200
    queue[0].refresh_from_db()
    assert queue[0].status == Token.Status.CALLED


def test_the_live_panel_is_for_the_signed_in_doctor_only(client, lab_tech, queue):
    response = client.get(reverse("doctor_panel"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    counter = Client()
    counter.force_login(lab_tech.user)
    assert counter.get(reverse("doctor_panel")).status_code == 403
    assert client.post(reverse("doctor_panel")).status_code == 405


def unmasked(html: str) -> str:
    """The HTML less its CSRF tokens (each rendering masks the secret anew)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def press(client, name, token=None, data=None):
    """A button pressed by the terminal's own script (static/js/doctor.js)."""
    args = [token.public_id] if token else []
    return client.post(reverse(name, args=args), data or {}, HTTP_ACCEPT="application/json")


def test_a_press_from_the_terminal_s_script_is_answered_with_the_panel_and_its_message(
    rao_client, queue, orth
):
    response = press(rao_client, "doctor_call_next")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    answer = response.json()
    assert answer["messages"] == [{"tags": "success", "text": "Called ORTH-001 — Asha Rao."}]
    orth.refresh_from_db()
    live = rao_client.get(reverse("doctor_panel")).json()
    assert answer["version"] == live["version"] == orth.state_version
    assert answer["key"] == live["key"] and unmasked(answer["html"]) == unmasked(live["html"])
    assert answer["current"] == "ORTH-001" and answer["waiting"] == ["ORTH-002", "ORTH-003"]
    assert reverse("doctor_start", args=[queue[0].public_id]) in answer["html"]
    # The message was shown by the script: the next page load does not show it again.
    assert "Called ORTH-001" not in page_text(rao_client.get(reverse("doctor_terminal")))

    answer = press(rao_client, "doctor_start", queue[0]).json()
    assert answer["messages"][0]["text"] == "Consultation with ORTH-001 started."
    assert reverse("doctor_complete", args=[queue[0].public_id]) in answer["html"]


def test_a_press_the_service_refuses_says_why_and_changes_nothing(rao_client, queue):
    press(rao_client, "doctor_call_next")
    answer = press(rao_client, "doctor_call_next").json()
    assert answer["messages"] == [
        {"tags": "error", "text": "Finish ORTH-001 first: complete it, or skip it as a no-show."}
    ]
    assert answer["current"] == "ORTH-001"
    assert Token.objects.get(pk=queue[1].pk).status == Token.Status.WAITING
    # A bad form is the same: a message, and the panel as it was.
    answer = press(rao_client, "doctor_complete", queue[0], {"stop_1": "department-x"}).json()
    assert answer["messages"][0]["tags"] == "error"
    assert answer["messages"][0]["text"].startswith("Nothing was changed.")
    assert Token.objects.get(pk=queue[0].pk).status == Token.Status.CALLED


def test_a_press_from_the_script_needs_the_csrf_token_the_role_and_a_session(
    dr_rao, lab_tech, queue
):
    script = Client(enforce_csrf_checks=True)
    script.force_login(dr_rao.user)
    assert press(script, "doctor_call_next").status_code == 403
    counter = Client()
    counter.force_login(lab_tech.user)
    assert press(counter, "doctor_call_next").status_code == 403
    signed_out = press(Client(), "doctor_call_next")
    assert signed_out.status_code == 302 and "/login/" in signed_out["Location"]
    assert not Token.objects.exclude(status=Token.Status.WAITING).exists()


def test_a_plain_form_post_still_comes_back_to_the_terminal_page(rao_client, queue):
    response = rao_client.post(
        reverse("doctor_call_next"), HTTP_ACCEPT="text/html,application/json;q=0.9,*/*;q=0.8"
    )
    assert response.status_code == 302 and response["Location"] == reverse("doctor_terminal")
