"""Holding a slot: what is checked, who the patient is, what is written, and how a slot
taken a moment earlier or a lapsed hold is handled."""

import datetime

import pytest
from django.core.management import call_command

from appointments import slots
from appointments.booking import expire_holds, hold_slot
from appointments.errors import BookingError
from appointments.models import Appointment, AppointmentEvent, OtpChallenge, Patient
from appointments.patients import find_or_register_patient
from appointments.slots import free_slots
from tests.appointments.conftest import MOBILE, MORNING, nothing_taken, place, t
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.usefixtures("outbox", "rao_morning")


NINE = t(9)


def hold(doctor, actor, *, start=NINE, now=MORNING, **fields):
    values = {"patient_name": "Asha Kumar", "mobile": "98123 45678", "reason": "Knee pain"}
    values.update(fields)
    return hold_slot(doctor=doctor, day=WEDNESDAY, start=start, actor=actor, now=now, **values)


def test_a_hold_keeps_the_slot_for_ten_minutes(dr_rao, desk):
    appointment = hold(dr_rao, desk, start=t(9, 15))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.HELD
    assert (appointment.date, appointment.start, appointment.end) == (WEDNESDAY, t(9, 15),
                                                                      t(9, 30))  # fmt: skip
    assert appointment.hold_expires_at == at(WEDNESDAY, 8, 10)
    assert appointment.created_by == desk and appointment.created_at == MORNING
    assert appointment.reason == "Knee pain"
    held = appointment.events.get(kind="held")
    assert held.actor == desk and held.changes == {"date": "2026-11-18", "start": "09:15"}
    assert "09:15" not in [s.label for s in free_slots(dr_rao, WEDNESDAY, now=MORNING)]


def test_the_mobile_is_stored_in_e164(dr_rao, desk):
    appointment = hold(dr_rao, desk, mobile="098123-45678")
    assert appointment.patient.mobile == MOBILE
    assert OtpChallenge.objects.get().mobile == MOBILE


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"patient_name": "  "}, "Enter the patient's name."),
        ({"patient_name": "A" * 101}, r"too long \(at most 100 characters\)"),
        ({"patient_name": "Asha\x00"}, "cannot be printed"),
        ({"mobile": ""}, "Enter the patient's mobile number"),
        ({"mobile": "12345"}, "Enter a valid mobile number"),
        ({"mobile": "011 2345 6789"}, "not a mobile number"),
        ({"reason": ""}, "Enter the reason for the visit."),
        ({"reason": "x" * 201}, r"too long \(at most 200 characters\)"),
        ({"email": "not-an-email"}, "Enter a valid email address"),
    ],
)
def test_bad_details_are_refused_and_nothing_is_written(dr_rao, desk, outbox, fields, message):
    with pytest.raises(BookingError, match=message):
        hold(dr_rao, desk, **fields)
    assert not Appointment.objects.exists() and not Patient.objects.exists()
    assert not (outbox / "sms.jsonl").exists()


def test_names_and_reasons_are_tidied(dr_rao, desk):
    appointment = hold(dr_rao, desk, patient_name="  Asha   Kumar ", reason=" Knee\n pain ")
    assert appointment.patient.name == "Asha Kumar"
    assert appointment.reason == "Knee pain"


def test_only_a_free_slot_can_be_held(dr_rao, desk):
    place(dr_rao, t(9, 30))
    for start in (t(9, 30), t(9, 10), t(12), t(8, 45)):  # taken, not a slot start, after, before
        with pytest.raises(BookingError, match="^That slot is not free."):
            hold(dr_rao, desk, start=start)
    with pytest.raises(BookingError, match="not free"):
        hold(dr_rao, desk, start=t(9), now=at(WEDNESDAY, 9, 5))  # already started
    with pytest.raises(BookingError, match="not free"):
        hold_slot(doctor=dr_rao, day=WEDNESDAY + datetime.timedelta(days=1), start=t(9),
                  patient_name="A", mobile=MOBILE, reason="R", actor=desk, now=MORNING)  # fmt: skip
    assert Appointment.objects.count() == 1


def test_an_emergency_slot_cannot_be_held(dr_rao, desk, rao_morning):
    rao_morning.emergency_slots = 1
    rao_morning.save()
    with pytest.raises(BookingError, match="not free"):
        hold(dr_rao, desk, start=t(11, 45))


def test_an_off_duty_doctor_cannot_be_booked(dr_rao, desk):
    dr_rao.on_duty = False
    dr_rao.save()
    with pytest.raises(BookingError, match="Dr. Rao is not on duty"):
        hold(dr_rao, desk)


def test_a_doctor_on_leave_cannot_be_booked(dr_rao, desk):
    from appointments.models import DoctorLeave

    DoctorLeave.objects.create(doctor=dr_rao, start_date=WEDNESDAY, end_date=WEDNESDAY)
    with pytest.raises(BookingError, match="not free"):
        hold(dr_rao, desk)


def test_holding_needs_a_signed_in_person(dr_rao):
    with pytest.raises(BookingError, match="Sign in"):
        hold(dr_rao, None)
    assert not Appointment.objects.exists()


