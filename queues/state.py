"""What a department's screens show, computed once per change.

`public_state` goes to TVs, boards and patients' phones: display numbers, rooms,
statuses, counts and waits; a name only as initials; never a mobile number.
"""

import datetime

from django.conf import settings
from django.db.models import Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from hospital.clock import local_today
from hospital.languages import all_names, current_language
from hospital.models import Counter, Department, Doctor
from queues.announce import announcement
from queues.models import Token
from queues.reading import average_consultation_minutes, calling_sequence, doctors_on_duty

# How many upcoming tokens a TV lists under "Next".
NEXT_SHOWN = 6
# How many of the latest calls a TV lists, so a patient who looked away finds theirs.
RECENT_CALLS = 8


def public_state(department: Department, day: datetime.date | None = None) -> dict:
    """The department's state for every screen. It is serialised once per change and
    sent to TVs and phones whatever language they show, so it is made in the hospital's
    default language (the English keys other screens read) with every name a screen
    shows also given per language (`names`, `places`, `category_labels`, `texts`)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _public_state(department, day or local_today())


def places(token: Token) -> dict[str, str]:
    """Where a called token goes, in every language: "Room 4" / "कमरा 4" / "அறை 4", or
    the counter's name in each."""
    if token.counter_id:
        return all_names(token.counter)
    if token.doctor_id:
        return room_names(token.doctor.room)
    return {code: "" for code in settings.PATIENT_LANGUAGES}


def room_names(room: str) -> dict[str, str]:
    names = {}
    for code in settings.PATIENT_LANGUAGES:
        with translation.override(code):
            names[code] = gettext("Room %(room)s") % {"room": room}
    return names


def place_kind(token: Token) -> str:
    return "counter" if token.counter_id else "room" if token.doctor_id else ""


def category_labels(category) -> dict[str, str]:
    return {code: category.label_in(code) for code in settings.PATIENT_LANGUAGES}


def recent_calls(department: Department, day: datetime.date) -> list[dict]:
    """The department's latest calls today, newest first (called or called again),
    whether the patient is still in or done since: the TV's "last calls" list."""
    tokens = (
        Token.objects.filter(department=department, service_date=day, called_at__isnull=False)
        .select_related("department", "doctor", "counter")
        .annotate(last_call=Greatest("called_at", Coalesce("announced_at", "called_at")))
        .order_by("-last_call", "-pk")[:RECENT_CALLS]
    )
    return [
        {
            "token": t.display_number,
            "place": t.place,
            "places": places(t),
            "called_at": t.last_call.isoformat(),
        }
        for t in tokens
    ]


