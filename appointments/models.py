"""Reception: patients, doctors' weekly schedules and leave, appointments in slots,
one-time codes that confirm a patient's mobile, and the history of every change."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from hospital.models import WEEKDAY_NAMES, Doctor
from hospital.phones import mask_mobile


class Patient(models.Model):
    """A patient registered once, found again by hospital number, name or mobile.

    Many patients have no phone, and an unconscious emergency patient has no name yet
    ("Unknown male, about 40", corrected later): only the name is required."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")
        UNKNOWN = "", _("Not recorded")

    # UHID-style, printed on the slip: given when the patient is registered.
    hospital_number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    name = models.CharField(max_length=100)
    # E.164 ("+919812345678"), or empty (NULL: unique only among patients who have one).
    mobile = models.CharField(max_length=20, unique=True, null=True, blank=True)
    email = models.EmailField(blank=True)
    year_of_birth = models.PositiveSmallIntegerField(null=True, blank=True)
    # "about 40": the year of birth was worked out from a guessed age.
    age_is_estimate = models.BooleanField(default=False)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True, default="")
    # The language of their slips and SMS ("hi", "ta"); empty: not asked (the language
    # of their latest kiosk token, else English — appointments.patients.language_of).
    language = models.CharField(max_length=8, blank=True, default="", choices=settings.LANGUAGES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PatientEvent(models.Model):
    """Who registered or corrected a patient's record, when, and what changed."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        CORRECTED = "corrected", _("Details corrected")
        LINKED = "linked", _("Token linked")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.patient_id} at {self.at}"


class DoctorSchedule(models.Model):
    """One weekly OPD session of a doctor, cut into slots of `slot_minutes`."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="schedules")
    weekday = models.PositiveSmallIntegerField(choices=list(enumerate(WEEKDAY_NAMES)))
    start = models.TimeField()
    end = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField(default=15)
    # Slots at the end of the session kept free for emergencies (appointments.slots).
    emergency_slots = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["doctor", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="session_starts_before_end"
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240), name="sane_slot_length"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {WEEKDAY_NAMES[self.weekday]} {self.start:%H:%M}–{self.end:%H:%M}"


class DoctorLeave(models.Model):
    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="leaves")
    start_date = models.DateField()
    end_date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=F("end_date")), name="leave_starts_before_it_ends"
            )
        ]

    def __str__(self) -> str:
        return f"{self.doctor} on leave {self.start_date}–{self.end_date}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        HELD = "held", _("Held (awaiting OTP)")
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Hold expired")

    # A slot is taken while an appointment in one of these states sits in it.
    SLOT_TAKING = (Status.HELD, Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments")
    date = models.DateField()
    start = models.TimeField()
    end = models.TimeField()
    # The illness or reason for the visit: staff eyes only, never on a public screen.
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.HELD)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField()
    booked_at = models.DateTimeField(null=True, blank=True)
    # A walk-in booked at the desk into a free or emergency slot (no OTP: the patient is
    # standing there), and whether it was an emergency.
    is_walk_in = models.BooleanField(default=False)
    is_emergency = models.BooleanField(default=False)

    class Meta:
        ordering = ["date", "start"]
        constraints = [
            # No slot is ever booked twice, whatever the race: the database refuses a
            # second held/booked appointment in the same doctor's slot.
            models.UniqueConstraint(
                fields=["doctor", "date", "start"],
                condition=Q(status__in=["held", "booked", "checked_in", "completed"]),
                name="one_active_appointment_per_slot",
            ),
        ]
        indexes = [models.Index(fields=["date", "status"])]

    def __str__(self) -> str:
        return f"{self.patient} with {self.doctor} on {self.date} {self.start:%H:%M}"


