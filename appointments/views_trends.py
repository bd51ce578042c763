"""The trends report page: figures from appointments.trends over a range of days, three
server-rendered SVG charts (patients per day by department, the day's median and 90th
percentile wait, patients by weekday and hour as a grid of numbered cells), a table per
department, a CSV download and a print layout. No JavaScript but the Print button."""

import datetime
import math
from dataclasses import dataclass

from django.http import HttpResponse
from django.utils import dateformat
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET

from appointments import trends
from appointments.forms import RangeForm
from appointments.views import render_reception
from appointments.views_reports import SafeWriter
from hospital.clock import local_today
from hospital.languages import localized
from hospital.roles import reception_required

# Okabe-Ito: told apart by most colour-blind readers; every segment also has its name in
# the legend, its tooltip and the table under the chart, so colour is never the only key.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]
OTHER_COLOUR = "#999999"
STACKED = len(PALETTE)  # departments drawn on their own; the rest are "Other"


def minutes(value) -> str:
    return "—" if value is None else f"{value}"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def paused(value: float) -> str:
    return f"{value:.0f}"


def day_label(day: datetime.date) -> str:
    return dateformat.format(day, "d M")


def weekday_name(weekday: int) -> str:
    """Monday is 1; in the page's language (the CSV keeps trends.WEEKDAYS, English)."""
    return dateformat.format(datetime.date(2024, 1, weekday), "D")  # 1 Jan 2024: a Monday


# --- Charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Column:
    title: str
    segments: list[Segment]
    label: str  # "" when this day's label is left out to save room
    label_x: float


@dataclass(frozen=True)
class Series:
    key: str  # legend text
    colour: str


def _day_step(count: int) -> int:
    """Label every n-th day so the labels never overlap (about 14 fit)."""
    return max(1, math.ceil(count / 14))


def stacked_days(result: trends.Trends, *, width=720, height=260):
    """Patients per day as bars, each cut into the largest departments and the rest."""
    top, bottom, left, right = 16, 30, 40, 8
    plot_h = height - top - bottom
    ranked = sorted(result.departments, key=lambda r: -r.figures.patients)
    shown = [r.department for r in ranked[:STACKED] if r.figures.patients]
    colours = {d.pk: PALETTE[i] for i, d in enumerate(shown)}
    series = [Series(localized(d), colours[d.pk]) for d in shown]
    if any(r.figures.patients for r in ranked[STACKED:]):
        series.append(Series(gettext("Other departments"), OTHER_COLOUR))
    peak = max((d.figures.patients for d in result.days), default=0)
    if not peak:
        return None
    slot = (width - left - right) / len(result.days)
    bar_w = max(min(slot * 0.7, 40), 1)
    step = _day_step(len(result.days))
    names = {r.department.pk: r.department.code for r in result.departments}
    columns = []
    for i, day in enumerate(result.days):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        segments = []
        parts = [(d.pk, day.patients_by_department.get(d.pk, 0), colours[d.pk]) for d in shown]
        other = sum(n for pk, n in day.patients_by_department.items() if pk not in colours)
        parts.append((None, other, OTHER_COLOUR))
        for pk, n, colour in parts:
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            name = names[pk] if pk else gettext("Other")
            segments.append(
                Segment(round(x, 1), round(y, 1), round(bar_w, 1), round(h, 1), colour,
                        f"{day_label(day.day)}, {name}: {n}")
            )  # fmt: skip
        breakdown = ", ".join(
            f"{names[pk]} {n}" for pk, n in sorted(day.patients_by_department.items(),
                                                   key=lambda item: -item[1]) if n
        )  # fmt: skip
        title = ngettext(
            "%(day)s: %(count)s patient", "%(day)s: %(count)s patients", day.figures.patients
        ) % {"day": day_label(day.day), "count": day.figures.patients}
        if breakdown:
            title += f" ({breakdown})"
        columns.append(
            Column(title, segments, day_label(day.day) if i % step == 0 else "",
                   round(x + bar_w / 2, 1))
        )  # fmt: skip
    return {
        "width": width,
        "height": height,
        "columns": columns,
        "series": series,
        "baseline": top + plot_h,
        "ticks": _ticks(peak, top, plot_h),
        "left": left,
        "right": width - right,
        "label_y": height - 10,
    }


