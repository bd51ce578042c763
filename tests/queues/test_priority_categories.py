"""Priority categories in the one calling policy (queues.reading.calling_sequence):
"always first" (Emergency), "one after every N general tokens" (senior citizens, persons
with disability, pregnant women), "as general"; general tokens are never starved."""

import datetime
import math

import pytest

from appointments.models import Appointment, Patient
from queues import reading, services
from queues.models import PriorityCategory, Token, TokenEvent
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.django_db


def category(name: str) -> PriorityCategory:
    return PriorityCategory.objects.get(name=name)


def senior() -> PriorityCategory:
    return category("Senior citizen (60+)")


def token(department, name, minute, **kwargs) -> Token:
    return services.issue_token(department, name, now=at(WEDNESDAY, 8, minute), **kwargs)


def serve(desk, minute) -> Token:
    """Call the next patient at 9:minute and finish with them at once."""
    called = services.call_next(desk, now=at(WEDNESDAY, 9, minute))
    services.start_consultation(desk, called, now=at(WEDNESDAY, 9, minute))
    services.complete_token(desk, called, now=at(WEDNESDAY, 9, minute))
    return called


def names(department, minute) -> list[str]:
    line = reading.calling_sequence(department, WEDNESDAY, now=at(WEDNESDAY, 9, minute))
    return [t.patient_name for t in line]


def test_the_demo_categories_exist_with_their_rules(db):
    rules = dict(PriorityCategory.objects.values_list("name", "rule"))
    assert rules == {
        "Emergency": "first",
        "Senior citizen (60+)": "quota",
        "Person with disability": "quota",
        "Pregnant": "quota",
        "Hospital staff": "general",
        "General": "general",
    }
    assert not category("Emergency").at_kiosk


def test_a_senior_citizen_is_called_after_every_n_general_tokens(orth, dr_rao):
    orth.priority_interval = 3
    orth.save()
    for i in range(5):
        token(orth, f"G{i + 1}", i)
    token(orth, "Senior", 10, category=senior())
    assert names(orth, 0) == ["G1", "G2", "G3", "Senior", "G4", "G5"]
    called = [serve(dr_rao, minute).patient_name for minute in range(6)]
    assert called == ["G1", "G2", "G3", "Senior", "G4", "G5"]


def test_a_quota_token_is_never_worse_off_than_first_come_first_served(orth, dr_rao):
    token(orth, "Senior", 0, category=senior())
    token(orth, "G1", 1)
    assert names(orth, 0) == ["Senior", "G1"]


def test_as_general_categories_keep_their_turn(orth):
    token(orth, "G1", 0)
    token(orth, "Staff", 1, category=category("Hospital staff"))
    token(orth, "G2", 2)
    assert names(orth, 0) == ["G1", "Staff", "G2"]


def test_the_interval_is_per_department(orth, card, dr_rao, dr_shah):
    card.priority_interval = 1
    card.save()
    for department in (orth, card):
        for i in range(3):
            token(department, f"G{i + 1}", i)
        token(department, "Senior", 10, category=senior())
    assert names(card, 0) == ["G1", "Senior", "G2", "G3"]
    assert names(orth, 0) == ["G1", "G2", "G3", "Senior"]


def test_the_longest_a_general_token_is_passed_over_under_a_steady_stream(orth, dr_rao):
    """Ten general patients wait; before every call one more senior citizen arrives. The
    k-th general patient is passed over by floor((k - 1) / N) seniors who came after
    them: with N = 3, the tenth by 3 — never by the whole stream."""
    orth.priority_interval = 3
    orth.save()
    generals = [token(orth, f"G{i + 1}", i).pk for i in range(10)]
    calls = []
    for minute in range(40):
        token(orth, f"S{minute}", 20 + minute, category=senior())
        calls.append(serve(dr_rao, minute).pk)
        if calls[-1] == generals[-1]:
            break
    for k, pk in enumerate(generals, start=1):
        passed_over = calls.index(pk) - (k - 1)
        assert passed_over == (k - 1) // 3 <= math.ceil(k / 3)
    assert len(calls) == 13  # the tenth general patient is called thirteenth


