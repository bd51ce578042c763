"""The terminal's Pause / Resume / Starting late forms, "Call again", and changing a
waiting patient's category, on the doctor's and the counter's terminals."""

import datetime

import pytest
from django.urls import reverse

from queues import breaks, services
from queues.models import DeskEvent, PriorityCategory, Token, TokenEvent
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 10)
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def rao_client(client, dr_rao):
    client.force_login(dr_rao.user)
    return client


@pytest.fixture
def lab_client(client, lab_tech):
    client.force_login(lab_tech.user)
    return client


def post(client, name, token=None, data=None):
    args = [token.public_id] if token else []
    return client.post(reverse(name, args=args), data or {}, follow=True)


def senior() -> PriorityCategory:
    return PriorityCategory.objects.get(name="Senior citizen (60+)")


def test_a_doctor_pauses_for_a_ward_round_and_the_terminal_says_so(rao_client, dr_rao, orth):
    page = page_text(rao_client.get(reverse("doctor_terminal")))
    assert reverse("doctor_pause") in page and reverse("doctor_late") in page
    response = post(rao_client, "doctor_pause", data={"reason": "ward round", "back_at": "11:30"})
    assert response.redirect_chain == [("/doctor/", 302)]
    page = page_text(response)
    assert "You are paused: ward round, back about 11:30." in page
    assert reverse("doctor_resume") in page
    # No Call next button while paused.
    assert reverse("doctor_call_next") not in page
    event = DeskEvent.objects.get()
    assert (event.kind, event.actor, event.doctor) == ("paused", dr_rao.user, dr_rao)

    response = post(rao_client, "doctor_resume")
    assert "Welcome back" in page_text(response)
    assert reverse("doctor_call_next") in page_text(response)
    assert not type(dr_rao).objects.get(pk=dr_rao.pk).is_paused


def test_a_reason_in_the_doctors_own_words(rao_client, dr_rao):
    response = post(rao_client, "doctor_pause", data={"reason": "other", "other": "CME talk"})
    assert "You are paused: CME talk." in page_text(response)


def test_starting_late(rao_client, dr_rao):
    response = post(rao_client, "doctor_late", data={"back_at": "10:45"})
    page = page_text(response)
    assert "Patients are told you start at about 10:45." in page
    assert "You are starting late, at about 10:45." in page
    assert DeskEvent.objects.get().kind == DeskEvent.Kind.LATE


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("doctor_pause", {}, "Choose why you are pausing."),
        ("doctor_pause", {"reason": "nap"}, "Choose why you are pausing."),
        ("doctor_pause", {"reason": "other", "other": " "}, "Enter the reason for the pause."),
        ("doctor_pause", {"reason": "break", "back_at": "25:99"}, "Enter the time you expect"),
        ("doctor_pause", {"reason": "break", "back_at": "09:00"}, "09:00 has already passed"),
        ("doctor_late", {}, "Enter the time you expect to start."),
        ("doctor_late", {"back_at": "soon"}, "Enter the time you expect to start, e.g. 10:30."),
        ("doctor_resume", {}, "You are not paused."),
    ],
)
def test_bad_input_changes_nothing_and_says_why(rao_client, dr_rao, name, data, message):
    response = post(rao_client, name, data=data)
    assert message in page_text(response)
    assert not DeskEvent.objects.exists()
    assert not type(dr_rao).objects.get(pk=dr_rao.pk).is_paused


def test_pause_is_refused_while_a_patient_is_open(rao_client, dr_rao, orth):
    services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    post(rao_client, "doctor_call_next")
    page = page_text(rao_client.get(reverse("doctor_terminal")))
    assert "Finish ORTH-001 first, then pause." in page
    response = post(rao_client, "doctor_pause", data={"reason": "break"})
    assert "Finish ORTH-001 first" in page_text(response)
    assert not DeskEvent.objects.exists()


def test_call_again_announces_the_current_token(rao_client, dr_rao, orth):
    services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    called = services.call_next(dr_rao, now=at(WEDNESDAY, 9, 30))
    page = page_text(rao_client.get(reverse("doctor_terminal")))
    assert reverse("doctor_call_again", args=[called.public_id]) in page
    response = post(rao_client, "doctor_call_again", called)
    assert "ORTH-001 is announced again on the display." in page_text(response)
    assert Token.objects.get(pk=called.pk).announced_at == NOW
    assert TokenEvent.objects.filter(token=called, kind=TokenEvent.Kind.ANNOUNCED).exists()


def test_call_again_only_for_ones_own_called_patient(rao_client, dr_iyer, orth):
    services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    waiting = services.issue_token(orth, "Bala K", now=at(WEDNESDAY, 9))
    iyers = services.call_next(dr_iyer, now=at(WEDNESDAY, 9, 30))
    response = post(rao_client, "doctor_call_again", iyers)
    assert "ORTH-001 is not your patient." in page_text(response)
    response = post(rao_client, "doctor_call_again", waiting)
    assert "ORTH-002 is not your patient." in page_text(response)
    assert not TokenEvent.objects.filter(kind=TokenEvent.Kind.ANNOUNCED).exists()


