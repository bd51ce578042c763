"""What each change moves on (queues.versions): the department's version always; the
queue version when every desk's panel may change; only the desk's own panel version when
nobody else's does. A terminal whose panel key stays the same is not sent a new panel,
so a key that stays the same must mean a panel that stays the same."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from hospital.models import Department, Doctor
from queues import breaks, desk, services
from queues.models import Token
from queues.versions import desk_part
from tests.conftest import WEDNESDAY, at, make_counter_staff, make_receptionist

NOW = at(WEDNESDAY, 10)
pytestmark = pytest.mark.usefixtures("clock")

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def versions(department: Department) -> tuple[int, int]:
    department.refresh_from_db()
    return department.state_version, department.queue_version


def panel_version(doctor: Doctor) -> int:
    doctor.refresh_from_db()
    return doctor.panel_version


def test_issuing_calling_and_skipping_move_every_desk_s_queue_version(orth, dr_rao, dr_iyer):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    assert versions(orth) == (1, 1)
    assert panel_version(dr_rao) == 0
    services.call_next(dr_rao)
    assert versions(orth) == (2, 2)
    services.skip_token(dr_rao, token)
    assert versions(orth) == (3, 3)
    # The calling desk's own part changed with the lists: its patient came and went.
    assert panel_version(dr_rao) == 2
    services.recall_token(dr_iyer, token)
    # Recalled from Dr. Rao's: their figures no longer count it.
    assert panel_version(dr_rao) == 3 and panel_version(dr_iyer) == 0


def test_a_consultation_started_and_completed_moves_only_its_desk_s_panel_version(
    orth, dr_rao, dr_iyer
):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 9))
    services.call_next(dr_rao)
    services.start_consultation(dr_rao, token)
    services.complete_token(dr_rao, token)
    assert versions(orth) == (4, 2)
    # Called (with the queue), started, completed.
    assert panel_version(dr_rao) == 3 and panel_version(dr_iyer) == 0


def test_a_pause_and_a_return_move_only_the_desk_s_panel_version(orth, dr_rao):
    breaks.pause(dr_rao, reason="ward round")
    breaks.resume(dr_rao)
    assert versions(orth) == (2, 0)
    assert panel_version(dr_rao) == 2


def test_a_counter_s_patient_moves_the_counter_s_panel_version(lab, lab_counter):
    token = services.issue_token(lab, "Asha Rao", now=at(WEDNESDAY, 9))
    services.call_next(lab_counter)
    services.start_consultation(lab_counter, token)
    lab_counter.refresh_from_db()
    assert versions(lab) == (3, 2) and lab_counter.panel_version == 2


QUEUE_NOTE = re.compile(r'(<p class="help" id="queue-note" data-queue-note>).*?(</p>)', re.S)


def panels(clients: dict[str, Client]) -> dict[str, tuple[str, str, str]]:
    """Each terminal's panel now: its key, its HTML (CSRF tokens differ per request), and
    its desk's own part: the HTML less the lists and the idle card's line about the
    queue, which the lists alone bring (they must be the panel's, as they are)."""
    shown = {}
    for name, client in clients.items():
        body = client.get(reverse("doctor_panel")).json()
        lists = client.get(reverse("doctor_lists")).json()
        html = CSRF.sub("", body["html"])
        assert lists["key"] == body["key"] and lists["html"] in html
        assert f"data-queue-note>{lists['note']}</p>" in html or "data-queue-note" not in html
        desk_part = QUEUE_NOTE.sub(r"\1\2", html.replace(lists["html"], ""))
        shown[name] = (body["key"], html, desk_part)
    return shown


def test_a_panel_whose_key_is_unchanged_is_unchanged(orth, dr_rao, dr_iyer, admin_user):
    reception = make_receptionist()
    clients = {}
    for doctor in (dr_rao, dr_iyer):
        clients[doctor.name] = Client()
        clients[doctor.name].force_login(doctor.user)
    first, second, third = (
        services.issue_token(orth, name, now=at(WEDNESDAY, 9, i))
        for i, name in enumerate(["Asha Rao", "Bala K", "Chitra M"])
    )
    steps = [
        ("issued", lambda: services.issue_token(orth, "Dev P", now=at(WEDNESDAY, 9, 30))),
        ("Rao calls", lambda: services.call_next(dr_rao)),
        ("Rao starts", lambda: services.start_consultation(dr_rao, first)),
        ("Iyer calls", lambda: services.call_next(dr_iyer)),
        ("called again", lambda: desk.announce_again(second, actor=reception)),
        ("Rao completes", lambda: services.complete_token(dr_rao, first)),
        ("Iyer skips", lambda: services.skip_token(dr_iyer, second)),
        ("Rao pauses", lambda: breaks.pause(dr_rao, reason="break")),
        ("Rao is back", lambda: breaks.resume(dr_rao)),
        ("recalled", lambda: services.recall_token(dr_iyer, second)),
        ("edited", lambda: edit(third, admin_user)),
        ("Iyer calls", lambda: services.call_next(dr_iyer)),
        (
            "Iyer starts",
            lambda: services.start_consultation(dr_iyer, Token.objects.get(pk=second.pk)),
        ),
    ]
    before = panels(clients)
    kept, lists_only = [], []
    for step, change in steps:
        change()
        after = panels(clients)
        for name in clients:
            if after[name][0] == before[name][0]:
                assert after[name][1] == before[name][1], f"{name}'s panel after {step}"
                kept.append((step, name))
            elif desk_part(after[name][0]) == desk_part(before[name][0]):
                # Only the lists are fetched: the rest on screen must still be right.
                assert after[name][2] == before[name][2], f"{name}'s desk after {step}"
                lists_only.append((step, name))
        before = after
    # The other doctor's panel is not fetched again for a consultation started or
    # completed, a pause, a return, or a patient called again.
    assert kept == [
        ("Rao starts", "Dr. Iyer"),
        ("called again", "Dr. Rao"),
        ("Rao completes", "Dr. Iyer"),
        ("Rao pauses", "Dr. Iyer"),
        ("Rao is back", "Dr. Iyer"),
        ("Iyer starts", "Dr. Rao"),
    ]
    # A change to the queue that is not at a desk's own patient sends that desk for the
    # lists alone.
    assert lists_only == [
        ("issued", "Dr. Rao"),
        ("issued", "Dr. Iyer"),
        ("Rao calls", "Dr. Iyer"),
        ("Iyer calls", "Dr. Rao"),
        ("Iyer skips", "Dr. Rao"),
        ("recalled", "Dr. Rao"),
        ("edited", "Dr. Rao"),
        ("edited", "Dr. Iyer"),
        ("Iyer calls", "Dr. Rao"),
    ]


def edit(token: Token, actor) -> None:
    token.refresh_from_db()
    services.edit_token(token, patient_name="Chitra Menon", priority=token.priority, actor=actor)


def test_a_counter_staff_member_s_key_names_their_counter(lab, lab_counter, lab_counter_2):
    from queues import terminal, versions

    staff = make_counter_staff("tech2", "Tech Two", lab, lab_counter)
    _, key = versions.staff_versions(terminal.load_counter_staff(staff.pk))
    terminal.choose_counter(terminal.load_counter_staff(staff.pk), lab_counter_2, actor=staff.user)
    _, moved = versions.staff_versions(terminal.load_counter_staff(staff.pk))
    assert moved != key
    assert versions.terminal_keys(lab.pk, lab.queue_version + 1)[f"s{staff.pk}"] == moved
