"""What a department's screens show, computed once per change.

`public_state` goes to TVs, boards and patients' phones: display numbers, rooms,
statuses, counts and waits; a name only as initials; never a mobile number.
"""

import datetime

from django.db.models import Value
from django.utils import timezone

from hospital.clock import local_today
from hospital.models import Counter, Department, Doctor
from queues.models import Token
from queues.reading import average_consultation_minutes, calling_sequence, doctors_on_duty

# How many upcoming tokens a TV lists under "Next".
NEXT_SHOWN = 6


def public_state(department: Department, day: datetime.date | None = None) -> dict:
    day = day or local_today()
    serving = (
        Token.objects.filter(
            department=department, service_date=day, status__in=Token.OPEN_STATUSES
        )
        .select_related("doctor", "counter", "category")
        .order_by("doctor__room", "counter__name", "called_at")
    )
    line = calling_sequence(department, day)
    queue = [(t.number, t.priority) for t in line]
    skipped = Token.objects.filter(
        department=department, service_date=day, status=Token.Status.SKIPPED
    ).values_list("number", flat=True)
    per_patient = average_consultation_minutes(department, day)
    doctors = doctors_on_duty(department)
    code = department.code
    queue_numbers = [Token.format_number(code, number) for number, _ in queue]
    return {
        "type": "state",
        "version": department.state_version,
        "date": day.isoformat(),
        "generated_at": timezone.now().isoformat(),
        "department": {
            "slug": department.slug,
            "code": code,
            "name": department.name,
            "kind": department.kind,
        },
        "serving": [
            {
                "token": t.display_number,
                "room": t.doctor.room if t.doctor else "",
                # Where to go, as the screens say it: "Room 4", "Counter 2".
                "place": t.place,
                "doctor": t.doctor.name if t.doctor else "",
                "status": t.status,
                "initials": t.masked_name,
                "called_at": t.called_at.isoformat() if t.called_at else None,
                # Moves on when staff press "call again": the TV announces it once more.
                "announced_at": t.announced_at.isoformat() if t.announced_at else None,
                "category": t.category.label if t.category else "",
            }
            for t in serving
        ],
        # The whole waiting line in calling order, as display numbers only: a patient's
        # phone finds its own position in it.
        "queue": queue_numbers,
        # Each waiting token's priority category as words ("★ Senior citizen (60+)"),
        # general ones left out; screens show the word, never colour alone.
        "categories": {
            Token.format_number(code, t.number): t.category.label for t in line if t.category
        },
        "emergencies": [
            shown
            for shown, (_, priority) in zip(queue_numbers, queue, strict=True)
            if priority == Token.Priority.EMERGENCY
        ],
        # Called but not there: the TV asks them to see reception, their phone says so.
        "skipped": [Token.format_number(code, number) for number in sorted(skipped)],
        "waiting_count": len(queue),
        "doctors_on_duty": doctors,
        "minutes_per_patient": round(per_patient, 1),
        "next": queue_numbers[:NEXT_SHOWN],
        # Desks that stepped away, in neutral words: "Dr. Rao, Room 4: on a ward round,
        # back about 11:30".
        "notices": desk_notices(department, day),
    }


# How a screen says why a desk is away: the offered reasons only. A reason typed in the
# person's own words stays on their terminal and in the log; patients read "away".
NOTICE_WORDS = {
    "ward round": "on a ward round",
    "theatre": "in theatre",
    "break": "on a break",
    "emergency call": "on an emergency call",
    "starting late": "starting late",
}


def notice_text(reason: str, back_at: datetime.datetime | None, day: datetime.date) -> str:
    words = NOTICE_WORDS.get(reason, "away")
    # A time from another day (a pause nobody ended) would mislead: left out.
    if back_at and timezone.localdate(back_at) == day:
        when = f"{timezone.localtime(back_at):%H:%M}"
        words += f", expected about {when}" if words == "starting late" else f", back about {when}"
    return words


def desk_notices(department: Department, day: datetime.date | None = None) -> list[dict]:
    """The department's paused desks, for TVs, boards and patients' phones."""
    return notices_by_department([department], day)[department.pk]


def notices_by_department(departments, day: datetime.date | None = None) -> dict[int, list]:
    """desk_notices of several departments in one query (the progress board counts its
    queries): paused doctors, then paused counters, by room or name."""
    day = day or local_today()
    notices: dict[int, list] = {d.pk: [] for d in departments}
    fields = ["department_id", "name", "pause_reason", "back_at"]
    doctors = (
        Doctor.objects.filter(department__in=departments, paused_at__isnull=False)
        .annotate(kind=Value(0))
        .order_by()
        .values_list(*fields, "room", "kind")
    )
    counters = (
        Counter.objects.filter(department__in=departments, is_active=True, paused_at__isnull=False)
        .annotate(place=Value(""), kind=Value(1))
        .order_by()
        .values_list(*fields, "place", "kind")
    )
    rows = doctors.union(counters, all=True).order_by("kind", "room", "name")
    for department_id, name, reason, back_at, room, kind in rows:
        # A counter's name is its place ("Counter 2"): said once.
        place = f"Room {room}" if kind == 0 else ""
        notices[department_id].append(
            {"who": name, "place": place, "text": notice_text(reason, back_at, day)}
        )
    return notices
