"""The daily report page: figures, SVG charts, CSV, print layout, bad dates."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.appointments.test_report import seeded_day, visits_day  # noqa: F401 (fixtures)
from tests.conftest import WEDNESDAY, at

URL = reverse("reception_daily_report")


@pytest.fixture(autouse=True)
def evening(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 18))


@pytest.fixture
def signed_in(client, desk):
    client.force_login(desk)
    return client


def test_the_page_shows_the_figures_and_charts(signed_in, seeded_day):  # noqa: F811
    response = signed_in.get(URL, {"date": "2026-11-18"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Daily report: Wednesday 18 November 2026" in html
    assert "<dt>Appointments booked</dt><dd>8</dd>" in html
    assert "<dt>Still on the waiting list</dt><dd>2</dd>" in html
    assert '<th scope="row">Patient unwell</th><td class="num">2</td>' in html
    assert "22.7" in html and "17.0" in html  # Dr. Rao's average wait and consultation
    # Two server-rendered SVG charts with accessible titles and values as text.
    assert html.count("<svg") >= 2
    assert "<title>09:00: 3</title>" in html
    assert "<title>Dr. Rao: 22.7 min</title>" in html
    assert 'role="img"' in html
    assert "@media print" in open("static/css/report.css").read()
    assert "format=csv" in html


def test_the_csv_download(signed_in, seeded_day):  # noqa: F811
    response = signed_in.get(URL, {"date": "2026-11-18", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="opd-report-2026-11-18.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["Appointments booked", "8"] in rows
    assert ["Cancellations", "3"] in rows
    assert ["Patient unwell", "2"] in rows
    assert ["Dr. Rao", "Orthopedic Surgery", "4", "3", "22.7", "17.0", "0", "0.0"] in rows
    assert ["09:00", "3"] in rows and ["10:00", "1"] in rows


@pytest.mark.parametrize("raw", ["garbage", "2026-02-30", "99999-01-01", "\x00"])
def test_a_garbage_date_is_a_message_and_today(signed_in, raw):
    response = signed_in.get(URL, {"date": raw})
    assert response.status_code == 200
    assert "is not a date; showing today instead" in response.content.decode()


def test_an_empty_day(signed_in):
    html = signed_in.get(URL, {"date": "2026-11-17"}).content.decode()
    assert "Nobody was seen on this day." in html
    assert "No cancellations." in html


def test_a_formula_in_a_reason_is_not_run_by_a_spreadsheet(signed_in, desk, dr_rao):
    from appointments.models import AppointmentEvent
    from tests.appointments.conftest import place, t

    appointment = place(dr_rao, t(9))
    AppointmentEvent.objects.create(
        appointment=appointment, kind="cancelled", at=at(WEDNESDAY, 9), reason="=HYPERLINK(1)"
    )
    body = signed_in.get(URL, {"date": "2026-11-18", "format": "csv"}).content.decode()
    assert "'=HYPERLINK(1)" in body


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize("fmt", ["", "csv"])
def test_a_date_beyond_the_calendar_is_a_message_and_today(signed_in, far, fmt):
    response = signed_in.get(URL, {"date": far, "format": fmt})
    assert response.status_code == 200
    if fmt == "csv":
        assert response.content.decode().startswith('"OPD daily report","2026-11-18"')
    else:
        assert "Choose a date between 1900 and 2999" in response.content.decode()


@pytest.mark.parametrize(
    "reason, cell",
    [
        ("x;=cmd|' /C calc'!A0", "x;'=cmd|' /C calc'!A0"),
        ("x,=1+1", "x,'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("x; -2+3", "x; '-2+3"),
        ("+91 98123", "'+91 98123"),
        ("Knee-pain; resolved", "Knee-pain; resolved"),
    ],
)
def test_a_formula_after_any_list_separator_is_not_run_by_a_spreadsheet(
    signed_in, dr_rao, reason, cell
):
    from appointments.models import AppointmentEvent
    from tests.appointments.conftest import place, t

    appointment = place(dr_rao, t(9))
    AppointmentEvent.objects.create(
        appointment=appointment, kind="cancelled", at=at(WEDNESDAY, 9), reason=reason
    )
    body = signed_in.get(URL, {"date": "2026-11-18", "format": "csv"}).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert [cell, "1"] in rows
    # Split at a semicolon, as a spreadsheet in such a locale would: no part is a formula.
    for part in body.replace('"', "").replace("\t", ";").replace(",", ";").split(";"):
        assert part.strip()[:1] not in ("=", "+", "-", "@"), part


def test_the_page_shows_service_counters_and_visits(signed_in, visits_day):  # noqa: F811
    html = " ".join(signed_in.get(URL, {"date": "2026-11-18"}).content.decode().split())
    assert "Per service counter" in html
    assert '<th scope="row">Counter 2</th> <td>Laboratory</td>' in html
    assert '<th scope="row">Window B</th> <td>Pharmacy</td>' in html
    for figure in [
        "<dt>Visits</dt><dd>4</dd>",
        "<dt>1 stop</dt><dd>2</dd>",
        "<dt>2 stops</dt><dd>1</dd>",
        "<dt>3 or more stops</dt><dd>1</dd>",
        "<dt>Median door to door (min)</dt><dd>43.0</dd>",
        "<dt>Mean door to door (min)</dt><dd>41.7</dd>",
    ]:
        assert figure in html, figure
    # Every visit, times on the hospital's clock (09:04 in Kolkata, not 03:34 UTC).
    assert "ORTH → LAB → ORTH" in html
    chitra = html[html.index('<th scope="row">Chitra</th>') - 40 :][:700]
    assert "09:04" in chitra and "10:10" in chitra and "(still here)" in chitra
    assert "66.0" in chitra and "LAB 5.0" in chitra
    assert "03:34" not in html
    # Staff notes for the next stop are not part of the report.
    assert "CBC" not in html


def test_the_csv_has_the_counters_and_the_visits_after_the_old_rows(signed_in, visits_day):  # noqa: F811
    body = signed_in.get(URL, {"date": "2026-11-18", "format": "csv"}).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    # The sections that were there keep their place and columns (new columns are added
    # at the end of a row).
    assert rows[:3] == [["OPD daily report", "2026-11-18"], [], ["Figure", "Value"]]
    hour = rows.index(["Hour", "Patients seen"])
    counters = rows.index(
        ["Counter", "Department", "Patients served", "Average wait (min)",
         "Average time at the counter (min)", "Paused (min)"]
    )  # fmt: skip
    assert hour < counters
    assert ["Counter 2", "Laboratory", "1", "5.0", "9.0", "0.0"] in rows
    assert ["Window B", "Pharmacy", "1", "10.0", "4.0", "0.0"] in rows
    figures = [
        ["Visits", "4"],
        ["1 stop", "2"],
        ["2 stops", "1"],
        ["3 or more stops", "1"],
        ["Median door to door (min)", "43.0"],
        ["Mean door to door (min)", "41.7"],
    ]
    for figure in figures:
        assert figure in rows
    assert ["Orthopedic Surgery", "4", "17.5"] in rows
    assert ["Laboratory", "1", "5.0"] in rows
    assert [
        "09:04", "Chitra", "Kiosk", "In progress", "3", "ORTH > LAB > ORTH", "10:10", "66.0",
        "ORTH 42.0; LAB 5.0; ORTH 5.0",
    ] in rows  # fmt: skip
    assert ["10:20", "Dev", "Kiosk", "In progress", "1", "ORTH", "", "", "ORTH not called"] in rows
    assert ["09:00", "Asha", "Kiosk", "Finished", "1", "ORTH", "09:16", "16.0", "ORTH 5.0"] in rows
