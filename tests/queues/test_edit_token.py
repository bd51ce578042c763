import pytest

from queues import reading, services
from queues.models import Token, TokenEvent
from tests.conftest import WEDNESDAY, at

NOW = at(WEDNESDAY, 9)


def test_staff_marking_an_emergency_moves_it_to_the_front_and_is_logged(orth, admin_user):
    services.issue_token(orth, "Asha Rao", now=NOW)
    late = services.issue_token(orth, "Bala Iyer", now=NOW)
    services.edit_token(
        late, patient_name="Bala Iyer", priority=Token.Priority.EMERGENCY, actor=admin_user
    )
    assert list(reading.waiting_tokens(orth, WEDNESDAY).values_list("number", flat=True)) == [
        2,
        1,
    ]
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.EDITED)
    assert event.actor == admin_user
    assert event.note == "priority emergency"


def test_correcting_a_name_is_logged_and_an_unchanged_save_is_not(orth, admin_user):
    token = services.issue_token(orth, "Asha Ro", now=NOW)
    services.edit_token(token, patient_name="Asha Rao", priority=0, actor=admin_user)
    services.edit_token(token, patient_name="Asha Rao", priority=0, actor=admin_user)
    token.refresh_from_db()
    assert token.patient_name == "Asha Rao"
    assert TokenEvent.objects.filter(kind=TokenEvent.Kind.EDITED).count() == 1


@pytest.mark.parametrize(
    "name, priority, message",
    [("", 0, "Enter the patient's name"), ("Asha", 7, "Choose a priority")],
)
def test_bad_edits_change_nothing(orth, admin_user, name, priority, message):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    with pytest.raises(services.QueueError, match=message):
        services.edit_token(token, patient_name=name, priority=priority, actor=admin_user)
    token.refresh_from_db()
    assert (token.patient_name, token.priority) == ("Asha Rao", 0)


def test_only_staff_may_edit(orth, dr_rao):
    token = services.issue_token(orth, "Asha Rao", now=NOW)
    with pytest.raises(services.QueueError, match="Only hospital staff"):
        services.edit_token(token, patient_name="X", priority=1, actor=dr_rao.user)
