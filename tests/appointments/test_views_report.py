"""The daily report page: figures, SVG charts, CSV, print layout, bad dates."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.appointments.test_report import seeded_day  # noqa: F401 (a fixture)
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
    assert ["Dr. Rao", "Orthopedic Surgery", "4", "3", "22.7", "17.0", "0"] in rows
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
