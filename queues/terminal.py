"""The staff terminals' panel: a doctor's (/doctor/) and a service counter's (/counter/).

One context builder and one partial template (queues/_desk_panel.html) are shared by the
pages and the panels their scripts fetch when the live socket (/ws/doctor/, /ws/counter/)
says the department changed, so both always show the same.
"""

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import get_language, gettext, gettext_lazy

from hospital.clock import local_today
from hospital.models import Counter, CounterStaff, Department, Doctor
from queues import breaks, reading, versions, visits
from queues.models import PriorityCategory, Token, VisitStop
from queues.reading import Desk
from queues.services import QueueError, lock_departments

# How the waiting list marks a patient who did not just walk in.
STOP_MARKS = {
    # Translators: a mark beside a patient sent back to the doctor for review.
    VisitStop.Kind.REVIEW: gettext_lazy("Review"),
    # Translators: a mark beside a patient referred by another doctor.
    VisitStop.Kind.REFERRAL: gettext_lazy("Referred"),
    # Translators: a mark beside a patient sent here from another stop of their visit.
    VisitStop.Kind.SENT: gettext_lazy("Sent on"),
}

# The offered reasons for a pause (queues.breaks.REASONS) in the terminal's language.
# Translators: reasons a doctor steps away, in lower case: shown in "You are paused:
# ward round, back about 11:30." and, with a capital, in the terminal's menu.
PAUSE_REASON_LABELS = {
    "ward round": gettext_lazy("ward round"),
    "theatre": gettext_lazy("theatre"),
    "break": gettext_lazy("break"),
    "emergency call": gettext_lazy("emergency call"),
}


def minutes_or_dash(value: float | None) -> str:
    if value is None:
        return "—"
    return gettext("%(minutes)s min") % {"minutes": f"{value:.0f}"}


def skipped_today(department, day) -> list[Token]:
    return list(
        Token.objects.filter(
            department=department, service_date=day, status=Token.Status.SKIPPED
        ).select_related("department")
    )


def current_patient(desk: Desk) -> dict | None:
    """The patient in front of the desk, with what staff need to know: the reason typed
    at booking, how they came, the note the previous stop left, and today's stops. (Two
    queries: the token with its joins, then the visit's stops, its own among them; the
    panel is re-rendered for every desk on every change.)"""
    token = reading.open_token_for(desk, "appointment", "visit")
    if token is None:
        return None
    stops = visits.stops_of(token.visit) if token.visit_id else []
    # A stop's token is always of the stop's visit.
    stop = next((s for s in stops if s.token_id == token.pk), None)
    return {
        "token": token,
        "reason": token.appointment.reason if token.appointment_id else "",
        "source": token.visit.get_source_display() if token.visit_id else "",
        "note": stop.note if stop else "",
        "mark": STOP_MARKS.get(stop.kind, "") if stop else "",
        "stops": stops,
    }


def desk_figures(desk: Desk, day) -> reading.DayFigures:
    if isinstance(desk, Doctor):
        return reading.doctor_figures(desk, day)
    return reading.day_figures(Token.objects.filter(counter=desk, service_date=day))


def category_choices(chosen: int | None) -> str:
    """The <option>s of a waiting token's category box (its own page, queues/category.html),
    `chosen` selected (General when the token has none)."""
    categories = PriorityCategory.objects.filter(is_active=True)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (
                c.pk,
                " selected" if c.pk == chosen or (chosen is None and c.means_general) else "",
                c.label,
            )
            for c in categories
        ),
    )


def waiting_rows(
    department: Department, day, desk: Desk | None, category_action: str
) -> list[dict]:
    """The waiting list in calling order, each row with what the template shows. Per row
    the template engine's own work (a URL reversed, a time formatted three ways, a phrase
    translated) was most of a long queue's: done here instead, once per row or once per
    list."""
    tokens = reading.calling_sequence(department, day, desk=desk)
    # One URL reversed, the others made from it: only the token's id differs.
    placeholder = "00000000-0000-0000-0000-000000000000"
    category_url = reverse(category_action, args=[placeholder])
    now = timezone.now()
    rows = []
    for token in tokens:
        stop = getattr(token, "stop", None)
        since = reading.wait_started(token)
        rows.append(
            {
                "token": token,
                "since": since,
                "since_iso": timezone.localtime(since).isoformat(),
                "waited": timesince(since, now),
                "mark": STOP_MARKS.get(stop.kind, "") if stop else "",
                "category_url": category_url.replace(placeholder, str(token.public_id)),
                "category_label": gettext("the category of %(number)s")
                % {"number": token.display_number},
            }
        )
    return rows