def test_emergencies_recalls_due_appointments_reviews_and_quotas_together(
    orth, dr_rao, lab, lab_counter, lab_tech, admin_user
):
    """Emergencies first, then recalled no-shows, then due appointments; behind them the
    review return and general tokens by when they joined, with the senior citizen's
    quota turn after N general calls (the no-show's and the review's first calls, and the
    recalled and booked patients ahead, count among them)."""
    orth.priority_interval = 5
    orth.save()
    skipped = token(orth, "No-show", 0)
    services.call_next(dr_rao, now=at(WEDNESDAY, 8, 30))
    services.skip_token(dr_rao, skipped, now=at(WEDNESDAY, 8, 31))
    reviewed = token(orth, "Review", 1)
    services.call_next(dr_rao, now=at(WEDNESDAY, 8, 32))
    services.start_consultation(dr_rao, reviewed, now=at(WEDNESDAY, 8, 32))
    back = [NextStop(lab), NextStop(orth, doctor=dr_rao)]
    services.complete_token(dr_rao, reviewed, now=at(WEDNESDAY, 8, 40), send_on=back)
    for i in range(3):
        token(orth, f"G{i + 1}", 41 + i)
    token(orth, "Senior", 45, category=senior())
    patient = Patient.objects.create(name="Booked", mobile="+919800000001")
    appointment = Appointment.objects.create(
        patient=patient, doctor=dr_rao, date=WEDNESDAY, start=datetime.time(9),
        end=datetime.time(9, 15), reason="Knee", status=Appointment.Status.CHECKED_IN,
        created_at=at(WEDNESDAY, 7),
    )  # fmt: skip
    token(orth, "Booked", 46, assigned_doctor=dr_rao, appointment=appointment)
    token(orth, "Emergency", 50, category=category("Emergency"), actor=admin_user)
    services.recall_token(dr_rao, skipped, now=at(WEDNESDAY, 8, 55))
    lab_token = Token.objects.get(department=lab)
    services.call_next(lab_counter, actor=lab_tech.user, now=at(WEDNESDAY, 8, 56))
    services.start_consultation(
        lab_counter, lab_token, actor=lab_tech.user, now=at(WEDNESDAY, 8, 56)
    )
    services.complete_token(lab_counter, lab_token, actor=lab_tech.user, now=at(WEDNESDAY, 8, 58))

    line = reading.calling_sequence(orth, WEDNESDAY, desk=dr_rao, now=at(WEDNESDAY, 9))
    assert [t.patient_name for t in line] == [
        "Emergency", "No-show", "Booked", "Review", "G1", "Senior", "G2", "G3",
    ]  # fmt: skip


def test_an_emergency_category_is_an_emergency_in_the_pool(orth, dr_rao, admin_user):
    emergency = token(
        orth, "E", 0, category=category("Emergency"), actor=admin_user, assigned_doctor=dr_rao
    )
    assert (emergency.priority, emergency.assigned_doctor) == (Token.Priority.EMERGENCY, None)


def test_only_staff_give_a_category_the_kiosk_does_not_offer(orth):
    with pytest.raises(services.QueueError, match="Only hospital staff"):
        token(orth, "E", 0, category=category("Emergency"))


def test_staff_change_a_category_with_a_reason_and_it_is_logged(orth, dr_rao, receptionist):
    for i in range(3):
        token(orth, f"G{i + 1}", i)
    last = token(orth, "G4", 3)
    services.change_category(last, senior(), actor=receptionist, reason="Showed Aadhaar: 67")
    last.refresh_from_db()
    assert last.category == senior()
    event = TokenEvent.objects.get(token=last, kind=TokenEvent.Kind.CATEGORY)
    assert event.actor == receptionist
    assert event.note == "General → Senior citizen (60+): Showed Aadhaar: 67"
    services.change_category(last, None, actor=dr_rao.user, reason="No proof")
    last.refresh_from_db()
    assert last.category is None


def test_a_category_change_needs_a_reason_and_staff(orth, plain_user, receptionist):
    waiting = token(orth, "G1", 0)
    with pytest.raises(services.QueueError, match="Enter the reason"):
        services.change_category(waiting, senior(), actor=receptionist, reason="  ")
    for nobody in (plain_user, None):
        with pytest.raises(services.QueueError, match="Only hospital staff"):
            services.change_category(waiting, senior(), actor=nobody, reason="x")
    waiting.refresh_from_db()
    assert waiting.category is None


def test_call_again_announces_a_called_token_and_is_logged(orth, dr_rao):
    waiting = token(orth, "G1", 0)
    with pytest.raises(services.QueueError, match="only a called token"):
        services.announce_again(waiting, actor=dr_rao.user)
    services.call_next(dr_rao, now=at(WEDNESDAY, 9))
    services.announce_again(waiting, actor=dr_rao.user, now=at(WEDNESDAY, 9, 2))
    waiting.refresh_from_db()
    assert waiting.announced_at == at(WEDNESDAY, 9, 2)
    assert TokenEvent.objects.filter(token=waiting, kind=TokenEvent.Kind.ANNOUNCED).exists()


def test_a_sent_on_patient_keeps_their_category(orth, dr_rao, lab):
    first = token(orth, "Senior", 0, category=senior())
    services.call_next(dr_rao, now=at(WEDNESDAY, 9))
    services.start_consultation(dr_rao, first, now=at(WEDNESDAY, 9))
    services.complete_token(dr_rao, first, now=at(WEDNESDAY, 9, 5), send_on=[NextStop(lab)])
    assert Token.objects.get(department=lab).category == senior()