class AppointmentEvent(models.Model):
    """Append-only history of every appointment: who, when, what changed, why."""

    class Kind(models.TextChoices):
        HELD = "held", _("Slot held")
        OTP_SENT = "otp_sent", _("Code sent")
        OTP_FAILED = "otp_failed", _("Wrong code")
        BOOKED = "booked", _("Booked")
        EXPIRED = "expired", _("Hold expired")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        CANCELLED = "cancelled", _("Cancelled")
        CHECKED_IN = "checked_in", _("Checked in")
        NO_SHOW = "no_show", _("No-show")
        NOTIFY_FAILED = "notify_failed", _("Notification failed")
        WALK_IN = "walk_in", _("Walk-in booked")

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    # What changed, e.g. {"from": {"date": ..., "start": ...}, "to": {...}}.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at}"


class OtpChallenge(models.Model):
    """A one-time code sent to a patient's mobile. Only a keyed HMAC of the code is
    stored; the code itself exists only in the SMS."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        USED = "used", _("Used")
        VOIDED = "voided", _("Voided")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="otps")
    mobile = models.CharField(max_length=20)
    code_hmac = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["mobile", "created_at"])]

    def __str__(self) -> str:
        return f"OTP for {self.appointment_id} ({self.status})"


# Messages about the patient's own queue and appointments (queues.messages,
# appointments.reminders): each is sent at most once per stop or appointment (the
# Notification constraints), and not to a number that opted out of SMS (SmsOptOut). Codes
# the patient asks for, confirmations and cancellations are always sent.
TOKEN_ISSUED = "token_issued"
TURN_NEAR = "turn_near"
TOKEN_CALLED = "token_called"
REMINDER_DAY_BEFORE = "reminder_day_before"
REMINDER_SOON = "reminder_soon"
ONCE_PER_STOP = (TOKEN_ISSUED, TURN_NEAR, TOKEN_CALLED)
ONCE_PER_APPOINTMENT = (REMINDER_DAY_BEFORE, REMINDER_SOON)


class Notification(models.Model):
    """A message to a patient: the outbox row written in the same transaction as the change
    that causes it, then sent by the worker (appointments.notify.send_due) with retries.

    The body of a secret message (a one-time code) is kept only until the message is sent
    or given up, then cleared: the worker needs the text to send it, and a code is useless
    once it has expired, so nothing after that point (backups, the admin) ever holds it.
    Encrypting it with SECRET_KEY instead would still leave the key beside the database on
    every server that sends, for no gain over a body that lives only seconds."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        NOT_SENT = "not_sent", "Not sent: no transport configured"
        OPTED_OUT = "opted_out", "Not sent: the patient opted out"

    TOKEN_ISSUED = TOKEN_ISSUED
    TURN_NEAR = TURN_NEAR
    TOKEN_CALLED = TOKEN_CALLED
    REMINDER_DAY_BEFORE = REMINDER_DAY_BEFORE
    REMINDER_SOON = REMINDER_SOON
    ONCE_PER_STOP = ONCE_PER_STOP
    ONCE_PER_APPOINTMENT = ONCE_PER_APPOINTMENT
    OPTIONAL = ONCE_PER_STOP + ONCE_PER_APPOINTMENT

    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    # The stop (its token) a queue message is about. SET_NULL: an admin deleting a token
    # keeps the record of what was sent.
    token = models.ForeignKey(
        "queues.Token", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="notifications",
    )  # fmt: skip
    # The language the text was written in ("ta"): the gateway's DLT template depends on it.
    language = models.CharField(max_length=8, blank=True, default="")
    # The same on every try of this message: the gateway drops a repeat of an id it has
    # already accepted (a worker that died after the gateway answered, before recording).
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10)  # "sms" or "email"
    purpose = models.CharField(max_length=30)  # "otp", "confirmation", ...
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)  # email only
    body = models.TextField(blank=True)
    secret = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    # When the worker may next try; also its claim on the row while it sends (a lease).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A message not sent by then is given up (a code that has expired).
    expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # One entry per try: {"at": ISO time, "result": "sent" | "failed" | "not_sent", "error"}.
    attempts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            # Two workers checking the queue at once, a recall, a "call again": whatever
            # the race, the database keeps one message of each kind per stop...
            models.UniqueConstraint(
                fields=["token", "purpose"],
                condition=Q(purpose__in=ONCE_PER_STOP),
                name="one_message_of_a_kind_per_stop",
            ),
            # ...and one reminder of each kind per appointment.
            models.UniqueConstraint(
                fields=["appointment", "purpose"],
                condition=Q(purpose__in=ONCE_PER_APPOINTMENT),
                name="one_reminder_of_a_kind_per_appointment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.purpose}: {self.status}"


class SmsOptOut(models.Model):
    """A mobile number that asked for no more queue updates and reminders by SMS (from the
    patient's status page, or at the desk through the admin). Codes the patient asks for,
    and confirmations and cancellations of their appointments, are still sent. Deleting
    the row turns the messages back on."""

    mobile = models.CharField(max_length=20, unique=True, help_text="E.164, e.g. +919812345678")
    at = models.DateTimeField()
    # How the patient asked: "status page of ORTH-007", "at the desk (admin)".
    how = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = "SMS opt-out"

    def __str__(self) -> str:
        return f"{mask_mobile(self.mobile)} since {self.at:%Y-%m-%d}"


class WaitingListEntry(models.Model):
    """A patient with no free slot, waiting for one: for a doctor, or for any doctor of
    a department. Offered the next freed slot, emergencies first, then by arrival."""

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("Normal")
        EMERGENCY = 1, _("Emergency")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        BOOKED = "booked", _("Given a slot")
        LEFT = "left", _("Left")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="waiting")
    department = models.ForeignKey(
        "hospital.Department", on_delete=models.PROTECT, related_name="waiting_list"
    )
    doctor = models.ForeignKey(
        Doctor, null=True, blank=True, on_delete=models.PROTECT, related_name="waiting_list",
        help_text="Empty: any doctor of the department.",
    )  # fmt: skip
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    arrived_at = models.DateTimeField()
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="from_waiting"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "arrived_at"]
        indexes = [models.Index(fields=["status", "department"])]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.doctor or self.department}"


