"""Registered patients at the desk: registered once with a hospital number, with or without
a mobile; an unknown emergency patient corrected later, on the record; found again by
number, name or mobile; a kiosk token linked to them."""

import pytest

from appointments import patients
from appointments.errors import BookingError
from appointments.models import Patient, PatientEvent
from queues import services
from queues.models import Token, TokenEvent, Visit
from tests.appointments.conftest import MOBILE
from tests.conftest import WEDNESDAY, at, make_receptionist, race

NOW = at(WEDNESDAY, 9)


def register(desk, name="Asha Kumar", **details):
    details.setdefault("age", 40)
    details.setdefault("sex", "F")
    return patients.register_patient(name, actor=desk, now=NOW, **details)


# --- Registering --------------------------------------------------------------------------


def test_a_patient_without_a_mobile_is_registered_with_a_hospital_number(desk):
    patient = register(desk, age=40, age_is_estimate=True)
    patient.refresh_from_db()
    assert patient.mobile is None
    assert patient.hospital_number == f"UH{patient.pk:07d}"
    assert (patient.year_of_birth, patient.age_is_estimate, patient.sex) == (1986, True, "F")
    event = PatientEvent.objects.get(patient=patient)
    assert (event.kind, event.actor, event.at) == (PatientEvent.Kind.REGISTERED, desk, NOW)


def test_a_patient_with_a_mobile_has_it_stored_in_e164(desk):
    patient = register(desk, mobile="98123 45678", year_of_birth=1984, age=None)
    assert Patient.objects.get(pk=patient.pk).mobile == MOBILE
    assert patient.year_of_birth == 1984


def test_hospital_numbers_are_unique_and_printed_as_uh_and_seven_digits(desk):
    numbers = [register(desk, f"Patient {i}").hospital_number for i in range(3)]
    assert len(set(numbers)) == 3
    assert all(n.startswith("UH") and len(n) == 9 and n[2:].isdigit() for n in numbers)
    assert patients.hospital_number_for(12_345_678) == "UH12345678"


@pytest.mark.parametrize(
    "details, message",
    [
        ({"age": 121}, "from 0 to 120"),
        ({"age": -1}, "from 0 to 120"),
        ({"age": None, "year_of_birth": 2027}, "cannot be in the future"),
        ({"age": None, "year_of_birth": 1850}, "more than 120 years ago"),
        ({"age": None}, "age or year of birth"),
        ({"age": 40, "year_of_birth": 1950}, "not both"),
        ({"sex": "X"}, "Choose the patient's sex"),
        ({"mobile": "12345"}, "valid mobile"),
        ({"email": "not-an-email"}, "valid email"),
        ({"name": "   "}, "Enter the patient's name"),
    ],
)
def test_bad_details_are_refused_and_nothing_is_written(desk, details, message):
    name = details.pop("name", "Asha Kumar")
    with pytest.raises(BookingError, match=message):
        register(desk, name, **details)
    assert not Patient.objects.exists() and not PatientEvent.objects.exists()


def test_a_mobile_already_registered_names_its_patient(desk):
    first = register(desk, mobile=MOBILE)
    with pytest.raises(BookingError) as refused:
        register(desk, "Ravi Kumar", mobile="+91 98123 45678")
    assert first.hospital_number in str(refused.value)
    assert MOBILE not in str(refused.value) and "5678" in str(refused.value)
    assert Patient.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_desks_registering_one_mobile_at_once_end_with_one_patient(orth):
    desks = [make_receptionist("desk1"), make_receptionist("desk2")]
    results, errors = race(
        [
            lambda desk=desk: patients.register_patient(
                "Asha Kumar", age=40, sex="F", mobile=MOBILE, actor=desk, now=NOW
            )
            for desk in desks
        ]
    )
    assert Patient.objects.count() == 1
    assert PatientEvent.objects.count() == 1
    assert len(errors) == 1 and isinstance(errors[0], BookingError), errors
    assert "already registered" in str(errors[0])


