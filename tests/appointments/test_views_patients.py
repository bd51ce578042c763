"""The reception's patient pages: find, register (an unknown emergency patient too),
correct, give and link tokens, a visit's stops; bad input is a message with nothing
written; and the emergency that the first free doctor calls."""

import pytest
from django.urls import reverse

from appointments import patients
from appointments.models import Patient, PatientEvent
from queues import services
from queues.models import Token, Visit, VisitStop
from queues.visits import NextStop
from tests.appointments.conftest import MOBILE
from tests.conftest import WEDNESDAY, at, flat_text, page_text

pytestmark = pytest.mark.usefixtures("clock")

NOW = at(WEDNESDAY, 9, 30)
PATIENTS = reverse("reception_patients")
NEW = reverse("reception_patient_new")


def page(patient) -> str:
    return reverse("reception_patient", args=[patient.pk])


@pytest.fixture
def asha(desk):
    return patients.register_patient(
        "Asha Kumar", age=40, sex="F", mobile=MOBILE, actor=desk, now=at(WEDNESDAY, 8)
    )


# --- Finding ------------------------------------------------------------------------------


def test_the_desk_finds_a_returning_patient_and_sees_their_visits(desk_client, asha, orth, desk):
    patients.give_token(asha, orth, actor=desk, now=at(WEDNESDAY, 9))
    for query in (asha.hospital_number, "asha", "98123 45678"):
        response = desk_client.get(PATIENTS, {"q": query})
        text = page_text(response)
        assert response.status_code == 200 and "Asha Kumar" in text, query
        assert page(asha) in text and MOBILE not in text and "••••••5678" in text
    response = desk_client.get(page(asha))
    text = flat_text(response)
    assert asha.hospital_number in text and "ORTH-001" in text
    assert "Walk-in at reception" in text and "print the slip" in text


def test_no_match_offers_to_register(desk_client, db):
    text = page_text(desk_client.get(PATIENTS, {"q": "Nobody"}))
    assert "No patient matches “Nobody”" in text and NEW in text


def test_the_reception_nav_links_to_patients(desk_client, db):
    assert f'href="{PATIENTS}"' in desk_client.get(reverse("reception_dashboard")).content.decode()


# --- Registering --------------------------------------------------------------------------


def test_a_patient_with_no_phone_is_registered_at_the_desk(desk_client, db):
    response = desk_client.post(
        NEW, {"name": "Ravi  Kumar", "age": "52", "sex": "M", "mobile": ""}, follow=True
    )
    patient = Patient.objects.get()
    assert response.redirect_chain[-1][0] == page(patient)
    assert (patient.name, patient.mobile, patient.year_of_birth) == ("Ravi Kumar", None, 1974)
    assert f"hospital number {patient.hospital_number}" in page_text(response)
    assert patient.events.get().actor.username == "frontdesk"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "age": "40"}, "Enter the patient's name"),
        ({"name": "Asha", "age": ""}, "age or year of birth"),
        ({"name": "Asha", "age": "150"}, "from 0 to 120"),
        ({"name": "Asha", "age": "forty"}, "whole years"),
        ({"name": "Asha", "year_of_birth": "2031"}, "cannot be in the future"),
        ({"name": "Asha", "age": "40", "mobile": "12"}, "valid mobile"),
        ({"name": "Asha", "age": "40", "sex": "Q"}, "Choose female, male"),
        ({"name": "Asha", "age": "40", "emergency": "garbage"}, "Tick the box"),
        ({"name": "Asha", "age": "40", "emergency": "1"}, "department for the emergency"),
        ({"name": "Asha", "age": "40", "department": "²"}, "could not be found"),
        ({"name": "x" * 500, "age": "40"}, "at most 100"),
        ({"name": "A\x00B", "age": "40"}, "Null characters"),
        ({"name": "A\x07B", "age": "40"}, "cannot be printed"),
    ],
)
def test_bad_registration_is_a_message_and_nothing_is_written(desk_client, orth, data, message):
    response = desk_client.post(NEW, data)
    assert response.status_code == 400
    assert message in page_text(response)
    assert not Patient.objects.exists() and not Token.objects.exists()


def test_a_closed_department_refuses_the_token_and_registers_nobody(desk_client, orth):
    orth.is_active = False
    orth.save()
    response = desk_client.post(NEW, {"name": "Asha", "age": "40", "department": orth.pk})
    # An inactive department is not offered at all.
    assert response.status_code == 400 and "could not be found" in page_text(response)
    assert not Patient.objects.exists()


# --- The emergency, end to end -----------------------------------------------------------