class WaitingListEvent(models.Model):
    """Append-only history of a waiting-list entry: who added, removed or booked it,
    when, and why."""

    class Kind(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")
        BOOKED = "booked", _("Given a slot")

    entry = models.ForeignKey(WaitingListEntry, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at}"


class DaySummary(models.Model):
    """One department's figures for one finished day, for the trends report
    (appointments.summaries builds them from the token, desk and appointment rows with
    the very function that counts today live, appointments.trends.count_days).

    A finished day's summary is computed once (the worker's nightly job, or the report
    the first time it needs that day); a later change to that day's rows (an admin's
    edit) is picked up by `manage.py summarise_days --from DAY --to DAY`."""

    service_date = models.DateField()
    department = models.ForeignKey("hospital.Department", on_delete=models.CASCADE,
                                   related_name="+")  # fmt: skip
    issued = models.PositiveIntegerField(default=0)
    patients = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    tokens_cancelled = models.PositiveIntegerField(default=0)
    appointment_no_shows = models.PositiveIntegerField(default=0)
    appointment_cancellations = models.PositiveIntegerField(default=0)
    paused_minutes = models.FloatField(default=0)
    # {"<whole minutes>": tokens called after that wait}: exact, however long the wait.
    waits = models.JSONField(default=dict)
    # {"<ISO weekday>-<local hour>": patients completed}: the hour of the day, and the
    # weekday too, as a patient of the day may be seen after midnight.
    completions = models.JSONField(default=dict)

    class Meta:
        ordering = ["service_date", "department"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_date", "department"], name="unique_summary_per_day_department"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_date} {self.department_id}: {self.patients} patients"


class SummarisedDay(models.Model):
    """A finished day whose DaySummary rows are built (a day nobody came has none)."""

    day = models.DateField(unique=True)
    built_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} (built {self.built_at:%Y-%m-%d %H:%M})"