def _ticks(peak: float, top: float, plot_h: float) -> list[dict]:
    """Three gridlines at round numbers, with their values written on the axis."""
    raw = peak / 3
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks, value = [], step
    while value <= peak:
        ticks.append({"y": round(top + plot_h - plot_h * value / peak, 1), "text": f"{value:g}"})
        value += step
    return ticks


def wait_lines(result: trends.Trends, *, width=720, height=240):
    """The day's median and 90th-percentile wait as two lines (solid and dashed), with
    a dot and a tooltip per day; a day nobody was called breaks the lines."""
    top, bottom, left, right = 16, 30, 40, 8
    plot_h = height - top - bottom
    values = [(d.figures.median_wait, d.figures.p90_wait) for d in result.days]
    peak = max((p for _, p in values if p is not None), default=None)
    if peak is None:
        return None
    peak = peak or 1
    slot = (width - left - right) / len(result.days)
    step = _day_step(len(result.days))
    lines = {"median": [], "p90": []}
    points, labels = [], []
    for i, (day, (median, p90)) in enumerate(zip(result.days, values, strict=True)):
        x = round(left + i * slot + slot / 2, 1)
        if i % step == 0:
            labels.append({"x": x, "text": day_label(day.day)})
        for key, value in (("median", median), ("p90", p90)):
            if value is None:
                lines[key].append(None)
                continue
            y = round(top + plot_h - plot_h * value / peak, 1)
            lines[key].append((x, y))
            points.append(
                {"x": x, "y": y, "key": key,
                 "title": gettext("%(day)s: median %(median)s min, 90th percentile %(p90)s min")
                          % {"day": day_label(day.day), "median": minutes(median),
                             "p90": minutes(p90)}}
            )  # fmt: skip
    return {
        "width": width,
        "height": height,
        "median_path": _path(lines["median"]),
        "p90_path": _path(lines["p90"]),
        "points": points,
        "labels": labels,
        "ticks": _ticks(peak, top, plot_h),
        "baseline": top + plot_h,
        "left": left,
        "right": width - right,
        "label_y": height - 10,
    }


def _path(points) -> str:
    parts, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{point[0]} {point[1]}")
        pen_down = True
    return " ".join(parts)


def heatmap(result: trends.Trends, *, cell_w=28, cell_h=24):
    """Weekdays down, hours across, every cell with its number written in it."""
    hours = result.hours
    if not hours:
        return None
    left, top = 40, 20
    peak = max(result.heatmap.values())
    rows = []
    for weekday in range(1, 8):
        cells = []
        for j, hour in enumerate(hours):
            n = result.heatmap.get((weekday, hour), 0)
            shade = 0.08 + 0.8 * n / peak if n else 0
            cells.append(
                {"x": left + j * cell_w, "y": top + (weekday - 1) * cell_h,
                 "n": n, "opacity": f"{shade:.2f}", "dark": shade > 0.5,
                 "title": f"{weekday_name(weekday)} {hour:02d}:00-{hour:02d}:59: {n}"}
            )  # fmt: skip
        rows.append({"label": weekday_name(weekday), "y": top + (weekday - 1) * cell_h,
                     "cells": cells})  # fmt: skip
    return {
        "width": left + cell_w * len(hours) + 4,
        "height": top + cell_h * 7 + 4,
        "cell_w": cell_w,
        "cell_h": cell_h,
        "half_w": cell_w / 2,
        "half_h": cell_h / 2 + 4,
        "rows": rows,
        "hours": [
            {"x": left + j * cell_w + cell_w / 2, "text": f"{h:02d}"} for j, h in enumerate(hours)
        ],
    }


# --- CSV ------------------------------------------------------------------------------------


def csv_response(result: trends.Trends) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="opd-trends-{result.start:%Y-%m-%d}-to-{result.end:%Y-%m-%d}.csv"'
    )
    out = SafeWriter(response)
    out.writerow(["OPD trends", result.start.isoformat(), result.end.isoformat()])
    out.writerow([])
    out.writerow(DEPARTMENT_HEADER)
    for row in result.departments:
        out.writerow([row.department.name, *_figures_cells(row.figures)])
    out.writerow(["All departments", *_figures_cells(result.total)])
    out.writerow([])
    out.writerow(["Date", "Department", "Patients"])
    names = {r.department.pk: r.department.name for r in result.departments}
    for day in result.days:
        for pk, n in sorted(day.patients_by_department.items(), key=lambda i: names[i[0]]):
            out.writerow([day.day.isoformat(), names[pk], n])
    out.writerow([])
    out.writerow(["Date", *DEPARTMENT_HEADER[1:]])
    for day in result.days:
        out.writerow([day.day.isoformat(), *_figures_cells(day.figures)])
    out.writerow([])
    out.writerow(["Patients by weekday and hour", *(f"{h:02d}:00" for h in result.hours)])
    for weekday, name in enumerate(trends.WEEKDAYS, start=1):
        out.writerow([name, *(result.heatmap.get((weekday, h), 0) for h in result.hours)])
    return response


