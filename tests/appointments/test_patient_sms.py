"""Messages to patients by SMS: the status page's link when a token is issued, 'please go
to Room 4' when called (once per stop: a recall or 'call again' sends nothing more; the
next stop has its own), appointment reminders the day before and two hours before (once
each, not for cancelled appointments), and the patient's own opt-out from the status page."""

import datetime
import logging
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from appointments import notify, reminders
from appointments.changes import cancel_appointment
from appointments.models import Appointment, Notification, SmsOptOut
from queues import messages, services
from queues.visits import NextStop
from tests.appointments.conftest import MOBILE, place, t
from tests.conftest import WEDNESDAY, at

TUESDAY = WEDNESDAY - datetime.timedelta(days=1)


def sms(purpose, **where):
    return list(Notification.objects.filter(purpose=purpose, **where))


def issue(department, *, mobile=MOBILE, language="en", minute=0):
    return services.issue_token(
        department, "Asha Rao", mobile=mobile, language=language, now=at(WEDNESDAY, 9, minute)
    )


# --- Issued --------------------------------------------------------------------------


def test_a_token_with_a_mobile_is_sent_its_status_page_link(orth, settings):
    settings.PUBLIC_BASE_URL = "https://opd.example-hospital.in"
    token = issue(orth)
    (sent,) = sms("token_issued")
    assert (sent.token, sent.to, sent.language, sent.channel) == (token, MOBILE, "en", "sms")
    link = f"https://opd.example-hospital.in/visits/{token.visit.public_id}/"
    assert sent.body == (
        f"Your token ORTH-001 for Orthopedic Surgery. Your place in the queue: {link} "
        "City General Hospital, help desk +91 80 2222 0000"
    )


def test_a_token_without_a_mobile_is_sent_nothing(orth):
    issue(orth, mobile="")
    assert Notification.objects.count() == 0


def test_the_issued_message_is_in_the_patients_language(orth):
    orth.name_hi = "हड्डी रोग"
    orth.save()
    issue(orth, language="hi")
    (sent,) = sms("token_issued")
    assert sent.language == "hi" and "हड्डी रोग" in sent.body


# --- Called --------------------------------------------------------------------------


def test_the_called_patient_is_told_where_to_go_once_per_stop(orth, dr_rao, lab, lab_counter,
                                                              lab_tech):  # fmt: skip
    token = issue(orth)
    services.call_next(dr_rao, now=at(WEDNESDAY, 10))
    (called,) = sms("token_called")
    assert called.body == (
        "ORTH-001: please go to Room 4 now. City General Hospital, help desk +91 80 2222 0000"
    )
    # Call again on the displays, a no-show, a recall and a second call: nothing more.
    token.refresh_from_db()
    services.announce_again(token, actor=dr_rao.user, now=at(WEDNESDAY, 10, 1))
    services.skip_token(dr_rao, token, now=at(WEDNESDAY, 10, 2))
    services.recall_token(dr_rao, token, now=at(WEDNESDAY, 10, 3))
    token = services.call_next(dr_rao, now=at(WEDNESDAY, 10, 4))
    assert len(sms("token_called")) == 1
    # Sent on to the laboratory: the new stop's call is its own message.
    services.start_consultation(dr_rao, token, now=at(WEDNESDAY, 10, 5))
    services.complete_token(dr_rao, token, now=at(WEDNESDAY, 10, 6), send_on=[NextStop(lab)])
    lab_token = services.call_next(lab_counter, actor=lab_tech.user, now=at(WEDNESDAY, 10, 7))
    assert lab_token.visit_id == token.visit_id
    (at_lab,) = sms("token_called", token=lab_token)
    assert at_lab.body.startswith("LAB-001: please go to Counter 1 now.")
    assert len(sms("token_called")) == 2
    assert len(sms("token_issued")) == 1  # the same status page follows the patient


def test_the_database_refuses_a_second_message_of_a_kind_for_a_stop(orth, dr_rao):
    token = issue(orth)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            token=token, channel="sms", purpose="token_issued", to=MOBILE, body="again",
            created_at=at(WEDNESDAY, 9),
        )  # fmt: skip
    # Through the outbox the second is simply not written, and the caller goes on.
    assert notify.queue_sms(MOBILE, "again", purpose="token_issued", token=token) is None
    assert len(sms("token_issued")) == 1


