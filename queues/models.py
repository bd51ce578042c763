import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hospital.languages import localized
from hospital.models import Counter, Department, Doctor


class TokenCounter(models.Model):
    """The last token number issued for a department on a day.

    Issuing bumps this row with `UPDATE ... SET last = last + 1` inside the issuing
    transaction: the row lock serialises concurrent issuers, and a rollback undoes the
    bump, so numbers stay gapless. (Read-max-then-insert fails under load; sequences
    leave gaps.)
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE)
    service_date = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department", "service_date"], name="unique_counter_per_department_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.service_date}: {self.last}"


class PriorityCategory(models.Model):
    """Who may go first, as the hospital configures it (demo defaults by migration):
    Emergency, Senior citizen (60+), Person with disability, Pregnant, Hospital staff,
    General. Each has one rule in the calling policy (queues.reading.calling_sequence)."""

    class Rule(models.TextChoices):
        ALWAYS_FIRST = "first", _("Always first")
        QUOTA = "quota", _("One after every N general tokens (N per department)")
        AS_GENERAL = "general", _("As general")

    name = models.CharField(max_length=60, unique=True)
    name_hi = models.CharField("name in Hindi", max_length=60, blank=True)
    name_ta = models.CharField("name in Tamil", max_length=60, blank=True)
    # Printed with the word on every screen, never alone (and never colour alone).
    symbol = models.CharField(max_length=4, blank=True, help_text="e.g. ♿ or ★; optional.")
    rule = models.CharField(max_length=10, choices=Rule.choices, default=Rule.AS_GENERAL)
    at_kiosk = models.BooleanField(
        "patients may choose it at the kiosk", default=True,
        help_text="Emergency is chosen by staff only.",
    )  # fmt: skip
    proof_note = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shown at the kiosk, e.g. 'Staff may ask for proof of age.'",
    )
    proof_note_hi = models.CharField("proof note in Hindi", max_length=200, blank=True)
    proof_note_ta = models.CharField("proof note in Tamil", max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "priority categories"

    def __str__(self) -> str:
        return self.name

    @property
    def means_general(self) -> bool:
        """The "General" row stands for no category at all: a token without one."""
        return self.rule == self.Rule.AS_GENERAL and self.name.strip().lower() == "general"

    @property
    def label(self) -> str:
        """ "♿ Person with disability": the symbol (if any) with the word, in the active
        language."""
        return self.label_in(None)

    def label_in(self, language: str | None) -> str:
        return f"{self.symbol} {localized(self, 'name', language)}".strip()


class Visit(models.Model):
    """A patient's trip through the OPD on one day: the doctor, then perhaps the
    laboratory, back to the doctor, the pharmacy. Each stop is served with a token of
    that stop's department; the patient keeps one slip and one QR code (this visit's page)
    for all of them."""

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        CLOSED = "closed", _("Finished")

    class Source(models.TextChoices):
        KIOSK = "kiosk", _("Kiosk")
        WALK_IN = "walk_in", _("Walk-in at reception")
        BOOKED = "booked", _("Booked appointment")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service_date = models.DateField()
    patient = models.ForeignKey(
        "appointments.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        help_text="The registered patient, once known (a kiosk token is linked at the desk).",
    )
    patient_name = models.CharField(max_length=100)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.KIOSK)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-service_date", "-started_at"]
        indexes = [models.Index(fields=["service_date", "status"])]

    def __str__(self) -> str:
        return f"Visit of {self.patient_name} on {self.service_date}"


class Token(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        CALLED = "called", _("Called")
        IN_CONSULTATION = "in_consultation", _("In consultation")
        COMPLETED = "completed", _("Completed")
        SKIPPED = "skipped", _("Skipped (no-show)")
        CANCELLED = "cancelled", _("Cancelled")

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("Normal")
        EMERGENCY = 1, _("Emergency")

    OPEN_STATUSES = (Status.CALLED, Status.IN_CONSULTATION)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="tokens")
    service_date = models.DateField()
    number = models.PositiveIntegerField()
    patient_name = models.CharField(max_length=100)
    mobile = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +919812345678")
    # The patient's language (settings.PATIENT_LANGUAGES): their slip, status page and SMS.
    language = models.CharField(max_length=8, default="en")
    # EMERGENCY exactly when the category's rule is "always first" (kept in step by the
    # services), so the policy's first rule stays one indexed column.
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    category = models.ForeignKey(
        PriorityCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tokens",
        help_text="Empty: general.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    doctor = models.ForeignKey(
        Doctor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tokens",
        help_text="The doctor who called this token.",
    )
    # A booked patient's token is for their doctor only; other tokens any doctor of the
    # department may call.
    assigned_doctor = models.ForeignKey(
        Doctor, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_tokens"
    )
    appointment = models.OneToOneField(
        "appointments.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="token",
        help_text="Set when a booked patient checked in.",
    )
    counter = models.ForeignKey(
        Counter,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tokens",
        help_text="The service counter that called this token.",
    )
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="tokens"
    )
    # Set when a skipped token is recalled: it goes back to the front of the queue.
    recalled_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()
    # The moment the token ranks by in its queue (queues.reading.calling_order): when it
    # was issued, or for a patient sent back to a doctor for review, when that doctor
    # sent them out.
    queued_at = models.DateTimeField()
    called_at = models.DateTimeField(null=True, blank=True)
    # Set by "call again": the displays announce the called token once more.
    announced_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service_date", "department", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "service_date", "number"],
                name="unique_token_number_per_department_day",
            ),
            # A doctor sees one patient at a time, even if two tabs click at once.
            models.UniqueConstraint(
                fields=["doctor"],
                condition=Q(status__in=["called", "in_consultation"]),
                name="one_open_token_per_doctor",
            ),
            # And a counter serves one patient at a time.
            models.UniqueConstraint(
                fields=["counter"],
                condition=Q(status__in=["called", "in_consultation"]),
                name="one_open_token_per_counter",
            ),
        ]
        indexes = [models.Index(fields=["department", "service_date", "status"])]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return self.format_number(self.department.code, self.number)

    @staticmethod
    def format_number(code: str, number: int) -> str:
        """ "ORTH-007": how every screen, slip and report writes a token's number."""
        return f"{code}-{number:03d}"

    @property
    def server(self) -> "Doctor | Counter | None":
        """Who called the token: the doctor, or the service counter."""
        return self.doctor or self.counter

    @property
    def place(self) -> str:
        """Where the called patient goes ("Room 4", "Counter 2"); "" before a call."""
        server = self.server
        return server.place if server else ""

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def masked_name(self) -> str:
        """Initials only ("R. K."), for screens the public can see."""
        return " ".join(f"{part[0].upper()}." for part in self.patient_name.split() if part)


