"""A visit through the OPD: sending a patient on after the doctor, the stops opening one
after the other, review returns, referrals, cancelled stops, double submits."""

import pytest

from queues import reading, services, visits
from queues.models import Token, TokenEvent, Visit, VisitStop
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.django_db


def seen(desk, token, minute, **complete):
    """Call (the token must be next), start and complete at the given minute past 9."""
    called = services.call_next(desk, now=at(WEDNESDAY, 9, minute))
    assert called == token
    services.start_consultation(desk, called, now=at(WEDNESDAY, 9, minute))
    return services.complete_token(desk, called, now=at(WEDNESDAY, 9, minute + 1), **complete)


def test_a_kiosk_token_starts_a_visit_with_one_current_stop(orth):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    visit = token.visit
    assert visit.status == Visit.Status.OPEN
    assert visit.source == Visit.Source.KIOSK
    [stop] = visit.stops.all()
    assert (stop.token, stop.status, stop.kind) == (token, "current", "first")


def test_sending_on_opens_the_first_stop_now_and_the_rest_in_order(
    orth, dr_rao, lab, lab_counter, lab_tech, pharmacy
):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    seen(dr_rao, token, 0, send_on=[
        NextStop(lab, note="Fasting sugar"), NextStop(orth, doctor=dr_rao), NextStop(pharmacy),
    ])  # fmt: skip
    visit = Visit.objects.get()
    stops = list(visit.stops.order_by("position"))
    assert [(s.department.code, s.status, s.kind) for s in stops] == [
        ("ORTH", "done", "first"),
        ("LAB", "current", "sent"),
        ("ORTH", "planned", "review"),
        ("PHAR", "planned", "sent"),
    ]
    lab_token = stops[1].token
    assert lab_token.display_number == "LAB-001"
    assert lab_token.visit == visit and lab_token.patient_name == "Asha Rao"
    assert stops[1].note == "Fasting sugar"
    sent = TokenEvent.objects.get(token=token, kind=TokenEvent.Kind.SENT_ON)
    assert sent.actor == dr_rao.user
    assert "Laboratory" in sent.note and "Pharmacy" in sent.note

    # The laboratory serves it at a counter; completing opens the review with Dr. Rao.
    called = services.call_next(lab_counter, actor=lab_tech.user, now=at(WEDNESDAY, 9, 10))
    assert called == lab_token and called.counter == lab_counter
    services.start_consultation(lab_counter, called, actor=lab_tech.user, now=at(WEDNESDAY, 9, 11))
    services.complete_token(lab_counter, called, actor=lab_tech.user, now=at(WEDNESDAY, 9, 20))
    review = visit.stops.get(position=3)
    assert review.status == "current"
    assert review.token.assigned_doctor == dr_rao
    # Back with Dr. Rao, then the pharmacy, then the visit is over.
    seen(dr_rao, review.token, 30)
    pharmacy_stop = visit.stops.get(position=4)
    assert pharmacy_stop.token.display_number == "PHAR-001"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.OPEN


def test_a_review_return_is_not_put_behind_those_who_came_while_away(
    orth, dr_rao, lab, lab_counter, lab_tech
):
    first = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    waiting_before = services.issue_token(orth, "Bala Iyer", now=at(WEDNESDAY, 8, 30))
    seen(dr_rao, first, 0, send_on=[NextStop(lab), NextStop(orth, doctor=dr_rao)])
    # While Asha is at the laboratory, two more patients arrive.
    later = [
        services.issue_token(orth, name, now=at(WEDNESDAY, 9, 5 + i))
        for i, name in enumerate(["Chitra Menon", "Dev Shah"])
    ]
    lab_token = Token.objects.get(department=lab)
    services.call_next(lab_counter, actor=lab_tech.user, now=at(WEDNESDAY, 9, 10))
    services.start_consultation(
        lab_counter, lab_token, actor=lab_tech.user, now=at(WEDNESDAY, 9, 10)
    )
    services.complete_token(lab_counter, lab_token, actor=lab_tech.user, now=at(WEDNESDAY, 9, 30))
    review = Token.objects.get(department=orth, visit=first.visit, status="waiting")
    order = list(reading.waiting_tokens(orth, WEDNESDAY, doctor=dr_rao, now=at(WEDNESDAY, 9, 31)))
    # Behind who was already waiting when she left, ahead of who came while she was away.
    assert order == [waiting_before, review, *later]


