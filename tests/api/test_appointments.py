"""Booking through the API, as the desk books on its pages: hold a free slot (the patient
is texted a code), confirm with the code the patient reads back, reschedule, cancel with a
reason, read the history. The key acts as its own user, named on every event and held to
the desk's limits; a refusal is a 409 in the service's words; bad input is a 400 with
nothing written, never a 500; the code is never in a response or the log."""

import datetime
import logging
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from api.models import Scope
from appointments import booking, slots
from appointments.models import (
    Appointment,
    AppointmentEvent,
    Notification,
    OtpChallenge,
    Patient,
)
from tests.appointments.conftest import (  # noqa: F401 (fixtures)
    CODE,
    MOBILE,
    MORNING,
    latest_code,
    nothing_taken,
    outbox,
    rao_morning,
    texts,
    wrong,
)
from tests.conftest import WEDNESDAY, at, race

pytestmark = pytest.mark.usefixtures("clock", "outbox", "rao_morning")

NOW = MORNING  # 08:00 on the Wednesday, before Dr. Rao's 09:00-12:00 session
HOLD = reverse("api-appointments")
THURSDAY = WEDNESDAY + datetime.timedelta(days=1)


def url(name: str, appointment) -> str:
    public_id = appointment if isinstance(appointment, str) else appointment["public_id"]
    return reverse(name, args=[public_id])


class Desk:
    """An API client holding an integration's key, that runs a request's after-commit
    work (the texts to the outbox) as a real request does."""

    def __init__(self, client, key, capture):
        self.client, self.key, self.capture = client, key, capture

    def post(self, path, body=None):
        with self.capture(execute=True):
            return self.client.post(path, body, format="json")

    def get(self, path, params=None):
        return self.client.get(path, params)