def test_the_waiting_list_shows_the_category_in_words(rao_client, orth):
    services.issue_token(orth, "Asha Rao", category=senior(), now=at(WEDNESDAY, 9))
    services.issue_token(orth, "Bala K", now=at(WEDNESDAY, 9))
    page = page_text(rao_client.get(reverse("doctor_terminal")))
    assert "★ Senior citizen (60+)" in page or "Senior citizen (60+)" in page
    assert '<th scope="col">Category</th>' in page


def test_a_doctor_changes_a_waiting_patients_category_with_a_reason(rao_client, dr_rao, orth):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    page = page_text(rao_client.get(reverse("doctor_terminal")))
    assert reverse("doctor_category", args=[token.public_id]) in page
    response = post(
        rao_client,
        "doctor_category",
        token,
        {"category": senior().pk, "reason": "Age 72, checked the card"},
    )
    assert f"ORTH-001 is now {senior().label}." in page_text(response)
    assert Token.objects.get(pk=token.pk).category == senior()
    event = TokenEvent.objects.get(token=token, kind=TokenEvent.Kind.CATEGORY)
    assert event.actor == dr_rao.user
    assert "Age 72, checked the card" in event.note


def test_a_waiting_row_links_to_its_own_category_form(rao_client, orth):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    url = reverse("doctor_category", args=[token.public_id])
    panel = rao_client.get(reverse("doctor_panel")).json()["html"]
    # A link per row, no form: the lists carry no CSRF token and stay small.
    assert f'href="{url}"' in panel and 'name="category"' not in panel
    form = page_text(rao_client.get(url))
    assert "Change the category of ORTH-001" in form and "Asha Rao" in form
    assert f'<form class="category-form" method="post" action="{url}">' in form
    general = next(c for c in PriorityCategory.objects.all() if c.means_general)
    assert f'<option value="{general.pk}" selected>' in form
    assert 'name="csrfmiddlewaretoken"' in form and 'name="reason"' in form


def test_a_called_patient_s_category_form_sends_the_doctor_back(rao_client, dr_rao, orth):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    services.call_next(dr_rao)
    response = rao_client.get(reverse("doctor_category", args=[token.public_id]), follow=True)
    assert response.redirect_chain == [(reverse("doctor_terminal"), 302)]
    assert "only a waiting token's category can be changed" in page_text(response)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"category": "999999", "reason": "x"}, "Choose a category from the list."),
        ({"category": "", "reason": ""}, "Say why it changes."),
    ],
)
def test_a_bad_category_change_changes_nothing(rao_client, orth, data, message):
    token = services.issue_token(orth, "Asha Rao", category=senior(), now=at(WEDNESDAY, 9))
    response = post(rao_client, "doctor_category", token, data)
    assert message in page_text(response)
    assert Token.objects.get(pk=token.pk).category == senior()


def test_another_departments_token_is_not_changed(client, dr_shah, orth):
    client.force_login(dr_shah.user)
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    response = post(client, "doctor_category", token, {"category": senior().pk, "reason": "x"})
    assert "ORTH-001 is not in your department's queue." in page_text(response)
    assert Token.objects.get(pk=token.pk).category is None


def test_a_counter_pauses_resumes_and_calls_again(lab_client, lab_tech, lab_counter, lab):
    response = post(lab_client, "counter_pause", data={"reason": "break", "back_at": "10:15"})
    assert "You are paused: break, back about 10:15." in page_text(response)
    assert DeskEvent.objects.get().counter == lab_counter
    post(lab_client, "counter_resume")
    services.issue_token(lab, "Asha Rao", now=at(WEDNESDAY, 9))
    called = services.call_next(lab_counter, actor=lab_tech.user, now=at(WEDNESDAY, 9, 30))
    response = post(lab_client, "counter_call_again", called)
    assert "LAB-001 is announced again on the display." in page_text(response)


def test_the_pause_reaches_the_patients_page_and_the_board(rao_client, dr_rao, orth):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    breaks.pause(dr_rao, reason="ward round", back_at=datetime.time(11, 30), now=NOW)
    notice = "on a ward round, back about 11:30"
    assert notice in page_text(rao_client.get(reverse("token_detail", args=[token.public_id])))
    assert notice in page_text(rao_client.get(reverse("progress")))


def test_a_booked_patient_sees_only_their_own_doctors_notice(client, dr_rao, dr_iyer, orth):
    mine = services.issue_token(orth, "Asha Rao", assigned_doctor=dr_iyer, now=at(WEDNESDAY, 9))
    breaks.pause(dr_rao, reason="ward round", back_at=datetime.time(11, 30), now=NOW)
    page = page_text(client.get(reverse("token_detail", args=[mine.public_id])))
    assert "on a ward round" not in page
    breaks.pause(dr_iyer, reason="theatre", now=NOW)
    page = page_text(client.get(reverse("token_detail", args=[mine.public_id])))
    assert "Dr. Iyer" in page and "in theatre" in page
    assert "on a ward round" not in page
