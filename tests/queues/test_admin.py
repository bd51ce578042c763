import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from queues.models import PriorityCategory, Token, TokenEvent
from queues.services import call_next, complete_token, issue_token, start_consultation
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at

CHANGELIST = reverse("admin:queues_token_changelist")


def issue(department, name, minute=0, **kwargs):
    return issue_token(department, name, now=at(WEDNESDAY, 8, minute), **kwargs)


@pytest.fixture
def seven(orth, card):
    """ORTH-001..007 and CARD-001..002 on Wednesday."""
    names = ["Asha", "Bala", "Chitra", "Dev", "Esha", "Farhan", "Gita Rao"]
    tokens = {f"ORTH-{i:03d}": issue(orth, name, i) for i, name in enumerate(names, 1)}
    tokens["CARD-001"] = issue(card, "Hari", 1)
    return tokens


def results(response) -> list[str]:
    return [token.display_number for token in response.context["cl"].result_list]


def test_the_token_list_shows_the_queue(staff, seven, dr_rao):
    call_next(dr_rao, now=at(WEDNESDAY, 9, 5))
    response = staff.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("ORTH-001", "Gita Rao", "Orthopedic Surgery", "Called", "Waiting", "Normal"):
        assert text in html
    for column in (
        "Issued at",
        "Called at",
        "Started at",
        "Completed at",
        "Priority",
        "Service date",
    ):
        assert column in html


def test_the_token_list_costs_a_fixed_number_of_queries(
    staff, seven, orth, django_assert_max_num_queries
):
    for i in range(20):
        issue(orth, f"Patient {i}", 30)
    # (One of them asks whether the admin has two-step sign-in to pass.)
    with django_assert_max_num_queries(13):
        staff.get(CHANGELIST)


@pytest.mark.parametrize(
    "term, expected",
    [
        ("ORTH-007", ["ORTH-007"]),
        ("orth-7", ["ORTH-007"]),
        ("ORTH 007", ["ORTH-007"]),
        ("CARD-001", ["CARD-001"]),
        ("7", ["ORTH-007"]),
        ("007", ["ORTH-007"]),
        ("1", ["CARD-001", "ORTH-001"]),
        ("gita", ["ORTH-007"]),
        ("Rao", ["ORTH-007"]),
        ("ORTH-099", []),
    ],
)
def test_search_by_number_or_name(staff, seven, term, expected):
    response = staff.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    assert sorted(results(response)) == expected


def test_filters_and_date_hierarchy(staff, seven, orth, card, dr_rao):
    call_next(dr_rao, now=at(WEDNESDAY, 9))
    assert sorted(results(staff.get(CHANGELIST, {"department__id__exact": card.pk}))) == [
        "CARD-001"
    ]
    assert results(staff.get(CHANGELIST, {"status__exact": "called"})) == ["ORTH-001"]
    by_day = staff.get(CHANGELIST, {"service_date": WEDNESDAY.isoformat()})
    assert len(results(by_day)) == 8
    drilled = staff.get(CHANGELIST, {"service_date__year": "2026", "service_date__month": "11"})
    assert len(results(drilled)) == 8
    assert results(staff.get(CHANGELIST, {"priority__exact": "1"})) == []


def test_tokens_cannot_be_added_in_the_admin(staff, orth):
    assert staff.get(reverse("admin:queues_token_add")).status_code == 403
    assert b"Add token" not in staff.get(CHANGELIST).content


def change_url(token) -> str:
    return reverse("admin:queues_token_change", args=[token.pk])


def test_staff_may_edit_the_name_and_priority_only(staff, orth, dr_rao):
    token = issue(orth, "Asha", 1)
    response = staff.get(change_url(token))
    assert set(response.context["adminform"].form.fields) == {"patient_name", "priority"}
    response = staff.post(
        change_url(token),
        {
            "patient_name": "  Asha   Kumari ",
            "priority": "1",
            # Read-only fields posted anyway are ignored.
            "status": "completed",
            "number": "99",
            "completed_at": "2026-11-18 10:00",
        },
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.patient_name, token.priority) == ("Asha Kumari", Token.Priority.EMERGENCY)
    assert (token.status, token.number, token.completed_at) == (Token.Status.WAITING, 1, None)
    # The queue order changed: screens are told.
    orth.refresh_from_db()
    assert orth.state_version == 2


def test_a_changed_priority_reorders_the_queue(staff, orth, dr_rao):
    issue(orth, "Asha", 1)
    later = issue(orth, "Bala", 2)
    staff.post(change_url(later), {"patient_name": "Bala", "priority": "1"})
    assert call_next(dr_rao, now=at(WEDNESDAY, 9)).pk == later.pk