def test_find_or_register_patient_numbers_a_new_patient_and_records_it(db):
    patient = patients.find_or_register_patient(MOBILE, "Asha Kumar")
    assert patient.hospital_number == f"UH{patient.pk:07d}"
    assert PatientEvent.objects.get(patient=patient).kind == PatientEvent.Kind.REGISTERED
    # Found again: no second event, the same number.
    assert patients.find_or_register_patient(MOBILE, "Asha K").pk == patient.pk
    assert PatientEvent.objects.filter(patient=patient).count() == 1


def test_a_patient_from_before_hospital_numbers_is_numbered_when_found_again(db):
    old = Patient.objects.create(name="Old Patient", mobile=MOBILE)
    assert patients.find_or_register_patient(MOBILE, "Old Patient").hospital_number == (
        f"UH{old.pk:07d}"
    )


# --- The unknown emergency patient --------------------------------------------------------


def test_an_unknown_patient_is_named_from_sex_and_age_then_corrected_on_the_record(desk):
    patient = patients.register_patient(unknown=True, sex="M", age=40, actor=desk, now=NOW)
    assert patient.name == "Unknown male, about 40"
    assert (patient.mobile, patient.age_is_estimate, patient.year_of_birth) == (None, True, 1986)

    later = at(WEDNESDAY, 11)
    patients.correct_patient(
        patient, name="Ravi Kumar", year_of_birth=1984, age_is_estimate=False,
        mobile="98123 45678", actor=desk, reason="Identified by his brother", now=later,
    )  # fmt: skip
    patient.refresh_from_db()
    assert (patient.name, patient.year_of_birth, patient.age_is_estimate) == (
        "Ravi Kumar", 1984, False,
    )  # fmt: skip
    assert patient.mobile == MOBILE
    corrected = patient.events.get(kind=PatientEvent.Kind.CORRECTED)
    assert (corrected.actor, corrected.at) == (desk, later)
    assert "“Unknown male, about 40” → “Ravi Kumar”" in corrected.note
    assert "1986 (estimate) → 1984" in corrected.note
    assert "mobile none → ••••••5678" in corrected.note
    assert MOBILE not in corrected.note and "9812345678" not in corrected.note
    assert corrected.note.endswith("Why: Identified by his brother")


def test_an_unknown_female_and_an_unknown_of_no_recorded_sex(desk):
    female = patients.register_patient(unknown=True, sex="F", age=25, actor=desk, now=NOW)
    nobody = patients.register_patient(unknown=True, sex="", actor=desk, now=NOW)
    assert (female.name, nobody.name) == ("Unknown female, about 25", "Unknown patient")


def test_an_unknown_patient_is_registered_without_a_mobile(desk):
    with pytest.raises(BookingError, match="without a mobile"):
        patients.register_patient(unknown=True, sex="M", age=40, mobile=MOBILE, actor=desk)


def test_a_correction_needs_a_reason_and_a_change(desk):
    patient = register(desk)
    with pytest.raises(BookingError, match="reason for the correction"):
        patients.correct_patient(patient, name="Asha K", actor=desk, reason=" ", now=NOW)
    with pytest.raises(BookingError, match="Nothing was changed"):
        patients.correct_patient(patient, name="Asha Kumar", actor=desk, reason="x", now=NOW)
    assert not patient.events.filter(kind=PatientEvent.Kind.CORRECTED).exists()
    assert Patient.objects.get().name == "Asha Kumar"


def test_a_correction_to_another_patients_mobile_is_refused(desk):
    register(desk, "Ravi Kumar", mobile=MOBILE)
    asha = register(desk)
    with pytest.raises(BookingError, match="already registered to Ravi Kumar"):
        patients.correct_patient(asha, mobile=MOBILE, actor=desk, reason="New phone", now=NOW)
    assert Patient.objects.get(pk=asha.pk).mobile is None