DEPARTMENT_HEADER = [
    "Department", "Patients", "Tokens issued", "Median wait (min)",
    "90th percentile wait (min)", "No-shows", "No-show rate (%)", "Cancellations",
    "Paused (min)",
]  # fmt: skip


def _figures_cells(f: trends.Figures) -> list:
    return [
        f.patients, f.issued,
        "" if f.median_wait is None else f.median_wait,
        "" if f.p90_wait is None else f.p90_wait,
        f.no_shows,
        "" if f.no_show_rate is None else f"{f.no_show_rate * 100:.1f}",
        f.cancellations, round(f.paused_minutes),
    ]  # fmt: skip


# --- Page -----------------------------------------------------------------------------------


def _shown(raw: str) -> str:
    return "".join(c for c in raw[:20] if c.isprintable())


@require_GET
@reception_required
def trends_report(request):
    today = local_today()
    raw_from, raw_to = request.GET.get("from", ""), request.GET.get("to", "")
    form = RangeForm({"start": raw_from, "end": raw_to}, today=today)
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    elif request.GET.get("format") == "csv":
        errors = " ".join(e for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    else:
        start, end = trends.default_range(today)
    result = trends.trends(start, end)
    if request.GET.get("format") == "csv":
        return csv_response(result)
    errors = [
        (label, error)
        for name, label in (("start", gettext("From")), ("end", gettext("To")), ("__all__", ""))
        for error in form.errors.get(name, [])
    ]
    names = {r.department.pk: r.department.code for r in result.departments}
    return render_reception(
        request,
        "appointments/report_trends.html",
        {
            "title": gettext("Trends, %(start)s to %(end)s")
            % {
                "start": dateformat.format(start, "d M Y"),
                "end": dateformat.format(end, "d M Y"),
            },
            "start": start,
            "end": end,
            "raw_from": _shown(raw_from) if errors else start.isoformat(),
            "raw_to": _shown(raw_to) if errors else end.isoformat(),
            "errors": errors,
            "result": result,
            "totals": [
                (gettext("Patients"), result.total.patients),
                (gettext("Tokens issued"), result.total.issued),
                (gettext("Median wait (min)"), minutes(result.total.median_wait)),
                ("90th percentile wait (min)", minutes(result.total.p90_wait)),
                (gettext("No-show rate"), rate(result.total.no_show_rate)),
                (gettext("Cancellations"), result.total.cancellations),
                (gettext("Paused (min)"), paused(result.total.paused_minutes)),
            ],
            "department_rows": [
                _row(localized(r.department), r.figures) for r in result.departments
            ],
            "total_row": _row(gettext("All departments"), result.total),
            "day_rows": [
                {
                    **_row(day_label(d.day), d.figures),
                    "day": d.day,
                    "breakdown": ", ".join(
                        f"{names[pk]} {n}"
                        for pk, n in sorted(d.patients_by_department.items(), key=lambda i: -i[1])
                        if n
                    ),
                }
                for d in result.days
            ],
            "per_day": stacked_days(result),
            "waits": wait_lines(result),
            "heatmap": heatmap(result),
            "presets": [
                (gettext("Last 4 weeks"), today - datetime.timedelta(days=27), today),
                (gettext("Last 90 days"), today - datetime.timedelta(days=89), today),
            ],
        },
    )


def _row(name: str, f: trends.Figures) -> dict:
    return {
        "name": name,
        "patients": f.patients,
        "issued": f.issued,
        "median": minutes(f.median_wait),
        "p90": minutes(f.p90_wait),
        "no_shows": f.no_shows,
        "no_show_rate": rate(f.no_show_rate),
        "cancellations": f.cancellations,
        "paused": paused(f.paused_minutes),
    }