@pytest.fixture
def make_desk(make_key, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    def make(name="Hospital system"):
        key, raw = make_key(Scope.APPOINTMENTS, Scope.READ, name=name)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return Desk(client, key, django_capture_on_commit_callbacks)

    return make


@pytest.fixture
def desk(make_desk):
    return make_desk()


def hold_body(who, **changes) -> dict:
    body = {
        "doctor": who.pk,
        "date": WEDNESDAY.isoformat(),
        "start": "09:15",
        "patient_name": "Asha Rao",
        "mobile": "98123 45678",
        "reason": "Knee pain",
    }
    body.update(changes)
    return body


def free_starts(desk, doctor, day=WEDNESDAY) -> list[str]:
    plan = desk.get(reverse("api-doctor-slots", args=[doctor.pk]), {"date": day.isoformat()})
    return [slot["start"] for slot in plan.json()["free"]]


def nothing_written() -> bool:
    return not (
        Appointment.objects.exists()
        or Patient.objects.exists()
        or AppointmentEvent.objects.exists()
        or OtpChallenge.objects.exists()
        or Notification.objects.exists()
    )


# --- The whole booking --------------------------------------------------------------------


def test_a_whole_booking_through_the_api(desk, dr_rao, caplog):
    with caplog.at_level(logging.DEBUG):
        held = desk.post(HOLD, hold_body(dr_rao))
        assert held.status_code == 201
        appointment = held.json()
        assert appointment["status"] == "held"
        assert appointment["hold_expires_at"] == "2026-11-18T08:10:00+05:30"
        assert (appointment["date"], appointment["start"], appointment["end"]) == (
            "2026-11-18", "09:15", "09:30",
        )  # fmt: skip
        assert appointment["doctor"]["id"] == dr_rao.pk
        assert appointment["patient"]["mobile"] == "••••••5678"  # masked: booking needs no one's
        assert "09:15" not in free_starts(desk, dr_rao)
        code = latest_code(MOBILE)
        assert code not in held.content.decode()

        refused = desk.post(url("api-appointment-confirm", appointment), {"code": wrong(code)})
        assert refused.status_code == 409
        assert refused.json()["detail"] == "That code is not right. 4 attempts left."

        booked = desk.post(url("api-appointment-confirm", appointment), {"code": code})
        assert booked.status_code == 200
        assert (booked.json()["status"], booked.json()["hold_expires_at"]) == ("booked", None)

        moved = desk.post(
            url("api-appointment-reschedule", appointment),
            {"date": WEDNESDAY.isoformat(), "start": "10:00", "reason": "Patient asked"},
        )
        assert moved.status_code == 200
        assert (moved.json()["status"], moved.json()["start"]) == ("booked", "10:00")
        starts = free_starts(desk, dr_rao)
        assert "09:15" in starts and "10:00" not in starts

        cancelled = desk.post(
            url("api-appointment-cancel", appointment), {"reason": "Patient asked to cancel"}
        )
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        assert "10:00" in free_starts(desk, dr_rao)

        detail = desk.get(url("api-appointment", appointment))
    assert detail.status_code == 200
    history = detail.json()["events"]
    assert [e["kind"] for e in history] == [
        "held", "otp_sent", "otp_failed", "booked", "rescheduled", "cancelled",
    ]  # fmt: skip
    # Every event names the key's own user.
    assert {e["actor"] for e in history} == {desk.key.user.username}
    assert {e["actor_name"] for e in history} == {"Hospital system"}
    assert set(AppointmentEvent.objects.values_list("actor", flat=True)) == {desk.key.user.pk}
    assert history[-1]["reason"] == "Patient asked to cancel"
    assert history[4]["changes"]["to"]["start"] == "10:00"
    # The patient was told each step, by SMS.
    assert [m["purpose"] for m in texts()] == ["otp", "confirmation", "rescheduled", "cancellation"]
    # Neither the code nor the full mobile reached the log, nor any response.
    assert code not in caplog.text and "45678" not in caplog.text
    assert code not in detail.content.decode() and MOBILE not in detail.content.decode()


def test_a_new_code_can_be_sent_after_a_minute_and_the_old_one_stops_working(
    desk, dr_rao, monkeypatch
):
    appointment = desk.post(HOLD, hold_body(dr_rao)).json()
    first = latest_code()
    too_soon = desk.post(url("api-appointment-resend-code", appointment))
    assert too_soon.status_code == 409
    assert too_soon.json()["detail"] == "You can send a new code in 60 seconds."
    later = at(WEDNESDAY, 8, 2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    resent = desk.post(url("api-appointment-resend-code", appointment))
    assert resent.status_code == 200
    assert resent.json()["hold_expires_at"] == "2026-11-18T08:12:00+05:30"
    second = latest_code()
    if second != first:  # one in a million they are the same
        old = desk.post(url("api-appointment-confirm", appointment), {"code": first})
        assert old.status_code == 409
    assert (
        desk.post(url("api-appointment-confirm", appointment), {"code": second}).status_code == 200
    )


def test_after_the_last_wrong_code_a_new_code_is_needed(desk, dr_rao, settings):
    settings.OTP_MAX_ATTEMPTS = 2
    appointment = desk.post(HOLD, hold_body(dr_rao)).json()
    code = latest_code()
    confirm = url("api-appointment-confirm", appointment)
    assert desk.post(confirm, {"code": wrong(code)}).json()["detail"] == (
        "That code is not right. 1 attempt left."
    )
    assert desk.post(confirm, {"code": wrong(code)}).json()["detail"] == (
        "Too many wrong codes. Send a new code."
    )
    last = desk.post(confirm, {"code": code})
    assert last.status_code == 409
    assert Appointment.objects.get().status == Appointment.Status.HELD


def test_an_expired_hold_cannot_be_confirmed(desk, dr_rao, monkeypatch):
    appointment = desk.post(HOLD, hold_body(dr_rao)).json()
    code = latest_code()
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(WEDNESDAY, 8, 11))
    response = desk.post(url("api-appointment-confirm", appointment), {"code": code})
    assert response.status_code == 409
    assert "expired" in response.json()["detail"]


# --- Refusals -----------------------------------------------------------------------------


def test_a_slot_taken_by_another_desk_since_the_check_is_a_409_that_slot_was_just_taken(
    desk, make_desk, dr_rao, monkeypatch
):
    first = desk.post(HOLD, hold_body(dr_rao))
    assert first.status_code == 201
    # The other desk's check sees the slot free, as it would a moment before our write:
    # the database's one-per-slot constraint refuses it.
    monkeypatch.setattr(slots, "taking_slots", nothing_taken)
    other = make_desk("Kiosk vendor")
    response = other.post(HOLD, hold_body(dr_rao, mobile="98123 45679", patient_name="Ravi"))
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "That slot was just taken. Please choose another."
    assert Appointment.objects.count() == 1
    assert len(texts("otp")) == 1


def test_a_slot_that_is_not_free_is_a_409_and_nothing_is_written(desk, dr_rao):
    # Kept for emergencies, past, or no session: the same refusal, in words.
    for start, day in [("12:00", WEDNESDAY), ("09:00", THURSDAY), ("09:07", WEDNESDAY)]:
        response = desk.post(HOLD, hold_body(dr_rao, start=start, date=day.isoformat()))
        assert response.status_code == 409, (start, day)
        assert response.json()["detail"].startswith("That slot is not free.")
    assert nothing_written()


def test_a_doctor_off_duty_is_refused(desk, dr_rao):
    dr_rao.on_duty = False
    dr_rao.save()
    response = desk.post(HOLD, hold_body(dr_rao))
    assert response.status_code == 409
    assert response.json()["detail"] == "Dr. Rao is not on duty; choose another doctor."
    assert nothing_written()


def test_a_key_is_held_to_the_desks_limit_of_open_holds(desk, make_desk, dr_rao, settings):
    settings.DESK_MAX_OPEN_HOLDS = 2
    for i, start in enumerate(["09:00", "09:15"]):
        body = hold_body(dr_rao, start=start, mobile=f"98123 4567{i}")
        assert desk.post(HOLD, body).status_code == 201
    third = desk.post(HOLD, hold_body(dr_rao, start="09:30", mobile="98123 45672"))
    assert third.status_code == 409
    assert third.json()["detail"].startswith("You already have 2 slots on hold")
    assert Appointment.objects.count() == 2
    # Another integration's key is another desk.
    other = make_desk("Kiosk vendor")
    assert (
        other.post(HOLD, hold_body(dr_rao, start="09:30", mobile="98123 45672")).status_code == 201
    )


def test_a_key_is_held_to_the_desks_codes_per_hour(desk, dr_rao, settings):
    settings.DESK_MAX_CODES_PER_HOUR = 1
    assert desk.post(HOLD, hold_body(dr_rao)).status_code == 201
    second = desk.post(HOLD, hold_body(dr_rao, start="09:30", mobile="98123 45679"))
    assert second.status_code == 409
    assert "codes texted in the last hour" in second.json()["detail"]


def test_only_a_booked_appointment_is_rescheduled_and_a_cancelled_one_stays_cancelled(desk, dr_rao):
    appointment = desk.post(HOLD, hold_body(dr_rao)).json()
    move = {"date": WEDNESDAY.isoformat(), "start": "10:00"}
    held = desk.post(url("api-appointment-reschedule", appointment), move)
    assert held.status_code == 409
    assert "only a booked appointment can be rescheduled" in held.json()["detail"]
    cancel = desk.post(url("api-appointment-cancel", appointment), {"reason": "Mistake"})
    assert cancel.status_code == 200
    again = desk.post(url("api-appointment-cancel", appointment), {"reason": "Mistake"})
    assert again.status_code == 409
    confirm = desk.post(url("api-appointment-confirm", appointment), {"code": latest_code()})
    assert confirm.status_code == 409


def test_a_reschedule_to_another_departments_doctor_is_refused(desk, dr_rao, dr_shah):
    appointment = desk.post(HOLD, hold_body(dr_rao)).json()
    desk.post(url("api-appointment-confirm", appointment), {"code": latest_code()})
    move = {"date": WEDNESDAY.isoformat(), "start": "10:00", "doctor": dr_shah.pk}
    response = desk.post(url("api-appointment-reschedule", appointment), move)
    assert response.status_code == 409
    assert "choose a doctor of the same department" in response.json()["detail"]
    assert Appointment.objects.get().start == datetime.time(9, 15)


# --- Hostile input ------------------------------------------------------------------------

HOSTILE_HOLDS = [
    ("doctor", "x"), ("doctor", 1.5), ("doctor", True), ("doctor", None), ("doctor", 10**30),
    ("doctor", -1), ("doctor", 0), ("doctor", 999_999), ("doctor", []), ("doctor", {}),
    ("date", "9999-12-31"), ("date", "0001-01-01"), ("date", "2026-02-30"), ("date", "today"),
    ("date", ""), ("date", 20261118), ("date", "2026-11-18T09:00"), ("date", "2026-11-18\x00"),
    ("start", "25:00"), ("start", "9"), ("start", "09:15:00"), ("start", ""), ("start", None),
    ("start", "09:15\x00"), ("start", 915), ("start", "x" * 10_000),
    ("patient_name", "A" * 10_000), ("patient_name", "Asha\x00"), ("patient_name", "Asha\x1b[31m"),
    ("patient_name", ""), ("patient_name", "   "), ("patient_name", ["Asha"]),
    ("patient_name", True),
    ("mobile", "12"), ("mobile", "9" * 10_000), ("mobile", "98123\x0045678"), ("mobile", ""),
    ("mobile", "080 2222 0000"), ("mobile", None),
    ("reason", "x" * 201), ("reason", "Knee\x00pain"), ("reason", ""), ("reason", {"a": 1}),
    ("email", "not an email"), ("email", "a" * 300 + "@example.org"),
]  # fmt: skip


@pytest.mark.parametrize("field, value", HOSTILE_HOLDS)
def test_a_hold_that_cannot_be_read_is_a_400_naming_the_field_and_nothing_is_written(
    desk, dr_rao, field, value
):
    response = desk.post(HOLD, hold_body(dr_rao, **{field: value}))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]
    assert nothing_written()