# --- Reminders -----------------------------------------------------------------------


@pytest.fixture
def booked(dr_rao):
    """Asha's 10:30 appointment with Dr. Rao on Wednesday, booked on Monday."""
    appointment = place(dr_rao, t(10, 30), mobile=MOBILE)
    appointment.booked_at = at(WEDNESDAY - datetime.timedelta(days=2), 12)
    appointment.save()
    return appointment


def test_reminders_the_evening_before_and_two_hours_before_once_each(booked):
    assert reminders.send_reminders(now=at(TUESDAY, 16, 55)) == 0  # not yet
    assert reminders.send_reminders(now=at(TUESDAY, 17, 0)) == 1
    assert reminders.send_reminders(now=at(TUESDAY, 17, 5)) == 0  # once
    (evening,) = sms("reminder_day_before", appointment=booked)
    assert evening.body == (
        "Reminder: your appointment with Dr. Rao, Orthopedic Surgery, Room 4, is tomorrow "
        "18-11-2026 at 10:30. City General Hospital, help desk +91 80 2222 0000"
    )
    assert reminders.send_reminders(now=at(WEDNESDAY, 8, 25)) == 0  # more than 2 h before
    assert reminders.send_reminders(now=at(WEDNESDAY, 8, 30)) == 1
    assert reminders.send_reminders(now=at(WEDNESDAY, 8, 35)) == 0
    (soon,) = sms("reminder_soon", appointment=booked)
    assert "is today at 10:30" in soon.body and soon.to == MOBILE
    assert reminders.send_reminders(now=at(WEDNESDAY, 10, 35)) == 0  # started: too late


def test_a_cancelled_appointment_is_not_reminded(booked, receptionist):
    cancel_appointment(booked, actor=receptionist, reason="Doctor on leave",
                       now=at(TUESDAY, 12))  # fmt: skip
    assert reminders.send_reminders(now=at(TUESDAY, 18)) == 0
    assert reminders.send_reminders(now=at(WEDNESDAY, 9)) == 0
    assert sms("reminder_day_before") == sms("reminder_soon") == []


def test_an_appointment_booked_after_the_reminders_moment_skips_it(booked):
    booked.booked_at = at(TUESDAY, 19)  # the confirmation has just told the patient
    booked.save()
    assert reminders.send_reminders(now=at(TUESDAY, 19, 5)) == 0
    assert reminders.send_reminders(now=at(WEDNESDAY, 8, 30)) == 1  # the 2-hour one still


def test_a_missed_evening_reminder_is_not_sent_on_the_day(booked):
    # The worker was down all Tuesday evening: "tomorrow" would be wrong on Wednesday.
    assert reminders.send_reminders(now=at(WEDNESDAY, 7)) == 0
    assert sms("reminder_day_before") == []


def test_reminders_are_in_the_language_the_patient_chose_at_the_kiosk(booked, orth):
    orth.name_ta = "எலும்பியல்"
    orth.save()
    token = services.issue_token(orth, "Asha", language="ta", now=at(TUESDAY, 9))
    token.visit.patient = booked.patient
    token.visit.save()
    reminders.send_reminders(now=at(TUESDAY, 17))
    (evening,) = sms("reminder_day_before")
    assert evening.language == "ta" and "எலும்பியல்" in evening.body


def test_an_opted_out_number_gets_no_reminder_but_still_its_confirmations(booked):
    notify.opt_out(MOBILE, how="test")
    assert reminders.send_reminders(now=at(TUESDAY, 17)) == 0
    confirmation = notify.queue_sms(MOBILE, "Booked.", purpose="confirmation", appointment=booked)
    assert confirmation is not None


def test_the_reminder_schedule_is_installed_for_the_worker(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="send_reminders")
    assert (schedule.func, schedule.minutes) == ("appointments.reminders.send_reminders", 5)
    near = Schedule.objects.get(name="check_near_turns")
    assert (near.func, near.minutes) == ("queues.messages.check_all_near_turns", 1)