def test_removing_a_mobile_is_logged_masked(desk):
    patient = register(desk, mobile=MOBILE)
    patients.correct_patient(patient, mobile="", actor=desk, reason="Phone lost", now=NOW)
    patient.refresh_from_db()
    assert patient.mobile is None
    assert "mobile ••••••5678 → none" in patient.events.last().note


# --- Finding ------------------------------------------------------------------------------


def test_a_returning_patient_is_found_by_number_name_or_mobile(desk):
    asha = register(desk, mobile=MOBILE)
    ravi = register(desk, "Ravi Kumar", sex="M")
    number = asha.hospital_number
    for query in (number, number.lower(), f"UH{asha.pk}", "98123 45678", "+91 98123-45678"):
        assert list(patients.find_patients(query)) == [asha], query
    assert list(patients.find_patients("kumar")) == [asha, ravi]
    assert list(patients.find_patients("ravi")) == [ravi]
    assert not patients.find_patients("")
    assert not patients.find_patients("nobody")


def test_hostile_queries_find_nothing_and_do_not_fail(desk):
    register(desk)
    for query in ("1" * 30, "x" * 5000, "a\x00b", "²", "٣", "1' OR '1'='1", "UH"):
        assert list(patients.find_patients(query)) == []


# --- Tokens -------------------------------------------------------------------------------


def test_a_kiosk_token_is_linked_to_the_registered_patient(orth, desk):
    token = services.issue_token(orth, "Asha K", now=NOW)  # from the kiosk
    asha = register(desk)
    found = patients.token_of_today("orth 1", now=NOW)
    assert found == token
    visit = patients.link_token(found, asha, actor=desk, now=at(WEDNESDAY, 9, 5))
    assert Visit.objects.get(pk=visit.pk).patient == asha
    linked = asha.events.get(kind=PatientEvent.Kind.LINKED)
    assert (linked.actor, linked.note) == (desk, "Token ORTH-001 of 18 Nov 2026")
    assert TokenEvent.objects.filter(token=token, kind=TokenEvent.Kind.LINKED).exists()
    # A double click links nothing twice.
    patients.link_token(found, asha, actor=desk, now=at(WEDNESDAY, 9, 6))
    assert asha.events.filter(kind=PatientEvent.Kind.LINKED).count() == 1


def test_a_token_of_another_patient_is_not_linked(orth, desk):
    asha, ravi = register(desk), register(desk, "Ravi Kumar")
    token = patients.give_token(asha, orth, actor=desk, now=NOW)
    with pytest.raises(BookingError, match="another registered patient"):
        patients.link_token(token, ravi, actor=desk, now=NOW)
    assert not ravi.events.filter(kind=PatientEvent.Kind.LINKED).exists()


@pytest.mark.parametrize("typed", ["ORTH-2", "CARD-001", "nonsense", "", "ORTH-99999"])
def test_a_token_number_not_given_today_is_refused_in_words(orth, typed):
    services.issue_token(orth, "Asha K", now=NOW)
    with pytest.raises(BookingError):
        patients.token_of_today(typed, now=NOW)


def test_yesterdays_token_is_not_found_today(orth):
    services.issue_token(orth, "Asha K", now=at(WEDNESDAY, 9))
    with pytest.raises(BookingError, match="no token ORTH-001 today"):
        patients.token_of_today("ORTH-001", now=at(WEDNESDAY.replace(day=19), 9))


def test_a_token_given_at_the_desk_starts_a_walk_in_visit_of_the_patient(orth, desk):
    patient = register(desk, mobile=MOBILE)
    token = patients.give_token(patient, orth, emergency=True, actor=desk, now=NOW)
    assert token.priority == Token.Priority.EMERGENCY and token.assigned_doctor is None
    assert (token.visit.patient, token.visit.source) == (patient, Visit.Source.WALK_IN)
    assert token.mobile == MOBILE
    assert [v.pk for v in patients.visits_of(patient)] == [token.visit.pk]