def _public_state(department: Department, day: datetime.date) -> dict:
    serving = (
        Token.objects.filter(
            department=department, service_date=day, status__in=Token.OPEN_STATUSES
        )
        .select_related("department", "doctor", "counter", "category")
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
    notices = notices_in_languages(department, day)
    return {
        "type": "state",
        "version": department.state_version,
        "date": day.isoformat(),
        "generated_at": timezone.now().isoformat(),
        "department": {
            "slug": department.slug,
            "code": code,
            "name": department.name,
            # The name in every language: a TV in Tamil shows its own.
            "names": all_names(department),
            "kind": department.kind,
        },
        "serving": [
            {
                "token": t.display_number,
                "room": t.doctor.room if t.doctor else "",
                # Where to go, as the screens say it: "Room 4", "Counter 2" (English;
                # every language under serving_details).
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
        # More about each token served, by its number (a separate map so the entries
        # above keep their shape): where it goes in every language, its category in
        # every language, and its spoken call as clips per language (queues.announce).
        "serving_details": {
            t.display_number: {
                "place_kind": place_kind(t),
                "places": places(t),
                "category_labels": category_labels(t.category) if t.category else {},
                "announce": announcement(t, code=code) if t.status == Token.Status.CALLED else {},
            }
            for t in serving
        },
        "recent_calls": recent_calls(department, day),
        # The whole waiting line in calling order, as display numbers only: a patient's
        # phone finds its own position in it.
        "queue": queue_numbers,
        # Each waiting token's priority category as words ("★ Senior citizen (60+)"),
        # general ones left out; screens show the word, never colour alone.
        "categories": {
            Token.format_number(code, t.number): t.category.label for t in line if t.category
        },
        "category_labels": {
            Token.format_number(code, t.number): category_labels(t.category)
            for t in line
            if t.category
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
        "notices": notices[settings.LANGUAGE_CODE],
        # The same notices in every language ({"hi": [...], ...}), for screens in another.
        "notices_by_language": notices,
    }


# How a screen says why a desk is away: the offered reasons only. A reason typed in the
# person's own words stays on their terminal and in the log; patients read "away".
NOTICE_WORDS = {
    "ward round": gettext_lazy("on a ward round"),
    "theatre": gettext_lazy("in theatre"),
    "break": gettext_lazy("on a break"),
    "emergency call": gettext_lazy("on an emergency call"),
    "starting late": gettext_lazy("starting late"),
}
# Translators: a desk's notice on the TV, e.g. "on a break, back about 11:30".
BACK_ABOUT = pgettext_lazy("desk notice", "%(words)s, back about %(time)s")
# Translators: a doctor's notice on the TV: "starting late, expected about 10:45".
EXPECTED_ABOUT = pgettext_lazy("desk notice", "%(words)s, expected about %(time)s")


def notice_text(reason: str, back_at: datetime.datetime | None, day: datetime.date) -> str:
    """The notice in the active language."""
    words = str(NOTICE_WORDS.get(reason, gettext_lazy("away")))
    # A time from another day (a pause nobody ended) would mislead: left out.
    if back_at and timezone.localdate(back_at) == day:
        when = f"{timezone.localtime(back_at):%H:%M}"
        form = EXPECTED_ABOUT if reason == "starting late" else BACK_ABOUT
        words = str(form) % {"words": words, "time": when}
    return words


def desk_notices(department: Department, day: datetime.date | None = None) -> list[dict]:
    """The department's paused desks, for TVs, boards and patients' phones."""
    return notices_by_department([department], day)[department.pk]


def notices_by_department(departments, day: datetime.date | None = None) -> dict[int, list]:
    """desk_notices of several departments in one query (the progress board counts its
    queries), in the active language: paused doctors, then paused counters, by room or
    name."""
    day = day or local_today()
    notices: dict[int, list] = {d.pk: [] for d in departments}
    for row in _paused_desks(departments):
        notices[row[0]].append(_notice(row, day))
    return notices


def notices_in_languages(department: Department, day: datetime.date) -> dict[str, list]:
    """The department's notices in every patient language, from one query: a TV or a
    phone shows the ones in its own."""
    rows = list(_paused_desks([department]))
    result = {}
    for code in settings.PATIENT_LANGUAGES:
        with translation.override(code):
            result[code] = [_notice(row, day) for row in rows]
    return result


def _paused_desks(departments):
    fields = ["department_id", "name", "name_hi", "name_ta", "pause_reason", "back_at"]
    doctors = (
        Doctor.objects.filter(department__in=departments, paused_at__isnull=False)
        .annotate(name_hi=Value(""), name_ta=Value(""), kind=Value(0))
        .order_by()
        .values_list(*fields, "room", "kind")
    )
    counters = (
        Counter.objects.filter(department__in=departments, is_active=True, paused_at__isnull=False)
        .annotate(place=Value(""), kind=Value(1))
        .order_by()
        .values_list(*fields, "place", "kind")
    )
    return doctors.union(counters, all=True).order_by("kind", "room", "name")


def _notice(row, day: datetime.date) -> dict:
    _, name, name_hi, name_ta, reason, back_at, room, kind = row
    names = {"hi": name_hi, "ta": name_ta}
    # A counter's name is its place ("Counter 2"): said once, in the language if given.
    who = name if kind == 0 else names.get(current_language()) or name
    place = gettext("Room %(room)s") % {"room": room} if kind == 0 else ""
    return {"who": who, "place": place, "text": notice_text(reason, back_at, day)}
