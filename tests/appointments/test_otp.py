"""The one-time code that confirms a held slot: texted on hold, checked in constant time,
counted, expiring, voided by a newer one, rate-limited, used once, and never stored."""

import datetime

import pytest
from django.core import mail

from appointments.booking import hold_slot, seconds_until_resend, send_otp, verify_otp
from appointments.errors import BookingError
from appointments.models import Appointment, AppointmentEvent, Notification, OtpChallenge
from tests.appointments.conftest import MOBILE, MORNING, latest_code, t, texts, wrong
from tests.conftest import WEDNESDAY

pytestmark = pytest.mark.usefixtures("outbox", "rao_morning")


def later(**delta) -> datetime.datetime:
    return MORNING + datetime.timedelta(**delta)


@pytest.fixture
def held(dr_rao, desk, run_on_commit):
    return run_on_commit(
        hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9, 15), patient_name="Asha Kumar",
        mobile="98123 45678", reason="Knee pain", email="asha@example.org", actor=desk,
        now=MORNING,
    )  # fmt: skip


def kinds(appointment) -> list[str]:
    return list(appointment.events.values_list("kind", flat=True))


def test_holding_a_slot_texts_a_six_digit_code_to_the_patient(held):
    (sms,) = texts()
    assert sms["to"] == MOBILE
    assert sms["purpose"] == "otp"
    assert len(latest_code()) == 6
    assert held.status == Appointment.Status.HELD
    assert kinds(held) == ["held", "otp_sent"]


def test_the_right_code_books_the_appointment_and_confirms_by_sms_and_email(
    held, desk, run_on_commit
):
    booked = run_on_commit(verify_otp, held, latest_code(), actor=desk, now=later(minutes=2))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
    assert booked.booked_at == later(minutes=2)
    assert booked.hold_expires_at is None
    assert kinds(booked) == ["held", "otp_sent", "booked"]
    assert booked.events.get(kind="booked").actor == desk
    assert OtpChallenge.objects.get().status == OtpChallenge.Status.USED
    (confirmation,) = texts("confirmation")
    assert confirmation["to"] == MOBILE
    assert "Dr. Rao" in confirmation["body"] and "09:15" in confirmation["body"]
    assert "room 4" in confirmation["body"]
    (email,) = mail.outbox
    assert email.to == ["asha@example.org"]
    assert "Dr. Rao" in email.subject
    sent = Notification.objects.filter(appointment=booked, status="sent")
    assert sorted(sent.values_list("channel", "purpose")) == [
        ("email", "confirmation"), ("sms", "confirmation"), ("sms", "otp"),
    ]  # fmt: skip


def test_no_email_is_sent_to_a_patient_without_one(dr_rao, desk, run_on_commit):
    held = run_on_commit(hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Bala",
                         mobile="98123 45679", reason="Fracture follow-up", actor=desk,
                         now=MORNING)  # fmt: skip
    run_on_commit(verify_otp, held, latest_code("+919812345679"), actor=desk, now=MORNING)
    assert mail.outbox == []
    assert len(texts("confirmation")) == 1


def test_a_code_typed_with_spaces_is_accepted(held, desk):
    code = latest_code()
    verify_otp(held, f" {code[:3]} {code[3:]} ", actor=desk, now=later(minutes=1))
    held.refresh_from_db()
    assert held.status == Appointment.Status.BOOKED


def test_something_that_is_not_a_code_is_refused_without_counting(held, desk):
    with pytest.raises(BookingError, match="Enter the 6-digit code"):
        verify_otp(held, "12ab56", actor=desk, now=later(minutes=1))
    assert OtpChallenge.objects.get().attempts == 0


def test_a_wrong_code_is_counted_and_says_how_many_attempts_are_left(held, desk):
    bad = wrong(latest_code())
    with pytest.raises(BookingError, match=r"^That code is not right\. 4 attempts left\.$"):
        verify_otp(held, bad, actor=desk, now=later(minutes=1))
    for left in (3, 2):
        with pytest.raises(BookingError, match=f"{left} attempts left"):
            verify_otp(held, bad, actor=desk, now=later(minutes=1))
    with pytest.raises(BookingError, match="1 attempt left"):
        verify_otp(held, bad, actor=desk, now=later(minutes=1))
    assert OtpChallenge.objects.get().attempts == 4
    assert kinds(held).count("otp_failed") == 4
    held.refresh_from_db()
    assert held.status == Appointment.Status.HELD