def test_no_token_no_registration(orth, desk):
    orth.is_active = False
    orth.save()
    with pytest.raises(BookingError, match="not taking tokens"):
        patients.register_and_give_token(
            department=orth, name="Asha Kumar", age=40, sex="F", actor=desk, now=NOW
        )
    assert not Patient.objects.exists() and not Token.objects.exists()


def test_a_booked_patient_checked_in_starts_their_booked_visit(rao_morning, dr_rao, desk):
    from appointments import changes
    from tests.appointments.conftest import place, t

    appointment = place(dr_rao, t(9, 30))
    Patient.objects.filter(pk=appointment.patient.pk).update(mobile=None)
    appointment.refresh_from_db()
    token, created = changes.check_in(appointment, actor=desk, now=NOW)
    assert created and token.mobile == ""
    assert (token.visit.patient, token.visit.source) == (appointment.patient, Visit.Source.BOOKED)


# --- The patient's language -----------------------------------------------------------


def test_a_patients_language_is_their_desk_tokens_language(orth, desk):
    patient = register(desk, mobile=MOBILE, language="ta")
    assert Patient.objects.get(pk=patient.pk).language == "ta"
    token = patients.give_token(patient, orth, actor=desk, now=NOW)
    assert token.language == "ta"


def test_without_a_language_told_the_desk_follows_their_last_kiosk_token(orth, desk):
    patient = register(desk)
    assert patients.language_of(patient) == "en"
    kiosk_token = services.issue_token(orth, "Asha K", now=NOW, language="hi")
    patients.link_token(kiosk_token, patient, actor=desk, now=NOW)
    assert patients.language_of(patient) == "hi"
    assert patients.give_token(patient, orth, actor=desk, now=at(WEDNESDAY, 10)).language == "hi"


def test_a_checked_in_patient_gets_a_token_in_their_language(rao_morning, dr_rao, desk):
    from appointments import changes
    from tests.appointments.conftest import place, t

    appointment = place(dr_rao, t(9, 30))
    Patient.objects.filter(pk=appointment.patient.pk).update(language="hi")
    appointment.refresh_from_db()
    token, _ = changes.check_in(appointment, actor=desk, now=NOW)
    assert token.language == "hi"


def test_a_language_changed_at_the_desk_is_on_the_record_and_a_bad_one_refused(desk):
    patient = register(desk)
    with pytest.raises(BookingError, match="language from the list"):
        register(desk, "Ravi Kumar", language="fr")
    patients.correct_patient(patient, language="ta", reason="Asked for Tamil", actor=desk, now=NOW)
    assert Patient.objects.get(pk=patient.pk).language == "ta"
    corrected = patient.events.get(kind=PatientEvent.Kind.CORRECTED)
    assert "language not asked → ta" in corrected.note


@pytest.mark.django_db(transaction=True)
def test_the_desk_linking_a_patient_while_their_doctor_completes_them_never_deadlocks(orth, dr_rao):
    # Linking locks the visit and writes an event about its token; the doctor completing
    # the token locks it and then the visit. A token locked for a change no longer stops
    # the event that merely refers to it, so neither waits on the other in a circle.
    desk = make_receptionist()
    for round_ in range(6):
        services.issue_token(orth, f"Kiosk patient {round_}", now=NOW)
        token = services.call_next(dr_rao, now=NOW)
        services.start_consultation(dr_rao, token, now=NOW)
        patient = register(desk, f"Patient {round_}")
        _, errors = race([
            lambda t=token: services.complete_token(dr_rao, t, now=NOW),
            lambda t=token, p=patient: patients.link_token(t, p, actor=desk, now=NOW),
        ])  # fmt: skip
        assert errors == []
        assert Visit.objects.get(pk=token.visit_id).patient_id == patient.pk
