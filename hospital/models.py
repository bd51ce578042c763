import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hospital.languages import localized

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Bit i set = open on weekday i (Monday = 0), as date.weekday() numbers them.
ALL_WEEKDAYS = 0b1111111
MON_TO_SAT = 0b0111111


class Department(models.Model):
    class Kind(models.TextChoices):
        CLINICAL = "clinical", _("Clinical (doctors in rooms)")
        SERVICE = "service", _("Service (counters: laboratory, pharmacy, billing…)")

    name = models.CharField(max_length=100, unique=True)
    # The name in each patient language (hospital.languages.localized); empty: English.
    name_hi = models.CharField("name in Hindi", max_length=100, blank=True)
    name_ta = models.CharField("name in Tamil", max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CLINICAL)
    code = models.CharField(
        max_length=6,
        unique=True,
        help_text="Short code printed on tokens, e.g. ORTH for ORTH-007.",
    )
    slug = models.SlugField(max_length=100, unique=True, blank=True)
    is_active = models.BooleanField("active", default=True)
    open_weekdays = models.PositiveSmallIntegerField(
        default=MON_TO_SAT,
        validators=[MaxValueValidator(ALL_WEEKDAYS)],
        help_text="Weekdays the OPD is open.",
    )
    daily_token_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Leave empty for no limit."
    )
    # The quota rule of the calling policy (queues.reading): a token of a "one after every
    # N general tokens" category is called ahead of general tokens once N of them have
    # been called since the last such token.
    priority_interval = models.PositiveSmallIntegerField(
        "priority quota: one after every N general tokens",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    # A patient who gave a mobile is sent "your turn is near" once this many are ahead.
    near_turn_ahead = models.PositiveSmallIntegerField(
        "SMS 'your turn is near' when this many are ahead",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    booking_window_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(90)],
        help_text="How many days ahead a token can be taken (0 = today only).",
    )
    # Goes up by one on every change to this department's queue; live screens use it
    # to notice a missed update. Kept in the database so it survives restarts and is
    # shared by every server process.
    state_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Goes up with the changes every desk's terminal shows (the waiting and skipped
    # lists); a change only one desk shows moves that desk's panel_version instead
    # (queues.versions).
    queue_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.code = self.code.strip().upper()
        if not self.slug:
            self.slug = slugify(self.code)
        super().save(*args, **kwargs)

    def is_open_on(self, day: datetime.date) -> bool:
        return self.is_open_on_weekday(day.weekday())

    def is_open_on_weekday(self, weekday: int) -> bool:
        return bool(self.open_weekdays & (1 << weekday))

    @property
    def open_weekday_names(self) -> list[str]:
        return [name for i, name in enumerate(WEEKDAY_NAMES) if self.open_weekdays & (1 << i)]

    @property
    def is_service(self) -> bool:
        return self.kind == self.Kind.SERVICE


class Pausable(models.Model):
    """A doctor or a counter that can step away: a ward round, theatre, a break, or a late
    start. While paused their queue waits (other desks of the department go on calling)
    and the screens say so, neutrally. Changed only by queues.breaks."""

    pause_reason = models.CharField(max_length=80, blank=True, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When they expect to be back, as told to the patients ("back about 11:30").
    back_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Goes up with each change only this desk's terminal shows: its patient started or
    # completed, its pause (queues.versions).
    panel_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        abstract = True

    @property
    def is_paused(self) -> bool:
        return bool(self.paused_at)


class Doctor(Pausable):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="doctor"
    )
    name = models.CharField(max_length=100)
    specialization = models.CharField(max_length=100, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="doctors")
    room = models.CharField(max_length=20, help_text="Shown on the TV: 'go to room 4'.")
    on_duty = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def place(self) -> str:
        """Where the patient goes, as screens and slips say it: "Room 4" (in the active
        language)."""
        return gettext("Room %(room)s") % {"room": self.room}


class Counter(Pausable):
    """A place where a service department serves patients: "Counter 2", "Window B",
    "X-ray room 1". Its name is what the display shows after the token's arrow."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="counters")
    name = models.CharField(max_length=40, help_text="Shown on the TV: LAB-012 → Counter 2.")
    name_hi = models.CharField("name in Hindi", max_length=40, blank=True)
    name_ta = models.CharField("name in Tamil", max_length=40, blank=True)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["department", "name"]
        constraints = [
            models.UniqueConstraint(fields=["department", "name"], name="unique_counter_name")
        ]

    def __str__(self) -> str:
        return f"{self.department.code} {self.name}"

    @property
    def place(self) -> str:
        return localized(self, "name")


class CounterStaff(models.Model):
    """A member of a service department's staff (laboratory, pharmacy, billing…), who
    works one of their department's counters at a time."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="counter_staff"
    )
    name = models.CharField(max_length=100)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="counter_staff"
    )
    counter = models.ForeignKey(
        Counter,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff",
        help_text="The counter they work now; they can change it on their terminal.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "counter staff"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.counter_id and self.counter.department_id != self.department_id:
            raise ValidationError({"counter": "Choose a counter of the staff member's department."})


class Roles:
    """Names of the Django groups that carry each staff role."""

    DOCTOR = "Doctor"
    RECEPTIONIST = "Receptionist"
    HOSPITAL_ADMIN = "Hospital admin"
    COUNTER = "Counter staff"
    SUPERVISOR = "Supervisor"
    ALL = [DOCTOR, RECEPTIONIST, HOSPITAL_ADMIN, COUNTER, SUPERVISOR]


def is_doctor(user) -> bool:
    return user.is_authenticated and user.is_active and hasattr(user, "doctor")


def is_counter_staff(user) -> bool:
    return user.is_authenticated and user.is_active and hasattr(user, "counter_staff")


class WorkerHeartbeat(models.Model):
    """When the background worker last ran its every-minute heartbeat task (one row).

    /readyz reads it: a worker that stopped, or whose scheduler no longer hands out tasks,
    stops moving it, and the hospital's monitoring hears so before the outbox piles up."""

    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Worker heartbeat at {self.beat_at:%Y-%m-%d %H:%M:%S}"