@pytest.mark.parametrize("body", ["[]", '"x"', "{", "null", "1" * 10_000, '{"doctor": NaN}'])
def test_a_body_that_is_no_object_is_a_400(desk, dr_rao, body):
    response = desk.client.post(HOLD, body, content_type="application/json")
    assert response.status_code == 400
    assert nothing_written()


def test_a_form_encoded_body_is_a_415(desk, dr_rao):
    response = desk.client.post(HOLD, {"doctor": dr_rao.pk})
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "action, body, field",
    [
        ("confirm", {}, "code"),
        ("confirm", {"code": "12345"}, "code"),
        ("confirm", {"code": "abcdef"}, "code"),
        ("confirm", {"code": "1" * 10_000}, "code"),
        ("confirm", {"code": "123\x00456"}, "code"),
        ("confirm", {"code": ["123456"]}, "code"),
        ("confirm", {"code": "１２３４５６"}, "code"),  # full-width digits
        ("reschedule", {"start": "10:00"}, "date"),
        ("reschedule", {"date": "9999-12-31", "start": "10:00"}, "date"),
        ("reschedule", {"date": "0001-01-01", "start": "10:00"}, "date"),
        ("reschedule", {"date": "2026-11-18", "start": "24:00"}, "start"),
        ("reschedule", {"date": "2026-11-18", "start": "10:00", "doctor": 10**30}, "doctor"),
        ("reschedule", {"date": "2026-11-18", "start": "10:00", "doctor": 999_999}, "doctor"),
        ("reschedule", {"date": "2026-11-18", "start": "10:00", "reason": "a\x00b"}, "reason"),
        ("reschedule", {"date": "2026-11-18", "start": "10:00", "reason": "x" * 201}, "reason"),
        ("cancel", {}, "reason"),
        ("cancel", {"reason": "   "}, "reason"),
        ("cancel", {"reason": "Mistake\x00"}, "reason"),
        ("cancel", {"reason": "Mistake\x07"}, "reason"),
        ("cancel", {"reason": "x" * 10_000}, "reason"),
        ("cancel", {"reason": True}, "reason"),
    ],
)
def test_a_change_that_cannot_be_read_is_a_400_and_changes_nothing(
    desk, dr_rao, action, body, field
):
    appointment = desk.post(HOLD, hold_body(dr_rao)).json()
    desk.post(url("api-appointment-confirm", appointment), {"code": latest_code()})
    before = list(AppointmentEvent.objects.values_list("pk", flat=True))
    notes = Notification.objects.count()
    response = desk.post(url(f"api-appointment-{action}", appointment), body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert list(AppointmentEvent.objects.values_list("pk", flat=True)) == before
    assert Notification.objects.count() == notes
    saved = Appointment.objects.get()
    assert (saved.status, saved.start) == (Appointment.Status.BOOKED, datetime.time(9, 15))


@pytest.mark.parametrize(
    "public_id",
    [str(uuid.uuid4()), "nope", "1" * 200, "%00", "00000000-0000-0000-0000-00000000000g"],
)
@pytest.mark.parametrize("action", ["", "confirm/", "resend-code/", "reschedule/", "cancel/"])
def test_an_unknown_or_malformed_appointment_is_a_404_problem(desk, dr_rao, public_id, action):
    path = f"/api/v1/appointments/{public_id}/{action}"
    response = desk.post(path, {"code": "123456"}) if action else desk.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


# --- A race -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_keys_holding_one_slot_at_once_get_one_201_and_one_409(make_desk, dr_rao):
    desks = [make_desk("Hospital system"), make_desk("Kiosk vendor")]
    bodies = [
        hold_body(dr_rao, mobile="98123 45670", patient_name="Asha"),
        hold_body(dr_rao, mobile="98123 45671", patient_name="Ravi"),
    ]
    results, errors = race(
        [
            lambda d=d, b=b: d.client.post(HOLD, b, format="json")
            for d, b in zip(desks, bodies, strict=True)
        ]
    )
    assert errors == []
    assert sorted(r.status_code for r in results) == [201, 409], connection.vendor
    (lost,) = [r for r in results if r.status_code == 409]
    assert lost.json()["detail"].startswith(("That slot was just taken.", "That slot is not free."))
    assert Appointment.objects.filter(status=Appointment.Status.HELD).count() == 1
    (won,) = [r for r in results if r.status_code == 201]
    winner = desks[results.index(won)]
    assert Appointment.objects.get().created_by == winner.key.user
    assert AppointmentEvent.objects.filter(kind="held").count() == 1


def test_the_code_is_never_in_a_refusal(desk, dr_rao):
    appointment = desk.post(HOLD, hold_body(dr_rao)).json()
    code = latest_code()
    response = desk.post(url("api-appointment-confirm", appointment), {"code": wrong(code)})
    assert wrong(code) not in response.content.decode()
    assert code not in response.content.decode()
    assert not CODE.search(desk.get(url("api-appointment", appointment)).content.decode())
    assert booking.seconds_until_resend(Appointment.objects.get()) == 60