# --- Patients -----------------------------------------------------------------------------


def test_a_new_mobile_registers_a_new_patient(dr_rao, desk):
    appointment = hold(dr_rao, desk, email="asha@example.org")
    patient = Patient.objects.get()
    assert (patient.name, patient.mobile, patient.email) == ("Asha Kumar", MOBILE,
                                                             "asha@example.org")  # fmt: skip
    assert appointment.patient == patient


def test_a_returning_patient_is_found_by_mobile_and_keeps_their_name(dr_rao, desk):
    first = hold(dr_rao, desk, email="asha@example.org")
    again = hold(dr_rao, desk, start=t(9, 15), patient_name="Asha K", mobile="+91 98123 45678",
                 email="asha.k@example.org")  # fmt: skip
    assert again.patient == first.patient
    patient = Patient.objects.get()
    assert patient.name == "Asha Kumar"  # the name on record stays
    assert patient.email == "asha.k@example.org"  # a new email replaces the old one
    hold(dr_rao, desk, start=t(9, 30))  # no email given: the stored one is kept
    assert Patient.objects.get().email == "asha.k@example.org"


def test_a_patient_is_registered_once_and_found_again_by_mobile(db):
    first = find_or_register_patient(MOBILE, "Asha Kumar")
    again = find_or_register_patient(MOBILE, "Asha K", "asha@example.org")
    assert again.pk == first.pk and Patient.objects.count() == 1
    assert (again.name, again.email) == ("Asha Kumar", "asha@example.org")


def test_a_patient_stored_without_a_name_gets_the_typed_one(dr_rao, desk):
    Patient.objects.create(name="", mobile=MOBILE)
    hold(dr_rao, desk)
    assert Patient.objects.get().name == "Asha Kumar"


# --- Races and lapsed holds ---------------------------------------------------------------


def test_a_slot_taken_a_moment_ago_is_refused_with_a_message(dr_rao, desk, monkeypatch):
    """The free-slot check passed, but another desk inserted first: the constraint
    refuses the insert, and the receptionist is told, not shown an error page."""
    place(dr_rao, t(9), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 8, 10))
    monkeypatch.setattr(slots, "taking_slots", nothing_taken)
    with pytest.raises(BookingError, match="^That slot was just taken. Please choose another.$"):
        hold(dr_rao, desk, mobile="98123 99999")
    # Nothing half-done remains: no patient, code or event.
    assert Appointment.objects.count() == 1 and Patient.objects.count() == 1
    assert not AppointmentEvent.objects.exists() and not OtpChallenge.objects.exists()


def test_a_doctor_removed_meanwhile_is_refused_in_words(dr_rao, desk):
    from hospital.models import Doctor

    gone = Doctor(pk=dr_rao.pk + 1000, name="Dr. Gone")
    with pytest.raises(BookingError, match="no longer on the list"):
        hold(gone, desk)
    assert not Appointment.objects.exists()


def test_a_lapsed_hold_is_expired_and_its_slot_held_again(dr_rao, desk):
    old = hold(dr_rao, desk, mobile="98123 11111")
    new = hold(dr_rao, desk, now=at(WEDNESDAY, 8, 10))
    old.refresh_from_db()
    assert old.status == Appointment.Status.EXPIRED
    assert old.events.filter(kind="expired").count() == 1
    assert old.otps.get().status == OtpChallenge.Status.VOIDED
    assert new.status == Appointment.Status.HELD and new.start == old.start


def test_a_running_hold_is_not_expired(dr_rao, desk):
    old = hold(dr_rao, desk, mobile="98123 11111")
    with pytest.raises(BookingError, match="not free"):
        hold(dr_rao, desk, now=at(WEDNESDAY, 8, 9))
    old.refresh_from_db()
    assert old.status == Appointment.Status.HELD


def test_expire_holds_marks_every_lapsed_hold(dr_rao, desk):
    a = hold(dr_rao, desk, start=t(9), mobile="98123 11111")
    b = hold(dr_rao, desk, start=t(9, 15), mobile="98123 22222", now=at(WEDNESDAY, 8, 5))
    assert expire_holds(now=at(WEDNESDAY, 8, 10)) == 1
    assert expire_holds(now=at(WEDNESDAY, 8, 10)) == 0
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (Appointment.Status.EXPIRED, Appointment.Status.HELD)
    assert AppointmentEvent.objects.filter(kind="expired").count() == 1
    assert expire_holds(now=at(WEDNESDAY, 8, 15)) == 1


def test_the_expire_holds_command(dr_rao, desk, capsys):
    hold(dr_rao, desk, now=at(WEDNESDAY, 7))
    # The command uses the real clock: make the hold one that ran out long ago.
    Appointment.objects.update(hold_expires_at=at(WEDNESDAY, 7, 10).replace(year=2020))
    call_command("expire_holds")
    assert "Expired 1 hold(s)." in capsys.readouterr().out
    assert Appointment.objects.get().status == Appointment.Status.EXPIRED
