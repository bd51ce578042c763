"""The end-of-day report page: figures from appointments.reports, two server-rendered SVG
bar charts (no JavaScript, nothing from a CDN), a CSV download and a print layout."""

import csv
import re
from dataclasses import dataclass

from django.http import HttpResponse
from django.utils import dateformat, timezone
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET

from appointments import reports
from appointments.views import render_reception, requested_day
from hospital.clock import local_today
from hospital.roles import reception_required


def minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# --- Charts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as written on the chart
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]
    axis: tuple[float, float, float, float]  # x1, y1, x2, y2 of the baseline


def column_chart(title, description, items, *, width=560, height=240) -> Chart:
    """Vertical bars, one per (label, value, text); labels under, values over."""
    top, bottom, left, right = 24, 28, 8, 8
    plot = height - top - bottom
    peak = max((value for _, value, _ in items), default=0) or 1
    slot = (width - left - right) / max(1, len(items))
    bar_width = min(slot * 0.62, 56)
    bars = []
    for i, (label, value, text) in enumerate(items):
        h = plot * value / peak
        x = left + i * slot + (slot - bar_width) / 2
        y = top + plot - h
        centre = x + bar_width / 2
        bars.append(
            Bar(label, value, text, round(x, 1), round(y, 1), round(bar_width, 1), round(h, 1),
                round(centre, 1), height - 10, round(centre, 1), round(y - 6, 1))
        )  # fmt: skip
    return Chart(
        title, description, width, height, bars, (left, top + plot, width - right, top + plot)
    )


def row_chart(title, description, items, *, width=560, label_width=190, row=30) -> Chart:
    """Horizontal bars, one per (label, value, text): long labels (doctors' names) fit."""
    top, right = 8, 70
    height = top * 2 + row * max(1, len(items))
    peak = max((value for _, value, _ in items), default=0) or 1
    plot = width - label_width - right
    bars = []
    for i, (label, value, text) in enumerate(items):
        w = plot * value / peak
        y = top + i * row + row * 0.18
        h = row * 0.64
        bars.append(
            Bar(label, value, text, label_width, round(y, 1), round(w, 1), round(h, 1),
                label_width - 8, round(y + h / 2 + 4, 1), round(label_width + w + 6, 1),
                round(y + h / 2 + 4, 1))
        )  # fmt: skip
    return Chart(
        title, description, width, height, bars, (label_width, top, label_width, height - top)
    )


def charts(report: reports.DailyReport) -> tuple[Chart | None, Chart | None]:
    per_hour = None
    if report.per_hour:
        per_hour = column_chart(
            gettext("Patients seen per hour"),
            gettext("Consultations completed in each hour of the day."),
            [(h.label, h.patients, str(h.patients)) for h in report.per_hour],
        )
    waits = [r for r in report.doctors if r.average_wait_minutes is not None]
    per_doctor = None
    if waits:
        per_doctor = row_chart(
            gettext("Average wait per doctor (minutes)"),
            gettext("From token to first call, for each doctor's patients."),
            [
                (
                    r.doctor.name,
                    r.average_wait_minutes,
                    gettext("%(minutes)s min") % {"minutes": minutes(r.average_wait_minutes)},
                )
                for r in waits
            ],
        )
    return per_hour, per_doctor


# --- CSV ----------------------------------------------------------------------------------