def paused_text(desk: Desk | None) -> str:
    """What the terminal of a paused desk says: "You are paused: ward round, back about
    11:30" (its own words, which the public screens do not show)."""
    if desk is None or not desk.is_paused:
        return ""
    back = f"{timezone.localtime(desk.back_at):%H:%M}" if desk.back_at else ""
    if desk.pause_reason == breaks.LATE_REASON:
        if back:
            return gettext("You are starting late, at about %(time)s.") % {"time": back}
        return gettext("You are starting late.")
    # An offered reason in the terminal's language; the person's own words as typed.
    reason = str(PAUSE_REASON_LABELS.get(desk.pause_reason, desk.pause_reason))
    if back:
        return gettext("You are paused: %(reason)s, back about %(time)s.") % {
            "reason": reason,
            "time": back,
        }
    return gettext("You are paused: %(reason)s.") % {"reason": reason}


ACTIONS = [
    "call_next", "start", "complete", "skip", "recall", "pause", "resume", "late",
    "call_again", "category",
]  # fmt: skip


def terminal_actions(prefix: str) -> dict[str, str]:
    """Each button's URL name on the "doctor" or "counter" terminal."""
    return {name: f"{prefix}_{name}" for name in ACTIONS}


def lists_context(department: Department, desk: Desk | None, prefix: str, today) -> dict:
    """The department's lists as a desk sees them: the waiting list in its calling order
    and today's skipped, with the buttons only when there is a desk."""
    return {
        "desk": desk,
        "actions": terminal_actions(prefix),
        "waiting": waiting_rows(department, today, desk, f"{prefix}_category"),
        "skipped": skipped_today(department, today),
    }


def shared_lists(kind: str, department: Department, desk: Desk | None, queue_key: str) -> dict:
    """The department's lists as `desk` sees them, rendered: the waiting numbers, the
    lists' HTML and the idle card's line about the queue. A change to the queue sends
    every desk of the department for them at once, so each process renders them once per
    queue version (`queue_key`, the first part of the panel's key): for every counter of
    the department together (theirs is the pool), for each doctor alone (theirs holds
    their own booked patients). The HTML carries no CSRF token, so any of them may be
    sent it."""
    sees = f"d{desk.pk}" if isinstance(desk, Doctor) else ("pool" if desk else "none")
    today = local_today()
    key = f"{kind}:{department.pk}:{today}:{queue_key}:{sees}:{get_language()}"
    lists = caches["terminals"].get(key)
    if lists is None:
        context = lists_context(department, desk, kind, today)
        lists = {
            "waiting": [row["token"].display_number for row in context["waiting"]],
            "html": render_to_string("queues/_desk_lists.html", context),
            "note": render_to_string("queues/_queue_note.html", context),
        }
        caches["terminals"].set(key, lists)
    # Our own rendering, kept as text.
    return {**lists, "html": mark_safe(lists["html"]), "note": mark_safe(lists["note"])}


def panel_context(desk: Desk | None, *, staff: CounterStaff | None = None) -> dict:
    """What a terminal shows. `desk` is the doctor, or the counter the staff member works
    now (None: they have not chosen one, and see the queue without its buttons)."""
    from queues.forms import CounterChoiceForm, SendOnForm

    today = local_today()
    is_counter = not isinstance(desk, Doctor)
    department = staff.department if is_counter else desk.department
    figures = desk_figures(desk, today) if desk is not None else None
    current = current_patient(desk) if desk is not None else None
    prefix = "counter" if is_counter else "doctor"
    context = {
        "desk": desk,
        "doctor": None if is_counter else desk,
        "counter": desk if is_counter else None,
        "staff": staff,
        "is_counter": is_counter,
        "department": department,
        "actions": terminal_actions(prefix),
        "paused_text": paused_text(desk),
        "pause_reasons": [(r, PAUSE_REASON_LABELS.get(r, r)) for r in breaks.REASONS],
        "current": current["token"] if current else None,
        "patient": current,
        "figures": figures,
        "average_wait": minutes_or_dash(figures and figures.average_wait_minutes),
        "average_consultation": minutes_or_dash(figures and figures.average_consultation_minutes),
        "today": today,
        "now": timezone.now(),
    }
    if current and current["token"].status == Token.Status.IN_CONSULTATION:
        context["send_on_form"] = SendOnForm(desk=desk)
    if is_counter:
        context["counter_form"] = CounterChoiceForm(staff=staff)
    return context


def counter_of(staff: CounterStaff) -> Counter | None:
    """The counter the staff member works now, if it is one they may work: an active
    counter of their own department."""
    counter = staff.counter
    if counter is None or not counter.is_active or counter.department_id != staff.department_id:
        return None
    return counter


