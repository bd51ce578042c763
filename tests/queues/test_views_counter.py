"""The service counter's terminal at /counter/ and its buttons, driven through the client."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hospital.models import Counter, CounterStaff
from queues import services
from queues.models import Token, TokenEvent
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at, make_counter_staff, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def lab_queue(lab):
    return [
        services.issue_token(lab, name, now=at(WEDNESDAY, 8, i))
        for i, name in enumerate(["Asha Rao", "Bala K"])
    ]


@pytest.fixture
def tech_client(client, lab_tech):
    client.force_login(lab_tech.user)
    return client


def post(client, name, token=None, data=None):
    args = [token.public_id] if token else []
    return client.post(reverse(name, args=args), data or {}, follow=True)


def test_the_terminal_shows_the_staff_member_their_counter_and_the_queue(tech_client, lab_queue):
    response = tech_client.get(reverse("counter_terminal"))
    assert response.status_code == 200
    page = page_text(response)
    assert "Lata (lab)" in page and "Laboratory" in page and "Counter 1" in page
    assert page.index("Asha Rao") < page.index("Bala K")
    assert reverse("counter_call_next") in page
    assert 'data-socket="/ws/counter/"' in page
    assert "no-store" in response["Cache-Control"]


def test_every_counter_of_a_department_is_sent_the_lists_rendered_once(
    tech_client, lab, lab_queue, lab_counter_2
):
    other = Client()
    other.force_login(make_counter_staff("tech2", "Tara (lab)", lab, lab_counter_2).user)
    first = tech_client.get(reverse("counter_lists")).json()
    with CaptureQueriesContext(connection) as queries:
        second = other.get(reverse("counter_lists")).json()
    assert second["html"] == first["html"] and second["waiting"] == ["LAB-001", "LAB-002"]
    assert not any("queues_token" in query["sql"] for query in queries.captured_queries)
    assert "csrfmiddlewaretoken" not in first["html"]
    # The next change to the queue is a new version: both see it.
    services.issue_token(lab, "Chitra M", now=at(WEDNESDAY, 8, 30))
    for staff in (tech_client, other):
        lists = staff.get(reverse("counter_lists")).json()
        assert lists["waiting"] == ["LAB-001", "LAB-002", "LAB-003"] and "Chitra M" in lists["html"]
        assert lists["note"] == "3 waiting."


def test_a_recall_button_in_the_lists_submits_the_desk_s_own_form(tech_client, lab_queue):
    services.skip_token(lab_queue[0].department.counters.first(), services.call_next(
        lab_queue[0].department.counters.first()))  # fmt: skip
    html = tech_client.get(reverse("counter_panel")).json()["html"]
    recall = reverse("counter_recall", args=[lab_queue[0].public_id])
    assert f'form="recall-form" formaction="{recall}"' in html
    assert '<form id="recall-form" method="post" hidden><input type="hidden" name="csrf' in html


def test_call_start_complete_walks_a_patient_through_at_the_counter(
    tech_client, lab_tech, lab_counter, lab_queue
):
    response = post(tech_client, "counter_call_next")
    assert response.redirect_chain == [("/counter/", 302)]
    assert "Called LAB-001 — Asha Rao." in page_text(response)
    first = Token.objects.get(pk=lab_queue[0].pk)
    assert first.status == Token.Status.CALLED and first.counter == lab_counter
    assert first.doctor is None
    page = page_text(response)
    assert reverse("counter_start", args=[first.public_id]) in page
    assert reverse("counter_skip", args=[first.public_id]) in page

    response = post(tech_client, "counter_start", first)
    assert "Serving LAB-001." in page_text(response)
    assert reverse("counter_complete", args=[first.public_id]) in page_text(response)

    response = post(tech_client, "counter_complete", first)
    assert "LAB-001 completed." in page_text(response)
    first.refresh_from_db()
    assert first.status == Token.Status.COMPLETED
    assert "<dt>Patients seen</dt><dd>1</dd>" in page_text(response)
    # Every step names the staff member who took it and the counter.
    events = TokenEvent.objects.filter(token=first).exclude(kind=TokenEvent.Kind.ISSUED)
    assert {(e.actor, e.counter) for e in events} == {(lab_tech.user, lab_counter)}


def test_skip_then_recall_at_the_counter(tech_client, lab_queue):
    post(tech_client, "counter_call_next")
    response = post(tech_client, "counter_skip", lab_queue[0])
    assert "LAB-001 skipped as a no-show" in page_text(response)
    assert reverse("counter_recall", args=[lab_queue[0].public_id]) in page_text(response)
    response = post(tech_client, "counter_recall", lab_queue[0])
    assert "LAB-001 recalled" in page_text(response)
    assert Token.objects.get(pk=lab_queue[0].pk).status == Token.Status.WAITING


def test_calling_an_empty_queue_says_nobody_is_waiting(tech_client, lab):
    response = post(tech_client, "counter_call_next")
    assert "Nobody is waiting. Nothing to call." in page_text(response)


def test_pharmacy_staff_cannot_act_on_a_lab_token(client, lab_tech, lab_queue, pharmacy_window):
    pharmacy = pharmacy_window.department
    pharmacist = make_counter_staff("pharma", "Prakash", pharmacy, pharmacy_window)
    lab_counter = lab_tech.counter
    services.call_next(lab_counter, actor=lab_tech.user, now=NOW)
    client.force_login(pharmacist.user)
    for name in ["counter_start", "counter_skip", "counter_complete", "counter_recall"]:
        response = post(client, name, lab_queue[0])
        assert "LAB-001 is not in your department's queue." in page_text(response)
    token = Token.objects.get(pk=lab_queue[0].pk)
    assert token.status == Token.Status.CALLED and token.counter == lab_counter
    # And their Call next never takes a laboratory patient.
    response = post(client, "counter_call_next")
    assert "Nobody is waiting" in page_text(response)


def test_another_counter_of_the_department_cannot_close_my_patient(
    client, lab, lab_tech, lab_counter_2, lab_queue
):
    services.call_next(lab_tech.counter, actor=lab_tech.user, now=NOW)
    other = make_counter_staff("labtech2", "Ravi (lab)", lab, lab_counter_2)
    client.force_login(other.user)
    response = post(client, "counter_skip", lab_queue[0])
    assert "LAB-001 was called by another counter." in page_text(response)
    assert Token.objects.get(pk=lab_queue[0].pk).status == Token.Status.CALLED


def test_staff_without_a_counter_see_the_chooser_and_no_queue_buttons(client, lab, lab_queue):
    newcomer = make_counter_staff("newbie", "Nita", lab)
    client.force_login(newcomer.user)
    page = page_text(client.get(reverse("counter_terminal")))
    assert reverse("counter_choose") in page
    assert "Choose your counter above to call patients." in page
    assert reverse("counter_call_next") not in page
    assert "Asha Rao" in page  # the queue is shown, read-only
    response = post(client, "counter_call_next")
    assert "Choose the counter you work at first." in page_text(response)
    assert not Token.objects.exclude(status=Token.Status.WAITING).exists()


def test_choosing_a_counter_records_who_changed_it(
    tech_client, lab_tech, lab_counter, lab_counter_2
):
    response = post(tech_client, "counter_choose", data={"counter": lab_counter_2.pk})
    assert "You now work at Counter 2." in page_text(response)
    lab_tech.refresh_from_db()
    assert lab_tech.counter == lab_counter_2
    entry = LogEntry.objects.get(object_id=str(lab_tech.pk))
    assert entry.user == lab_tech.user
    assert "from Counter 1 to Counter 2" in entry.change_message


@pytest.mark.parametrize(
    "value",
    ["", "nope", "999999", "1e3", "\x00", "-1"],
)
def test_a_bad_counter_choice_is_a_message_and_changes_nothing(tech_client, lab_tech, value):
    response = post(tech_client, "counter_choose", data={"counter": value})
    assert response.status_code == 200
    assert "Choose" in page_text(response)
    assert CounterStaff.objects.get(pk=lab_tech.pk).counter == lab_tech.counter


def test_only_an_open_counter_of_my_own_department_can_be_chosen(
    tech_client, lab_tech, lab, pharmacy_window
):
    closed = Counter.objects.create(department=lab, name="Counter 9", is_active=False)
    for counter in [pharmacy_window, closed]:
        response = post(tech_client, "counter_choose", data={"counter": counter.pk})
        assert "Choose an open counter of your own department." in page_text(response)
    assert CounterStaff.objects.get(pk=lab_tech.pk).counter == lab_tech.counter
    assert not LogEntry.objects.exists()


def test_a_counter_cannot_be_left_with_a_patient_still_open(
    tech_client, lab_tech, lab_counter_2, lab_queue
):
    post(tech_client, "counter_call_next")
    response = post(tech_client, "counter_choose", data={"counter": lab_counter_2.pk})
    assert "Finish LAB-001 at Counter 1 first" in page_text(response)
    assert CounterStaff.objects.get(pk=lab_tech.pk).counter == lab_tech.counter


def test_the_panel_shows_the_note_the_doctor_left_for_the_lab(
    tech_client, orth, dr_rao, lab, pharmacy
):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    services.call_next(dr_rao, now=NOW)
    services.start_consultation(dr_rao, token, now=NOW)
    services.complete_token(
        dr_rao, token, now=NOW, send_on=[NextStop(lab, note="Fasting sugar"), NextStop(pharmacy)]
    )
    page = page_text(tech_client.get(reverse("counter_terminal")))
    assert "Sent on" in page  # the waiting list's mark
    response = post(tech_client, "counter_call_next")
    page = page_text(response)
    assert "Called LAB-001 — Asha Rao." in page
    assert "Note from the previous stop" in page and "Fasting sugar" in page
    assert "Kiosk" in page
    # Today's visit so far: the doctor (done), the laboratory (now), the pharmacy (next).
    stops = page[page.index("Today's visit") :]
    assert stops.index("ORTH-001") < stops.index("LAB-001") < stops.index("Pharmacy")
    assert [word in stops for word in ["Done", "Now", "Next"]] == [True, True, True]


def test_the_nav_shows_counter_staff_the_counter_link(tech_client, lab_tech):
    page = tech_client.get("/").content.decode()
    assert 'href="/counter/"' in page
    assert 'href="/doctor/"' not in page


def test_a_hindi_session_sees_the_counter_terminal_in_hindi_with_hindi_counter_names(
    tech_client, lab_queue, lab_counter, settings
):
    lab_counter.name_hi = "काउंटर 1"
    lab_counter.save()
    tech_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    response = tech_client.get(reverse("counter_terminal"))
    assert response.status_code == 200
    page = page_text(response)
    assert '<html lang="hi"' in page
    assert "काउंटर 1" in page and "बुधवार" in page
    assert "LAB-001" in page


def test_a_press_from_the_counter_s_script_is_answered_with_its_panel(
    tech_client, lab_tech, lab_counter_2, lab_queue
):
    """The counter's buttons, pressed by static/js/doctor.js (Accept: application/json),
    come back as the counter's panel with the message, the counter choice too."""
    json = {"HTTP_ACCEPT": "application/json"}
    answer = tech_client.post(reverse("counter_call_next"), **json).json()
    assert answer["type"] == "counter" and answer["counter"] == "Counter 1"
    assert answer["current"] == "LAB-001"
    assert answer["messages"] == [{"tags": "success", "text": "Called LAB-001 — Asha Rao."}]

    refused = tech_client.post(
        reverse("counter_choose"), {"counter": lab_counter_2.pk}, **json
    ).json()
    assert refused["messages"][0]["tags"] == "error"
    assert refused["counter"] == "Counter 1"
    for action in ["counter_start", "counter_complete"]:
        tech_client.post(reverse(action, args=[lab_queue[0].public_id]), **json)
    chosen = tech_client.post(reverse("counter_choose"), {"counter": lab_counter_2.pk}, **json)
    assert chosen.json()["counter"] == "Counter 2"
    assert chosen.json()["messages"][0]["text"] == "You now work at Counter 2."