def test_an_unknown_emergency_patient_is_called_by_the_first_free_doctor(
    desk_client, orth, dr_rao, dr_iyer
):
    # Dr. Iyer is busy with a patient; an earlier normal token waits.
    services.issue_token(orth, "Busy Patient", now=at(WEDNESDAY, 9))
    assert services.call_next(dr_iyer, now=at(WEDNESDAY, 9, 1)).number == 1
    waiting = services.issue_token(orth, "Early Bird", now=at(WEDNESDAY, 9, 5))

    response = desk_client.post(
        NEW,
        {"unknown": "1", "sex": "M", "age": "40", "department": orth.pk, "emergency": "1"},
        follow=True,
    )
    patient = Patient.objects.get(name="Unknown male, about 40")
    assert response.redirect_chain[-1][0] == page(patient)
    assert (patient.mobile, patient.age_is_estimate) == (None, True)
    token = Token.objects.get(visit__patient=patient)
    assert token.priority == Token.Priority.EMERGENCY and token.assigned_doctor is None
    assert token.visit.source == Visit.Source.WALK_IN
    text = flat_text(response)
    assert f"token {token.display_number} (emergency)" in text
    assert reverse("token_detail", args=[token.public_id]) in text

    called = services.call_next(dr_rao, now=NOW)
    assert called == token and called.doctor == dr_rao
    assert Token.objects.get(pk=waiting.pk).status == Token.Status.WAITING


# --- A patient's page ---------------------------------------------------------------------


def test_an_unknown_patient_is_corrected_and_the_history_shows_who(desk_client, desk):
    unknown = patients.register_patient(unknown=True, sex="M", age=40, actor=desk, now=NOW)
    data = {
        "action": "correct", "correct-name": "Ravi Kumar", "correct-year_of_birth": "1984",
        "correct-sex": "M", "correct-mobile": "98123 45678", "correct-reason": "Wife came",
    }  # fmt: skip
    response = desk_client.post(page(unknown), data, follow=True)
    unknown.refresh_from_db()
    assert (unknown.name, unknown.year_of_birth, unknown.age_is_estimate) == (
        "Ravi Kumar", 1984, False,
    )  # fmt: skip
    text = page_text(response)
    assert "“Unknown male, about 40” → “Ravi Kumar”" in text and "Why: Wife came" in text
    assert "frontdesk" in text and MOBILE not in text.replace('value="' + MOBILE, "")


def test_a_correction_without_a_reason_changes_nothing(desk_client, asha):
    data = {"action": "correct", "correct-name": "Asha K", "correct-age": "41"}
    response = desk_client.post(page(asha), data)
    assert response.status_code == 400
    assert "reason for the correction" in page_text(response)
    asha.refresh_from_db()
    assert (asha.name, asha.year_of_birth) == ("Asha Kumar", 1986)
    assert not asha.events.filter(kind=PatientEvent.Kind.CORRECTED).exists()


def test_a_kiosk_token_is_linked_at_the_desk(desk_client, asha, orth):
    token = services.issue_token(orth, "Asha", now=at(WEDNESDAY, 9))
    response = desk_client.post(
        page(asha), {"action": "link", "link-token": "orth-001"}, follow=True
    )
    assert "Token ORTH-001 is linked to Asha Kumar" in page_text(response)
    assert Visit.objects.get(pk=token.visit_id).patient == asha
    assert asha.events.filter(kind=PatientEvent.Kind.LINKED).count() == 1


@pytest.mark.parametrize("typed", ["", "ORTH-7", "garbage", "x" * 500])
def test_a_token_that_is_not_today_links_nothing(desk_client, asha, orth, typed):
    services.issue_token(orth, "Asha", now=at(WEDNESDAY, 9))
    response = desk_client.post(page(asha), {"action": "link", "link-token": typed})
    assert response.status_code == 400
    assert not Visit.objects.filter(patient=asha).exists()


def test_a_token_is_given_from_the_patients_page(desk_client, asha, orth):
    data = {"action": "token", "token-department": orth.pk}
    response = desk_client.post(page(asha), data, follow=True)
    token = Token.objects.get()
    assert (token.visit.patient, token.priority) == (asha, Token.Priority.NORMAL)
    assert "Token ORTH-001 given to Asha Kumar" in page_text(response)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"action": "explode"},
        {"action": "token"},
        {"action": "token", "token-department": "9"},
        {"action": "token", "token-department": "1" * 30},
    ],  # fmt: skip
)
def test_bad_actions_on_a_patient_are_refused_in_words(desk_client, asha, orth, data):
    response = desk_client.post(page(asha), data)
    assert response.status_code == 400 and "errorlist" in response.content.decode()
    assert not Token.objects.exists()