def csv_response(report: reports.DailyReport) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="opd-report-{report.day:%Y-%m-%d}.csv"'
    out = SafeWriter(response)
    out.writerow(["OPD daily report", report.day.isoformat()])
    out.writerow([])
    out.writerow(["Figure", "Value"])
    out.writerows(report.totals)
    out.writerow([])
    out.writerow(["Cancellation reason", "Count"])
    out.writerows(report.cancellation_reasons)
    out.writerow([])
    out.writerow(
        [
            "Doctor",
            "Department",
            "Appointments",
            "Patients seen",
            "Average wait (min)",
            "Average consultation (min)",
            "Free slots left",
            "Paused (min)",
        ]
    )
    for r in report.doctors:
        out.writerow(
            [
                r.doctor.name,
                r.doctor.department.name,
                r.appointments,
                r.patients_seen,
                "" if r.average_wait_minutes is None else f"{r.average_wait_minutes:.1f}",
                ""
                if r.average_consultation_minutes is None
                else f"{r.average_consultation_minutes:.1f}",
                r.free_slots_left,
                number(r.paused_minutes),
            ]
        )
    out.writerow([])
    out.writerow(["Hour", "Patients seen"])
    out.writerows((h.label, h.patients) for h in report.per_hour)
    # Added after the sections above, so their rows stay where readers expect them.
    out.writerow([])
    out.writerow(
        ["Counter", "Department", "Patients served", "Average wait (min)",
         "Average time at the counter (min)", "Paused (min)"]
    )  # fmt: skip
    for c in report.counters:
        out.writerow(
            [c.counter.name, c.counter.department.name, c.patients_seen,
             number(c.average_wait_minutes), number(c.average_service_minutes),
             number(c.paused_minutes)]
        )  # fmt: skip
    out.writerow([])
    out.writerow(["Visits", "Value"])
    out.writerows(visit_figures(report.visits, blank=""))
    out.writerow([])
    out.writerow(["Department", "Stops called", "Average wait per stop (min)"])
    for w in report.visits.wait_by_department:
        out.writerow([w.department.name, w.stops, number(w.average_wait_minutes)])
    out.writerow([])
    out.writerow(
        ["Visit started", "Patient", "Source", "Status", "Stops", "Route", "Ended",
         "Door to door (min)", "Wait per stop (min)"]
    )  # fmt: skip
    for row in report.visits.rows:
        out.writerow(
            [clock(row.started_at), row.visit.patient_name, row.visit.get_source_display(),
             row.visit.get_status_display(), row.stops, " > ".join(row.route),
             clock(row.ended_at), number(row.door_to_door_minutes), waits_text(row)]
        )  # fmt: skip
    return response


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def clock(moment) -> str:
    """A time of day on the hospital's clock (settings.TIME_ZONE), as every page shows it."""
    return "" if moment is None else f"{timezone.localtime(moment):%H:%M}"


def waits_text(row: reports.VisitRow) -> str:
    return "; ".join(
        f"{wait.department.code} {number(wait.minutes) or 'not called'}" for wait in row.waits
    )


def visit_figures(visits: reports.VisitSummary, *, blank: str = "—") -> list[tuple[str, object]]:
    def shown(value):
        return blank if value is None else f"{value:.1f}"

    return [
        (gettext_noop("Visits"), visits.count),
        *visits.by_stops,
        (gettext_noop("Median door to door (min)"), shown(visits.median_door_to_door_minutes)),
        (gettext_noop("Mean door to door (min)"), shown(visits.mean_door_to_door_minutes)),
    ]


# CSV injection (OWASP): a spreadsheet runs a cell that begins with one of these as a
# formula. A cell "begins" at the start of the text, and also after any character a
# spreadsheet might take as its list separator (comma, semicolon, tab) or as a line break:
# a Hindi or German locale splits "x;=cmd" into "x" and "=cmd". Every such place gets a
# "'" before the trigger (spaces before it do not hide it), so the cell reads as text
# however it is split; the rows are also written fully quoted, so a spreadsheet that does
# honour quotes keeps each cell whole.
FORMULA_START = re.compile(r"(^|[,;\t\r\n])(\s*)(?=[=+\-@\t\r])")


def _safe(value):
    """A cell a spreadsheet will not run as a formula, whatever its list separator."""
    if not isinstance(value, str):
        return value  # numbers are written by us
    return FORMULA_START.sub(r"\1\2'", value)


class SafeWriter:
    """csv.writer whose every cell goes through _safe, quoted."""

    def __init__(self, stream):
        self.writer = csv.writer(stream, quoting=csv.QUOTE_ALL)

    def writerow(self, row) -> None:
        self.writer.writerow([_safe(cell) for cell in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


# --- Page ---------------------------------------------------------------------------------


@require_GET
@reception_required
def daily_report(request):
    day = requested_day(request)
    report = reports.daily_report(day)
    if request.GET.get("format") == "csv":
        return csv_response(report)
    per_hour, per_doctor = charts(report)
    return render_reception(
        request,
        "appointments/report_daily.html",
        {
            "title": gettext("Daily report, %(day)s") % {"day": dateformat.format(day, "d M Y")},
            "day": day,
            "is_today": day == local_today(),
            "report": report,
            "doctor_rows": [
                {
                    "row": r,
                    "wait": minutes(r.average_wait_minutes),
                    "consultation": minutes(r.average_consultation_minutes),
                }
                for r in report.doctors
            ],
            "per_hour": per_hour,
            "per_doctor": per_doctor,
            "counter_rows": [
                {
                    "row": c,
                    "wait": minutes(c.average_wait_minutes),
                    "service": minutes(c.average_service_minutes),
                }
                for c in report.counters
            ],
            "visit_figures": visit_figures(report.visits),
            "department_waits": [
                {"row": w, "wait": minutes(w.average_wait_minutes)}
                for w in report.visits.wait_by_department
            ],
            "visit_rows": [
                {
                    "row": row,
                    "door_to_door": minutes(row.door_to_door_minutes),
                    "waits": [(w.department.code, w.place, minutes(w.minutes)) for w in row.waits],
                }
                for row in report.visits.rows
            ],
        },
    )