# --- Opting out from the status page ------------------------------------------------


def sms_off_url(token) -> str:
    return reverse("token_sms_off", args=[token.public_id])


def test_the_patient_stops_sms_from_their_status_page(orth, dr_rao, caplog):
    token = issue(orth)
    pending = sms("token_issued")[0]
    with caplog.at_level(logging.INFO, logger="appointments.notify"):
        response = Client().post(sms_off_url(token))
    assert response.status_code == 302
    assert response["Location"] == reverse("visit_detail", args=[token.visit.public_id])
    opt = SmsOptOut.objects.get()
    assert (opt.mobile, opt.how) == (MOBILE, "status page of ORTH-001")
    assert "SMS opt-out: ••••••5678, status page of ORTH-001" in caplog.text
    assert MOBILE not in caplog.text
    # The message still waiting is not sent, and nothing new is written.
    notify.send_one(pending.pk)
    pending.refresh_from_db()
    assert (pending.status, pending.error) == ("opted_out", "the patient opted out of SMS")
    assert pending.attempts[-1]["result"] == "opted_out"
    services.call_next(dr_rao, now=at(WEDNESDAY, 10))
    assert sms("token_called") == []
    # Pressing it twice keeps the first record.
    Client().post(sms_off_url(token))
    assert SmsOptOut.objects.count() == 1


def test_a_cancelled_appointment_message_still_reaches_an_opted_out_patient(booked, receptionist,
                                                                            outbox):  # fmt: skip
    notify.opt_out(MOBILE, how="test")
    cancel_appointment(booked, actor=receptionist, reason="Doctor on leave", now=at(TUESDAY, 9))
    notify.send_due()
    (sent,) = Notification.objects.filter(purpose="cancellation", channel="sms")
    assert sent.status == "sent"


def test_the_opt_out_is_post_only(orth):
    token = issue(orth)
    assert Client().get(sms_off_url(token)).status_code == 405
    assert SmsOptOut.objects.count() == 0


def test_the_opt_out_needs_the_pages_csrf_token(orth):
    token = issue(orth)
    client = Client(enforce_csrf_checks=True)
    assert client.post(sms_off_url(token)).status_code == 403
    assert SmsOptOut.objects.count() == 0
    # With the token the page's form carries (cookie and field), it works.
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    response = client.post(sms_off_url(token), {"csrfmiddlewaretoken": secret})
    assert response.status_code == 302 and SmsOptOut.objects.count() == 1


def test_an_unknown_token_is_404(db):
    response = Client().post(reverse("token_sms_off", args=[uuid.uuid4()]))
    assert response.status_code == 404
    assert Client().post("/tokens/not-a-uuid/sms-off/").status_code == 404
    assert SmsOptOut.objects.count() == 0


def test_a_token_without_a_mobile_has_nothing_to_stop(orth):
    token = issue(orth, mobile="")
    assert Client().post(sms_off_url(token)).status_code == 302
    assert SmsOptOut.objects.count() == 0


def test_the_status_page_partial_offers_the_switch_then_says_sms_off(orth, rf):
    token = issue(orth)

    request = rf.get("/")
    request.user = AnonymousUser()

    def partial():
        context = {"token": token, "sms_on": messages.sms_is_on(token)}
        return render_to_string("queues/_sms_opt_out.html", context, request=request)

    html = partial()
    assert "Stop SMS for this number" in html and sms_off_url(token) in html
    assert "csrfmiddlewaretoken" in html and MOBILE not in html and "5678" not in html
    messages.stop_sms(token)
    html = partial()
    assert "SMS off" in html and "Stop SMS" not in html
    token = issue(orth, mobile="", minute=1)
    html = partial()
    assert "SMS off" in html and "no mobile number" in html


def test_an_appointment_status_filter_sanity(booked):
    # Reminders only look at booked appointments: a held one is not reminded.
    booked.status = Appointment.Status.HELD
    booked.save()
    assert reminders.send_reminders(now=at(TUESDAY, 17)) == 0