def test_an_unprintable_name_is_refused(staff, orth):
    token = issue(orth, "Asha", 1)
    response = staff.post(change_url(token), {"patient_name": "Asha\x07", "priority": "0"})
    assert response.status_code == 200
    assert "cannot be printed" in response.content.decode()
    token.refresh_from_db()
    assert token.patient_name == "Asha"


def test_deleting_a_token_asks_first_and_records_who(staff, orth, admin_user):
    token = issue(orth, "Asha", 1)
    url = reverse("admin:queues_token_delete", args=[token.pk])
    confirm = staff.get(url)
    assert confirm.status_code == 200
    assert b"Are you sure" in confirm.content
    assert Token.objects.filter(pk=token.pk).exists()

    assert staff.post(url, {"post": "yes"}).status_code == 302
    assert not Token.objects.exists()
    deleted = TokenEvent.objects.get(kind=TokenEvent.Kind.DELETED)
    assert (deleted.actor, deleted.note, deleted.token) == (admin_user, "ORTH-001", None)


def test_bulk_delete_goes_through_the_service_for_each_token(staff, seven, admin_user):
    chosen = [seven["ORTH-002"], seven["ORTH-003"], seven["CARD-001"]]
    data = {"action": "delete_selected", ACTION_CHECKBOX_NAME: [t.pk for t in chosen]}
    confirm = staff.post(CHANGELIST, data)
    assert confirm.status_code == 200
    assert b"Are you sure" in confirm.content
    assert Token.objects.count() == 8

    assert staff.post(CHANGELIST, {**data, "post": "yes"}).status_code == 302
    assert Token.objects.count() == 5
    deleted = TokenEvent.objects.filter(kind=TokenEvent.Kind.DELETED)
    assert sorted(deleted.values_list("note", flat=True)) == ["CARD-001", "ORTH-002", "ORTH-003"]
    assert set(deleted.values_list("actor", flat=True)) == {admin_user.pk}


def test_cancel_selected_waiting_tokens(staff, orth, dr_rao, admin_user):
    first = issue(orth, "Asha", 1)
    second = issue(orth, "Bala", 2)
    third = issue(orth, "Chitra", 3)
    call_next(dr_rao, now=at(WEDNESDAY, 9))  # Asha is with the doctor
    response = staff.post(
        CHANGELIST,
        {"action": "cancel_waiting_tokens", ACTION_CHECKBOX_NAME: [first.pk, second.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "Cancelled 1 token(s)." in html
    assert "Not cancelled (not waiting): ORTH-001." in html
    statuses = {t.pk: t.status for t in Token.objects.all()}
    assert statuses == {
        first.pk: Token.Status.CALLED,
        second.pk: Token.Status.CANCELLED,
        third.pk: Token.Status.WAITING,
    }
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.CANCELLED)
    assert (event.actor, event.token_number) == (admin_user, 2)


def test_the_token_admin_is_for_staff_only(client, plain_user, dr_rao, orth):
    token = issue(orth, "Asha", 1)
    for user in (plain_user, dr_rao.user):
        client.force_login(user)
        assert client.get(CHANGELIST).status_code == 403
        url = reverse("admin:queues_token_delete", args=[token.pk])
        assert client.post(url, {"post": "yes"}).status_code == 403
    assert Token.objects.filter(pk=token.pk).exists()


# --- The audit trail ----------------------------------------------------------------------


EVENTS = reverse("admin:queues_tokenevent_changelist")


def test_events_are_listed_with_who_and_when(staff, orth, dr_rao):
    token = issue(orth, "Asha", 1)
    call_next(dr_rao, now=at(WEDNESDAY, 9))
    start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 2))
    response = staff.get(EVENTS)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Consultation started", "Called", "Issued", "ORTH-001", "Dr. Rao", "rao"):
        assert text in html
    called = staff.get(EVENTS, {"kind__exact": "called"})
    assert [e.kind for e in called.context["cl"].result_list] == ["called"]