class VisitStop(models.Model):
    """One stop of a visit, in order. The current stop has a token in its department's
    queue; later stops are planned and get their token when the patient is sent there."""

    class Kind(models.TextChoices):
        FIRST = "first", _("First stop")
        SENT = "sent", _("Sent on")
        REVIEW = "review", _("Back for review")
        REFERRAL = "referral", _("Referral")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Next")
        CURRENT = "current", _("Now")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="stops")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FIRST)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    # A named doctor (a referral to Dr. X, or "back to me for review"): the stop's token
    # is that doctor's only. Empty: the department's pool.
    doctor = models.ForeignKey(
        Doctor, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # SET_NULL: an admin deleting a token (issued by mistake) keeps the visit's record.
    token = models.OneToOneField(
        Token, null=True, blank=True, on_delete=models.SET_NULL, related_name="stop"
    )
    # For the next stop's staff only; never on a public screen.
    note = models.CharField(max_length=200, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    sent_from = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.SET_NULL, related_name="sent_stops"
    )
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["visit", "position", "id"]
        constraints = [
            # One stop is "now" at a time: two clicks can never open two.
            models.UniqueConstraint(
                fields=["visit"], condition=Q(status="current"), name="one_current_stop_per_visit"
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit_id}#{self.position} {self.department_id} {self.status}"


class TokenEvent(models.Model):
    """Append-only history of every change to a token, with who made it.

    The token link is nullable so the record of an admin deleting a token outlives it;
    department, day and number are copied for the same reason.
    """

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Issued")
        CALLED = "called", _("Called")
        RECALLED = "recalled", _("Recalled")
        SKIPPED = "skipped", _("Skipped (no-show)")
        STARTED = "started", _("Consultation started")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        EDITED = "edited", _("Edited by staff")
        DELETED = "deleted", _("Deleted by admin")
        SENT_ON = "sent_on", _("Sent on")
        REFERRED = "referred", _("Referred")
        STOP_CANCELLED = "stop_cancelled", _("Stop cancelled")
        LINKED = "linked", _("Linked to a registered patient")
        CATEGORY = "category", _("Priority category changed")
        TRANSFERRED = "transferred", _("Moved to another department or doctor")
        ANNOUNCED = "announced", _("Announced again")
        REPRINTED = "reprinted", _("Slip reprinted")

    token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    service_date = models.DateField()
    token_number = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the patient did it (kiosk).",
    )
    doctor = models.ForeignKey(
        Doctor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    counter = models.ForeignKey(
        Counter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["department", "service_date", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.department_id}/{self.token_number} at {self.at}"


class DeskEvent(models.Model):
    """Append-only history of a doctor or counter stepping away and coming back (and
    saying they will start late): who, when, why, and until when they expected."""

    class Kind(models.TextChoices):
        PAUSED = "paused", _("Paused")
        LATE = "late", _("Starting late")
        RESUMED = "resumed", _("Resumed")

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey(
        Doctor, null=True, blank=True, on_delete=models.SET_NULL, related_name="desk_events"
    )
    counter = models.ForeignKey(
        Counter, null=True, blank=True, on_delete=models.SET_NULL, related_name="desk_events"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=80, blank=True)
    back_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["department", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.doctor or self.counter} at {self.at}"


class KioskDevice(models.Model):
    """A token kiosk registered by staff. Its browser keeps a cookie with a random key
    (only the key's hash is stored here), which lifts the per-client token limit: a
    hospital's kiosks take tokens for everyone, all day."""

    name = models.CharField(max_length=100, help_text="Where it stands, e.g. 'OPD entrance 1'.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField("active", default=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        editable=False,
    )  # fmt: skip
    registered_at = models.DateTimeField(editable=False)

    class PaperWidth(models.IntegerChoices):
        MM58 = 58, _("58 mm thermal roll")
        MM80 = 80, _("80 mm thermal roll")

    paper_width = models.PositiveSmallIntegerField(
        choices=PaperWidth.choices, default=PaperWidth.MM80,
        help_text="The slip's print layout at this kiosk.",
    )  # fmt: skip
    # Optional server-side printing (queues.printing): a network ESC/POS printer.
    printer_host = models.CharField(
        max_length=253, blank=True,
        help_text="A network ESC/POS printer's address; empty: the kiosk's browser prints.",
    )  # fmt: skip
    printer_port = models.PositiveIntegerField(
        default=9100, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    # The language the kiosk's start screen returns to after each patient.
    language = models.CharField(max_length=8, default="en")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PrintJob(models.Model):
    """A slip sent to a kiosk's network ESC/POS printer by the worker (queues.printing).

    The token is committed before its print job is queued, so a printer that is off or
    out of paper never loses a token: the job is marked failed, the kiosk says so, and
    the patient shows the screen at the desk."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to print")
        PRINTED = "printed", _("Printed")
        FAILED = "failed", _("Failed")

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="print_jobs")
    kiosk = models.ForeignKey(
        KioskDevice, null=True, on_delete=models.SET_NULL, related_name="print_jobs"
    )
    # The printer as it was when the job was queued: an admin's later change does not
    # send an old job somewhere else.
    printer_host = models.CharField(max_length=253)
    printer_port = models.PositiveIntegerField(default=9100)
    paper_width = models.PositiveSmallIntegerField(
        choices=KioskDevice.PaperWidth.choices, default=KioskDevice.PaperWidth.MM80
    )
    # Where the slip's QR code leads (the visit's page), made from the kiosk's request:
    # the worker has no request to build an absolute address from.
    qr_url = models.URLField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    tried_at = models.DateTimeField(null=True, blank=True)
    printed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Print {self.token_id} on {self.printer_host}: {self.status}"
