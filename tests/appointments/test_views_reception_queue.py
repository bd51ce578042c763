"""The reception's live queue page /reception/queue/: every token of today (kiosk,
walk-in, checked in), search by number, name or mobile, and each action's POST; bad
input is shown and writes nothing."""

import datetime

import pytest
from django.urls import reverse

from appointments.changes import check_in
from queues import services
from queues.models import PriorityCategory, Token, TokenEvent, Visit
from tests.appointments.conftest import place
from tests.conftest import WEDNESDAY, at, flat_text, page_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock", "outbox")]

NOW = at(WEDNESDAY, 10)
QUEUE = reverse("reception_queue")


def url(name: str, token: Token) -> str:
    return reverse(name, args=[token.public_id])


def issue(department, name, minute=0, **kwargs) -> Token:
    return services.issue_token(department, name, now=at(WEDNESDAY, 9, minute), **kwargs)


@pytest.fixture
def day(orth, card, dr_rao, desk):
    """A kiosk token, a walk-in and a checked-in appointment in Orthopaedics, and a
    kiosk token in Cardiology."""
    kiosk = issue(orth, "Asha Rao", 0, mobile="98123 45678")
    walk_in = issue(orth, "Bala Iyer", 1, source=Visit.Source.WALK_IN, actor=desk)
    booked = place(dr_rao, datetime.time(11), mobile="+919800000001")
    checked_in, _ = check_in(booked, actor=desk, now=at(WEDNESDAY, 9, 2))
    cardiac = issue(card, "Chitra Menon", 3)
    return {"kiosk": kiosk, "walk_in": walk_in, "checked_in": checked_in, "card": cardiac}


def rows(response) -> dict[str, str]:
    """Each row's token number and its text."""
    html = flat_text(response)
    found = {}
    for part in html.split('<tr class="queue-row')[1:]:
        number = part.split('data-token="')[1].split('"')[0]
        found[number] = part.split("</tr>")[0]
    return found


def test_the_page_lists_every_token_of_today_with_how_it_came(desk_client, day):
    response = desk_client.get(QUEUE)
    assert response.status_code == 200
    shown = rows(response)
    assert set(shown) == {"ORTH-001", "ORTH-002", "ORTH-003", "CARD-001"}
    assert "Kiosk" in shown["ORTH-001"] and "Walk-in" in shown["ORTH-002"]
    assert "Checked in" in shown["ORTH-003"] and "Dr. Rao" in shown["ORTH-003"]
    # The mobile is masked; the place in line is shown.
    assert "98123" not in shown["ORTH-001"] and "5678" in shown["ORTH-001"]
    assert "1 (next)" in shown["ORTH-001"]
    assert 'data-departments="card orth"' in flat_text(response)


def test_one_department_and_yesterdays_tokens_are_left_out(desk_client, day, orth):
    services.issue_token(orth, "Old Patient", now=at(WEDNESDAY - datetime.timedelta(days=1), 9))
    response = desk_client.get(QUEUE, {"department": "card"})
    assert set(rows(response)) == {"CARD-001"}
    assert 'data-departments="card"' in flat_text(response)
    assert "department=card&amp;fragment=1" in response.content.decode()


@pytest.mark.parametrize(
    "query, expected",
    [
        ("ORTH-002", {"ORTH-002"}),
        ("orth 2", {"ORTH-002"}),
        ("1", {"ORTH-001", "CARD-001"}),
        ("chitra", {"CARD-001"}),
        ("98123 45678", {"ORTH-001"}),
        ("+91 98123-45678", {"ORTH-001"}),
        ("9800000001", {"ORTH-003"}),
        ("nobody", set()),
    ],
)
def test_search_by_number_name_or_mobile(desk_client, day, query, expected):
    assert set(rows(desk_client.get(QUEUE, {"q": query}))) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"department": "nope"},
        {"department": "x\x00y"},
        {"q": "\x00" * 300},
        {"department": "a" * 99},
    ],
)
def test_strange_filters_say_so_and_show_everything(desk_client, day, params):
    response = desk_client.get(QUEUE, params)
    assert response.status_code == 200
    assert len(rows(response)) == 4
    if "department" in params:
        assert "That department could not be found" in page_text(response)