def test_events_are_read_only(staff, orth):
    issue(orth, "Asha", 1)
    event = TokenEvent.objects.get()
    assert staff.get(reverse("admin:queues_tokenevent_add")).status_code == 403
    view = staff.get(reverse("admin:queues_tokenevent_change", args=[event.pk]))
    assert view.status_code == 200
    assert b'name="_save"' not in view.content
    assert (
        staff.post(
            reverse("admin:queues_tokenevent_change", args=[event.pk]), {"kind": "deleted"}
        ).status_code
        == 403
    )
    delete = reverse("admin:queues_tokenevent_delete", args=[event.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    listing = staff.get(EVENTS)
    assert "delete_selected" not in listing.content.decode()
    event.refresh_from_db()
    assert event.kind == TokenEvent.Kind.ISSUED


# --- Visits -------------------------------------------------------------------------------


VISITS = reverse("admin:queues_visit_changelist")


@pytest.fixture
def lab_round(orth, dr_rao, lab, lab_counter, lab_tech):
    """Asha: Dr. Rao, then the laboratory (Counter 1), then back to Dr. Rao for review;
    Bala: Dr. Rao only, still waiting."""
    token = issue(orth, "Asha Kumari", 1)
    issue(orth, "Bala", 2)
    call_next(dr_rao, now=at(WEDNESDAY, 9))
    start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 1))
    complete_token(
        dr_rao,
        token,
        now=at(WEDNESDAY, 9, 10),
        send_on=[
            NextStop(lab, note="CBC, fasting sugar"),
            NextStop(orth, doctor=dr_rao),
        ],
    )
    lab_token = call_next(lab_counter, actor=lab_tech.user, now=at(WEDNESDAY, 9, 20))
    start_consultation(lab_counter, lab_token, actor=lab_tech.user, now=at(WEDNESDAY, 9, 21))
    complete_token(lab_counter, lab_token, actor=lab_tech.user, now=at(WEDNESDAY, 9, 30))
    return token.visit


def test_visits_are_listed_by_day_status_and_source(staff, lab_round):
    response = staff.get(VISITS)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Asha Kumari", "Bala", "In progress", "Kiosk", "Stops"):
        assert text in html
    asha = next(v for v in response.context["cl"].result_list if v.pk == lab_round.pk)
    assert asha.stops_made == 3
    for query, expected in [
        ({"status__exact": "open"}, {"Asha Kumari", "Bala"}),
        ({"status__exact": "closed"}, set()),
        ({"source__exact": "kiosk"}, {"Asha Kumari", "Bala"}),
        ({"source__exact": "walk_in"}, set()),
        ({"service_date": WEDNESDAY.isoformat()}, {"Asha Kumari", "Bala"}),
        ({"q": "kumari"}, {"Asha Kumari"}),
    ]:
        listed = staff.get(VISITS, query).context["cl"].result_list
        assert {v.patient_name for v in listed} == expected, query


def test_a_visit_shows_its_stops_and_tokens_read_only(staff, lab_round):
    url = reverse("admin:queues_visit_change", args=[lab_round.pk])
    response = staff.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "First stop", "Sent on", "Back for review", "Done", "Now",
        "Laboratory", "CBC, fasting sugar", "ORTH-001", "LAB-001", "ORTH-003",
        "Room 4", "Counter 1",
    ):  # fmt: skip
        assert text in html, text
    assert b'name="_save"' not in response.content
    assert staff.post(url, {"patient_name": "Someone else"}).status_code == 403
    assert staff.get(reverse("admin:queues_visit_add")).status_code == 403
    delete = reverse("admin:queues_visit_delete", args=[lab_round.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    lab_round.refresh_from_db()
    assert lab_round.patient_name == "Asha Kumari"


def test_the_token_list_and_page_name_the_counter_and_the_visit(staff, lab_round):
    lab_token = Token.objects.get(department__code="LAB")
    html = staff.get(CHANGELIST).content.decode()
    assert "Counter" in html and "LAB Counter 1" in html
    page = staff.get(change_url(lab_token)).content.decode()
    assert "LAB Counter 1" in page
    assert reverse("admin:queues_visit_change", args=[lab_round.pk]) in page
    assert "Visit of Asha Kumari" in page


def test_visits_are_for_staff_only(client, plain_user, lab_tech, lab_round):
    for user in (plain_user, lab_tech.user):
        client.force_login(user)
        assert client.get(VISITS).status_code == 403


def test_an_admin_adds_a_priority_category_with_its_rule(staff):
    response = staff.post(
        reverse("admin:queues_prioritycategory_add"),
        {"name": "Freedom fighter", "symbol": "", "rule": "quota", "at_kiosk": "on",
         "proof_note": "Staff may ask for your pension card.", "order": "9", "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    assert PriorityCategory.objects.get(name="Freedom fighter").rule == "quota"
    listed = staff.get(reverse("admin:queues_prioritycategory_changelist"))
    assert "Senior citizen (60+)" in listed.content.decode()