def test_five_wrong_codes_void_the_code(held, desk):
    code = latest_code()
    for _ in range(4):
        with pytest.raises(BookingError, match="attempt"):
            verify_otp(held, wrong(code), actor=desk, now=later(minutes=1))
    with pytest.raises(BookingError, match="Too many wrong codes. Send a new code."):
        verify_otp(held, wrong(code), actor=desk, now=later(minutes=1))
    assert OtpChallenge.objects.get().status == OtpChallenge.Status.VOIDED
    # Even the right code no longer works.
    with pytest.raises(BookingError, match="Send a new code"):
        verify_otp(held, code, actor=desk, now=later(minutes=1))
    held.refresh_from_db()
    assert held.status == Appointment.Status.HELD


@pytest.mark.django_db(transaction=True)
def test_the_wrong_attempt_count_is_committed_although_an_error_is_raised(held, desk):
    with pytest.raises(BookingError):
        verify_otp(held, wrong(latest_code()), actor=desk, now=later(minutes=1))
    # Outside any test transaction: what is in the database now was committed.
    assert OtpChallenge.objects.get().attempts == 1
    assert AppointmentEvent.objects.filter(kind="otp_failed").count() == 1


def test_a_code_expires(held, desk, settings):
    settings.OTP_TTL_MINUTES = 5
    send_otp(held, actor=desk, now=later(minutes=1))  # valid until 08:06 under the new rule
    with pytest.raises(BookingError, match="That code has expired. Send a new code."):
        verify_otp(held, latest_code(), actor=desk, now=later(minutes=6))


def test_the_code_expires_after_ten_minutes_with_the_hold(held, desk):
    with pytest.raises(BookingError, match="hold on this slot has expired"):
        verify_otp(held, latest_code(), actor=desk, now=later(minutes=10))
    held.refresh_from_db()
    assert held.status == Appointment.Status.HELD  # expire_holds marks it later


def test_a_code_works_only_once(held, desk):
    code = latest_code()
    verify_otp(held, code, actor=desk, now=later(minutes=1))
    with pytest.raises(BookingError, match="already confirmed"):
        verify_otp(held, code, actor=desk, now=later(minutes=2))
    assert OtpChallenge.objects.get().status == OtpChallenge.Status.USED


def test_a_cancelled_appointment_takes_no_code(held, desk):
    Appointment.objects.filter(pk=held.pk).update(status=Appointment.Status.CANCELLED)
    with pytest.raises(BookingError, match="cancelled"):
        verify_otp(held, latest_code(), actor=desk, now=later(minutes=1))
    with pytest.raises(BookingError, match="cancelled"):
        send_otp(held, actor=desk, now=later(minutes=2))


# --- Resending ----------------------------------------------------------------------------


def test_a_new_code_can_be_sent_after_60_seconds(held, desk, run_on_commit):
    assert seconds_until_resend(held, now=later(seconds=18)) == 42
    with pytest.raises(BookingError, match="^You can send a new code in 42 seconds.$"):
        send_otp(held, actor=desk, now=later(seconds=18))
    with pytest.raises(BookingError, match="in 1 second.$"):
        send_otp(held, actor=desk, now=later(seconds=59))
    assert seconds_until_resend(held, now=later(seconds=60)) == 0
    run_on_commit(send_otp, held, actor=desk, now=later(seconds=60))
    assert len(texts("otp")) == 2
    assert seconds_until_resend(held, now=later(seconds=70)) == 50
    assert kinds(held) == ["held", "otp_sent", "otp_sent"]


def test_only_the_latest_code_works(held, desk, run_on_commit):
    first = latest_code()
    run_on_commit(send_otp, held, actor=desk, now=later(minutes=1))
    second = latest_code()
    if first != second:  # one in a million they are the same
        with pytest.raises(BookingError, match="not right"):
            verify_otp(held, first, actor=desk, now=later(minutes=2))
    assert list(OtpChallenge.objects.order_by("created_at").values_list("status", flat=True)) == [
        "voided", "active",
    ]  # fmt: skip
    verify_otp(held, second, actor=desk, now=later(minutes=2))
    held.refresh_from_db()
    assert held.status == Appointment.Status.BOOKED


def test_a_new_code_starts_with_fresh_attempts(held, desk, run_on_commit):
    for _ in range(5):
        with pytest.raises(BookingError):
            verify_otp(held, wrong(latest_code()), actor=desk, now=later(minutes=1))
    run_on_commit(send_otp, held, actor=desk, now=later(minutes=2))
    verify_otp(held, latest_code(), actor=desk, now=later(minutes=3))
    held.refresh_from_db()
    assert held.status == Appointment.Status.BOOKED