def test_the_fragment_is_the_table_alone(desk_client, day):
    response = desk_client.get(QUEUE, {"fragment": "1", "department": "orth"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="queue-list"' in html and "<html" not in html
    assert set(rows(response)) == {"ORTH-001", "ORTH-002", "ORTH-003"}
    assert "csrfmiddlewaretoken" in html


# --- The actions ----------------------------------------------------------------------------


def test_recall_a_skipped_patient(desk_client, day, dr_rao):
    called = services.call_next(dr_rao, now=at(WEDNESDAY, 9, 30))
    services.skip_token(dr_rao, called, now=at(WEDNESDAY, 9, 31))
    response = desk_client.post(
        url("reception_queue_recall", called),
        {"reason": "Came back", "department_shown": "orth", "q_shown": "Asha"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?department=orth&q=Asha"
    called.refresh_from_db()
    assert called.status == Token.Status.WAITING and called.recalled_at == NOW
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.RECALLED)
    assert event.note == "Came back" and event.actor.username == "frontdesk"
    assert "is recalled" in page_text(desk_client.get(response["Location"]))


def test_cancel_needs_a_reason(desk_client, day):
    token = day["walk_in"]
    response = desk_client.post(url("reception_queue_cancel", token), {"reason": " "})
    assert response.status_code == 400
    assert "Say why" in page_text(response) or "Enter the reason" in page_text(response)
    token.refresh_from_db()
    assert token.status == Token.Status.WAITING
    response = desk_client.post(url("reception_queue_cancel", token), {"reason": "Went home"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    token.refresh_from_db()
    assert token.status == Token.Status.CANCELLED
    assert TokenEvent.objects.get(kind=TokenEvent.Kind.CANCELLED).note == "Went home"


def test_transfer_to_another_department_and_doctor(desk_client, day, card, dr_shah):
    token = day["kiosk"]
    response = desk_client.post(
        url("reception_queue_transfer", token),
        {"department": card.pk, "doctor": dr_shah.pk, "reason": "Chest pain"},
    )
    assert response.status_code == 302
    new = Token.objects.get(department=card, number=2)
    assert new.assigned_doctor == dr_shah and new.queued_at == token.queued_at
    assert "moved to Cardiology" in page_text(desk_client.get(QUEUE))


def test_change_the_category(desk_client, day):
    token = day["walk_in"]
    senior = PriorityCategory.objects.get(name="Senior citizen (60+)")
    response = desk_client.post(
        url("reception_queue_category", token), {"category": senior.pk, "reason": "Age 72"}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.category == senior
    assert "Senior citizen (60+)" in rows(desk_client.get(QUEUE))["ORTH-002"]


def test_call_again_and_reprint(desk_client, day, dr_rao):
    called = services.call_next(dr_rao, now=at(WEDNESDAY, 9, 30))
    response = desk_client.post(url("reception_queue_announce", called))
    assert response.status_code == 302
    called.refresh_from_db()
    assert called.announced_at == NOW
    response = desk_client.post(url("reception_queue_reprint", called))
    assert response.status_code == 302
    assert response["Location"] == reverse("token_slip", args=[called.public_id])
    kinds = set(TokenEvent.objects.values_list("kind", flat=True))
    assert {TokenEvent.Kind.ANNOUNCED, TokenEvent.Kind.REPRINTED} <= kinds


@pytest.mark.parametrize(
    "name, data",
    [
        ("reception_queue_recall", {"reason": "x"}),  # not skipped
        ("reception_queue_cancel", {}),
        ("reception_queue_cancel", {"reason": "x" * 201}),
        ("reception_queue_transfer", {"department": "", "reason": "x"}),
        ("reception_queue_transfer", {"department": "9" * 30, "reason": "x"}),
        ("reception_queue_transfer", {"department": "abc", "reason": "x"}),
        ("reception_queue_transfer", {"department": "{card}", "doctor": "{rao}", "reason": "x"}),
        ("reception_queue_transfer", {"department": "{card}", "reason": ""}),
        ("reception_queue_category", {"category": "", "reason": "x"}),
        ("reception_queue_category", {"category": "99999", "reason": "x"}),
        ("reception_queue_category", {"category": "{senior}", "reason": "\x00"}),
        ("reception_queue_announce", {}),  # not called
    ],
)
def test_bad_input_writes_nothing(desk_client, day, card, dr_rao, name, data):
    senior = PriorityCategory.objects.get(name="Senior citizen (60+)")
    values = {"{card}": str(card.pk), "{rao}": str(dr_rao.pk), "{senior}": str(senior.pk)}
    data = {key: values.get(value, value) for key, value in data.items()}
    before = (Token.objects.count(), TokenEvent.objects.count())
    response = desk_client.post(url(name, day["kiosk"]), data)
    assert response.status_code == 400
    assert "Nothing was saved" in page_text(response)
    assert (Token.objects.count(), TokenEvent.objects.count()) == before
    token = Token.objects.get(pk=day["kiosk"].pk)
    assert (token.status, token.category_id, token.department_id) == (
        Token.Status.WAITING,
        None,
        day["kiosk"].department_id,
    )


def test_an_unknown_or_old_token_is_a_404(desk_client, day, orth):
    old = services.issue_token(orth, "Old", now=at(WEDNESDAY - datetime.timedelta(days=1), 9))
    for token_id in (old.public_id, "00000000-0000-4000-8000-000000000000"):
        response = desk_client.post(
            reverse("reception_queue_cancel", args=[token_id]), {"reason": "x"}
        )
        assert response.status_code == 404