def load_counter_staff(staff_id: int) -> CounterStaff:
    return CounterStaff.objects.select_related("department", "counter", "user").get(pk=staff_id)


def doctor_lists(doctor_id: int) -> dict:
    """The lists alone, for a doctor's terminal whose key moved on only in its queue
    part, with the department's version and the panel's key read before them
    (queues.versions); and the doctor."""
    doctor = Doctor.objects.select_related("department").get(pk=doctor_id)
    version, key = versions.doctor_versions(doctor)
    lists = shared_lists("doctor", doctor.department, doctor, versions.queue_part(key))
    return {"version": version, "panel_key": key, "lists": lists, "desk": doctor}


def counter_lists(staff_id: int) -> dict:
    """As doctor_lists, for a counter staff member, at the counter they work now (read
    afresh, so a change of counter shows at once); and the staff member."""
    staff = load_counter_staff(staff_id)
    version, key = versions.staff_versions(staff)
    counter = counter_of(staff)
    lists = shared_lists("counter", staff.department, counter, versions.queue_part(key))
    return {"version": version, "panel_key": key, "lists": lists, "desk": counter, "staff": staff}


def doctor_panel(doctor_id: int) -> dict:
    """A doctor's whole panel context: their own part, and the lists with the versions."""
    context = doctor_lists(doctor_id)
    return {**panel_context(context["desk"]), **context}


def counter_panel(staff_id: int) -> dict:
    """A counter staff member's whole panel context, as doctor_panel."""
    context = counter_lists(staff_id)
    return {**panel_context(context["desk"], staff=context["staff"]), **context}


def panel_message(kind: str, context: dict, request: HttpRequest) -> dict:
    """What a terminal's script fetches when its socket says the department changed: the
    re-rendered panel (its forms carry the request's CSRF token) plus the facts a client
    (or a test) can read without parsing HTML."""
    current = context["current"]
    message = {
        "type": kind,
        "version": context["version"],
        "key": context["panel_key"],
        "current": current.display_number if current else None,
        "waiting": context["lists"]["waiting"],
        "html": render_to_string("queues/_desk_panel.html", context, request=request),
    }
    if kind == "counter":
        message["counter"] = context["counter"].name if context["counter"] else None
    return message


def lists_message(kind: str, context: dict) -> dict:
    """What a terminal's script fetches when only its key's queue part moved on: the
    lists to put in place of its own, and the idle card's line (the same for every desk
    that sees the same queue, so no request goes into them)."""
    lists = context["lists"]
    return {
        "type": kind,
        "version": context["version"],
        "key": context["panel_key"],
        "waiting": lists["waiting"],
        "html": lists["html"],
        "note": lists["note"],
    }


def choose_counter(staff: CounterStaff, counter: Counter, *, actor) -> CounterStaff:
    """The staff member now works `counter`. Refused while a patient is still open at the
    counter they leave (nobody would be there to finish them). Recorded in the admin's
    history of the staff record: who changed it, from which counter to which."""
    with transaction.atomic():
        # The department first, as every change to its queue takes it: the version bump
        # below writes its row. Then one change at a time per staff member (two tabs
        # choosing at once). (of=self: PostgreSQL locks no row of a nullable outer join,
        # the counter's.)
        lock_departments(staff.department_id)
        staff = (
            CounterStaff.objects.select_for_update(of=("self",))
            .select_related("counter")
            .get(pk=staff.pk)
        )
        if counter.department_id != staff.department_id or not counter.is_active:
            raise QueueError(gettext("Choose an open counter of your own department."))
        previous = staff.counter
        if previous is not None and previous.pk == counter.pk:
            return staff
        if previous is not None:
            open_token = reading.open_token_for(previous)
            if open_token is not None:
                raise QueueError(
                    gettext(
                        "Finish %(number)s at %(counter)s first: complete it, or skip it "
                        "as a no-show."
                    )
                    % {"number": open_token.display_number, "counter": previous.place}
                )
        staff.counter = counter
        staff.save(update_fields=["counter"])
        LogEntry.objects.create(
            user_id=actor.pk,
            content_type_id=ContentType.objects.get_for_model(CounterStaff).pk,
            object_id=str(staff.pk),
            object_repr=str(staff)[:200],
            action_flag=CHANGE,
            change_message=(
                f"Counter changed from {previous.name if previous else 'none'} "
                f"to {counter.name} on the counter terminal."
            ),
        )
        # The department's desks changed (its waiting estimates count staffed counters):
        # its screens and the other counters' terminals are told, after commit.
        versions.queue_changed(staff.department_id)
    return staff