def test_sending_a_new_code_extends_the_hold(held, desk, run_on_commit):
    run_on_commit(send_otp, held, actor=desk, now=later(minutes=9))
    held.refresh_from_db()
    assert held.hold_expires_at == later(minutes=19)
    verify_otp(held, latest_code(), actor=desk, now=later(minutes=15))
    held.refresh_from_db()
    assert held.status == Appointment.Status.BOOKED


def test_no_new_code_for_a_hold_that_has_run_out(held, desk):
    with pytest.raises(BookingError, match="expired"):
        send_otp(held, actor=desk, now=later(minutes=10))


def test_no_new_code_for_a_booked_appointment(held, desk):
    verify_otp(held, latest_code(), actor=desk, now=later(minutes=1))
    with pytest.raises(BookingError, match="already confirmed"):
        send_otp(held, actor=desk, now=later(minutes=3))


def test_a_mobile_gets_at_most_five_codes_a_day(held, desk, dr_rao, run_on_commit):
    for minute in (1, 2, 3, 4):  # four resends: five codes with the first
        run_on_commit(send_otp, held, actor=desk, now=later(minutes=minute))
    with pytest.raises(BookingError, match="already been sent 5 codes today"):
        send_otp(held, actor=desk, now=later(minutes=5))
    # Not through another booking for the same mobile either.
    with pytest.raises(BookingError, match="5 codes today"):
        hold_slot(doctor=dr_rao, day=WEDNESDAY, start=t(10), patient_name="Asha Kumar",
                  mobile=MOBILE, reason="Knee pain", actor=desk, now=later(minutes=6))  # fmt: skip
    assert Appointment.objects.count() == 1
    assert len(texts("otp")) == 5
    # Another mobile is not affected.
    hold_slot(doctor=dr_rao, day=WEDNESDAY, start=t(10), patient_name="Bala",
              mobile="98123 45679", reason="Wrist", actor=desk, now=later(minutes=6))  # fmt: skip


def test_the_daily_limit_starts_again_the_next_day(held, desk, dr_rao, run_on_commit):
    for minute in (1, 2, 3, 4):
        run_on_commit(send_otp, held, actor=desk, now=later(minutes=minute))
    next_week = WEDNESDAY + datetime.timedelta(days=7)
    tomorrow = later(days=1)
    hold_slot(doctor=dr_rao, day=next_week, start=t(9), patient_name="Asha Kumar",
              mobile=MOBILE, reason="Knee pain", actor=desk, now=tomorrow)  # fmt: skip


# --- Secrecy ------------------------------------------------------------------------------


def test_the_code_is_never_stored_in_the_database_or_logged(
    held, desk, run_on_commit, caplog, capsys
):
    codes = [latest_code()]
    verify_otp_refusal = None
    try:
        verify_otp(held, wrong(codes[0]), actor=desk, now=later(minutes=1))
    except BookingError as exc:
        verify_otp_refusal = str(exc)
    run_on_commit(send_otp, held, actor=desk, now=later(minutes=2))
    codes.append(latest_code())
    run_on_commit(verify_otp, held, codes[-1], actor=desk, now=later(minutes=3))

    stored = []
    for model in (OtpChallenge, AppointmentEvent, Notification, Appointment):
        for row in model.objects.values():
            stored.extend(str(value) for value in row.values())
    everything = "\n".join([*stored, caplog.text, *capsys.readouterr(), verify_otp_refusal])
    for code in codes:
        assert code not in everything
    # The codes were texted; the notifications record that, without the text.
    otp_rows = Notification.objects.filter(purpose="otp")
    assert otp_rows.count() == 2 and set(otp_rows.values_list("body", flat=True)) == {""}
    assert all(len(h) == 64 for h in OtpChallenge.objects.values_list("code_hmac", flat=True))


def test_the_stored_hmac_is_bound_to_the_appointment(held, dr_rao, desk, run_on_commit):
    other = run_on_commit(hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9, 30),
                          patient_name="Asha Kumar", mobile=MOBILE, reason="Other knee",
                          actor=desk, now=later(minutes=1))  # fmt: skip
    # The first appointment's code does not confirm the second one.
    first_code = [m for m in texts("otp")][0]["body"][:6]
    if first_code != latest_code():
        with pytest.raises(BookingError, match="not right"):
            verify_otp(other, first_code, actor=desk, now=later(minutes=2))


def test_every_step_needs_a_signed_in_person(held):
    from django.contrib.auth.models import AnonymousUser

    for actor in (None, AnonymousUser()):
        with pytest.raises(BookingError, match="Sign in"):
            verify_otp(held, latest_code(), actor=actor, now=later(minutes=1))
        with pytest.raises(BookingError, match="Sign in"):
            send_otp(held, actor=actor, now=later(minutes=2))