def test_an_unknown_or_absurd_patient_id_is_a_404(desk_client, db):
    for pk in (999, 10**25):
        assert desk_client.get(f"/reception/patients/{pk}/").status_code == 404


# --- A visit ------------------------------------------------------------------------------


@pytest.fixture
def sent_on(asha, orth, card, dr_rao, desk):
    """Asha seen by Dr. Rao and sent on to Cardiology with a note for its staff."""
    token = patients.give_token(asha, orth, actor=desk, now=at(WEDNESDAY, 9))
    services.call_next(dr_rao, now=at(WEDNESDAY, 9, 1))
    services.start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 2))
    services.complete_token(
        dr_rao, token, now=at(WEDNESDAY, 9, 10),
        send_on=[NextStop(card, note="ECG first"), NextStop(orth, dr_rao)],
    )  # fmt: skip
    return token.visit


def test_a_visit_shows_its_stops_and_a_stop_is_cancelled(desk_client, sent_on):
    url = reverse("reception_visit", args=[sent_on.public_id])
    text = flat_text(desk_client.get(url))
    assert "Cardiology" in text and "ECG first" in text and "CARD-001" in text
    current = sent_on.stops.get(status=VisitStop.Status.CURRENT)
    response = desk_client.post(url, {"stop": current.pk, "reason": "Left"}, follow=True)
    assert "The stop at Cardiology is cancelled" in page_text(response)
    current.refresh_from_db()
    assert current.status == VisitStop.Status.CANCELLED
    assert current.token.status == Token.Status.CANCELLED
    # The visit moved on to its next stop: back to Dr. Rao.
    assert sent_on.stops.get(status=VisitStop.Status.CURRENT).doctor.name == "Dr. Rao"


@pytest.mark.parametrize("stop", ["", "²", "1" * 30, "999"])
def test_a_bad_stop_cancels_nothing(desk_client, sent_on, stop):
    url = reverse("reception_visit", args=[sent_on.public_id])
    response = desk_client.post(url, {"stop": stop})
    assert response.status_code == 400
    assert not sent_on.stops.filter(status=VisitStop.Status.CANCELLED).exists()


def test_a_done_stop_cannot_be_cancelled(desk_client, sent_on):
    url = reverse("reception_visit", args=[sent_on.public_id])
    done = sent_on.stops.get(status=VisitStop.Status.DONE)
    response = desk_client.post(url, {"stop": done.pk})
    assert response.status_code == 400 and "That stop is done" in page_text(response)


# --- The admin ----------------------------------------------------------------------------

INLINE = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"}


def test_the_admin_registers_a_patient_without_a_mobile_numbered_and_logged(staff, admin_user):
    data = {"name": "Meena Das", "sex": "F", "mobile": "", "email": "", **INLINE}
    response = staff.post(reverse("admin:appointments_patient_add"), data)
    assert response.status_code == 302, page_text(response)[-3000:]
    data["name"] = "Mina Das"
    staff.post(reverse("admin:appointments_patient_add"), {**data, "name": "Ravi Das"})
    meena = Patient.objects.get(name="Meena Das")
    assert meena.mobile is None and meena.hospital_number == f"UH{meena.pk:07d}"
    assert meena.events.get().actor == admin_user
    change = reverse("admin:appointments_patient_change", args=[meena.pk])
    inline = {"events-INITIAL_FORMS": "1", "events-TOTAL_FORMS": "1",
              "events-0-id": meena.events.get().pk, "events-0-patient": meena.pk}  # fmt: skip
    response = staff.post(change, {**data, **inline})
    assert response.status_code == 302, page_text(response)[-3000:]
    assert Patient.objects.get(pk=meena.pk).name == "Mina Das"
    assert meena.events.last().note == "Changed in the admin: name"
    found = staff.get(reverse("admin:appointments_patient_changelist"), {"q": "UH"})
    assert meena.hospital_number in page_text(found)


def test_the_appointment_page_links_to_the_patient(desk_client, dr_rao):
    from tests.appointments.conftest import place, t

    appointment = place(dr_rao, t(9))
    response = desk_client.get(reverse("reception_appointment", args=[appointment.public_id]))
    assert page(appointment.patient) in response.content.decode()


def test_an_unknown_visit_is_a_404(desk_client, db):
    missing = "00000000-0000-4000-8000-000000000000"
    assert desk_client.get(reverse("reception_visit", args=[missing])).status_code == 404


@pytest.mark.parametrize(
    "q", ["x" * 5000, "9999-12-31", "a\x00b", "²", "٣", "1" * 20, "1' OR '1'='1", "-1", "UH"]
)
def test_a_hostile_search_is_a_page_not_an_error(desk_client, asha, q):
    assert desk_client.get(PATIENTS, {"q": q}).status_code == 200