def test_a_referral_joins_by_the_time_it_was_sent(orth, dr_rao, card, dr_shah):
    earlier = services.issue_token(card, "Early Bird", now=at(WEDNESDAY, 8))
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8, 10))
    seen(dr_rao, token, 0, send_on=[NextStop(card, note="Chest pain on exertion")])
    later = services.issue_token(card, "Late Comer", now=at(WEDNESDAY, 9, 30))
    referred = Token.objects.get(department=card, visit=token.visit)
    assert list(reading.waiting_tokens(card, WEDNESDAY, now=at(WEDNESDAY, 9, 31))) == [
        earlier,
        referred,
        later,
    ]
    assert TokenEvent.objects.filter(token=token, kind=TokenEvent.Kind.REFERRED).exists()
    assert referred.stop.kind == VisitStop.Kind.REFERRAL


def test_a_referral_to_a_named_doctor_is_theirs_only(orth, dr_rao, card, dr_shah):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    seen(dr_rao, token, 0, send_on=[NextStop(card, doctor=dr_shah)])
    referred = Token.objects.get(department=card)
    assert referred.assigned_doctor == dr_shah


def test_an_emergency_stays_an_emergency_at_the_next_stop(orth, dr_rao, lab, admin_user):
    token = services.issue_token(
        orth, "Unknown male", priority=Token.Priority.EMERGENCY, actor=admin_user,
        now=at(WEDNESDAY, 8),
    )  # fmt: skip
    seen(dr_rao, token, 0, send_on=[NextStop(lab)])
    assert Token.objects.get(department=lab).priority == Token.Priority.EMERGENCY


def test_completing_twice_sends_on_once(orth, dr_rao, lab):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    seen(dr_rao, token, 0, send_on=[NextStop(lab)])
    with pytest.raises(services.QueueError, match="Completed"):
        services.complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 2), send_on=[NextStop(lab)])
    assert Token.objects.filter(department=lab).count() == 1


def test_the_last_stop_completed_closes_the_visit(orth, dr_rao):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    seen(dr_rao, token, 0)
    visit = Visit.objects.get()
    assert visit.status == Visit.Status.CLOSED
    assert visit.closed_at == at(WEDNESDAY, 9, 1)


def test_cancelling_the_current_stop_moves_the_visit_on(orth, dr_rao, lab, pharmacy, admin_user):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    seen(dr_rao, token, 0, send_on=[NextStop(lab), NextStop(pharmacy)])
    visit = Visit.objects.get()
    lab_stop = visit.stops.get(department=lab)
    visits.cancel_stop(lab_stop, actor=admin_user, reason="Left", now=at(WEDNESDAY, 9, 5))
    lab_stop.refresh_from_db()
    assert lab_stop.status == "cancelled"
    assert lab_stop.token.status == Token.Status.CANCELLED
    assert visit.stops.get(department=pharmacy).status == "current"
    pharmacy_stop = visit.stops.get(department=pharmacy)
    visits.cancel_stop(pharmacy_stop, actor=admin_user, now=at(WEDNESDAY, 9, 6))
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CLOSED


def test_a_planned_stop_can_be_cancelled_before_the_patient_gets_there(
    orth, dr_rao, lab, pharmacy, admin_user
):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    seen(dr_rao, token, 0, send_on=[NextStop(lab), NextStop(pharmacy)])
    planned = VisitStop.objects.get(department=pharmacy)
    visits.cancel_stop(planned, actor=admin_user, now=at(WEDNESDAY, 9, 5))
    assert planned.__class__.objects.get(pk=planned.pk).status == "cancelled"
    assert not Token.objects.filter(department=pharmacy).exists()


def test_sending_to_a_closed_department_is_refused_and_nothing_changes(orth, dr_rao, lab):
    lab.is_active = False
    lab.save()
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    services.call_next(dr_rao, now=at(WEDNESDAY, 9))
    services.start_consultation(dr_rao, token, now=at(WEDNESDAY, 9))
    with pytest.raises(services.QueueError, match="Laboratory is not taking"):
        services.complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 1), send_on=[NextStop(lab)])
    token.refresh_from_db()
    assert token.status == Token.Status.IN_CONSULTATION
