"""The trends page: figures and charts, the CSV, bad ranges, who may open it."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import DaySummary, SummarisedDay
from queues.models import Token
from tests.appointments.test_trends import MONDAY, SUNDAY, TUESDAY, seed_rows  # noqa: F401
from tests.conftest import WEDNESDAY, at, flat_text, make_receptionist

URL = reverse("reception_trends")
RANGE = {"from": SUNDAY.isoformat(), "to": TUESDAY.isoformat()}


@pytest.fixture(autouse=True)
def evening(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 18))


@pytest.fixture
def signed_in(client, db):
    client.force_login(make_receptionist("frontdesk"))
    return client


def test_the_page_shows_the_figures_and_charts(signed_in, seed_rows):  # noqa: F811
    response = signed_in.get(URL, RANGE)
    assert response.status_code == 200
    html = flat_text(response)
    assert "Trends: 15 November 2026 to 17 November 2026" in html
    assert "(3 days)" in html
    # Orthopaedics: 5 patients, 7 tokens, waits 30/60, 1 no-show (14.3 %), 2 cancellations,
    # 55 minutes paused.
    assert (
        '<th scope="row">Orthopedic Surgery</th> <td class="num">5</td> <td class="num">7</td>'
        ' <td class="num">30</td> <td class="num">60</td> <td class="num">1</td>'
        ' <td class="num">14.3 %</td> <td class="num">2</td> <td class="num">55</td>'
    ) in html
    assert '<th scope="row">All departments</th> <td class="num">7</td>' in html
    assert html.count('<svg role="img"') == 3
    assert "<title>Mon 09:00-09:59: 4</title>" in html
    assert "<title>16 Nov: 6 patients (ORTH 4, CARD 2)</title>" in html
    assert "<title>16 Nov: median 20 min, 90th percentile 50 min</title>" in html
    # The heatmap's cells carry their numbers as text, not only a shade.
    assert '<text x="' in html and ">4</text>" in html
    assert "format=csv" in html and 'data-action="print"' in html
    assert f"{reverse('reception_daily_report')}?date=2026-11-16" in html
    assert "no-show rate = no-shows ÷ (tokens issued + appointment no-shows)" in html


def test_the_csv(signed_in, seed_rows):  # noqa: F811
    response = signed_in.get(URL, {**RANGE, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="opd-trends-2026-11-15-to-2026-11-17.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["Orthopedic Surgery", "5", "7", "30", "60", "1", "14.3", "2", "55"] in rows
    assert ["Cardiology", "2", "2", "5", "15", "1", "33.3", "0", "60"] in rows
    assert ["2026-11-16", "Orthopedic Surgery", "4"] in rows
    assert ["2026-11-15", "0", "0", "", "", "0", "", "0", "0"] in rows
    header = next(r for r in rows if r and r[0] == "Patients by weekday and hour")
    assert header[1:] == [f"{h:02d}:00" for h in range(5, 11)]
    assert ["Mon", "0", "0", "0", "0", "4", "2"] in rows
    assert ["Tue", "1", "0", "0", "0", "0", "0"] in rows


def test_the_first_view_summarises_the_finished_days_and_the_next_reads_them(
    signed_in,
    seed_rows,  # noqa: F811
    django_assert_max_num_queries,
):
    assert not SummarisedDay.objects.exists()
    first = signed_in.get(URL, {**RANGE, "format": "csv"}).content
    assert set(SummarisedDay.objects.values_list("day", flat=True)) == {SUNDAY, MONDAY, TUESDAY}
    assert DaySummary.objects.filter(service_date=MONDAY).count() == 2
    # A finished day is summarised once: the next view reads the summaries only.
    with django_assert_max_num_queries(8):
        again = signed_in.get(URL, {**RANGE, "format": "csv"}).content
    assert again == first


def test_today_is_counted_live(signed_in, seed_rows, monkeypatch):  # noqa: F811
    monkeypatch.setattr(timezone, "now", lambda: at(TUESDAY, 18))
    params = {**RANGE, "format": "csv"}
    assert ["2026-11-17", "1", "1", "60", "60", "0", "0.0", "0", "30"] in csv_rows(
        signed_in.get(URL, params)
    )
    assert set(SummarisedDay.objects.values_list("day", flat=True)) == {SUNDAY, MONDAY}
    orth = Token.objects.filter(service_date=TUESDAY).first().department
    Token.objects.create(department=orth, service_date=TUESDAY, number=2, patient_name="P",
                         issued_at=at(TUESDAY, 17), queued_at=at(TUESDAY, 17),
                         status=Token.Status.CANCELLED)  # fmt: skip
    assert ["2026-11-17", "1", "2", "60", "60", "0", "0.0", "1", "30"] in csv_rows(
        signed_in.get(URL, params)
    )
    assert not SummarisedDay.objects.filter(day=TUESDAY).exists()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_default_range_is_the_last_four_weeks(signed_in):
    response = signed_in.get(URL)
    assert response.status_code == 200
    html = flat_text(response)
    assert "Trends: 22 October 2026 to 18 November 2026" in html
    assert "(28 days)" in html
    assert "Nobody was seen in these days." in html


def test_only_from_or_only_to(signed_in):
    html = flat_text(signed_in.get(URL, {"to": "2026-11-10"}))
    assert "Trends: 14 October 2026 to 10 November 2026" in html
    html = flat_text(signed_in.get(URL, {"from": "2026-11-01"}))
    assert "Trends: 1 November 2026 to 18 November 2026" in html


@pytest.mark.parametrize(
    "params, message",
    [
        ({"from": "2026-11-18", "to": "2026-11-01"}, "The first day comes after the last day"),
        ({"from": "2024-01-01", "to": "2026-11-18"}, "Choose at most 366 days."),
        ({"from": "garbage"}, "From: That is not a date (YYYY-MM-DD)."),
        ({"to": "2026-02-30"}, "To: That is not a date (YYYY-MM-DD)."),
        ({"from": "99999-01-01"}, "That is not a date"),
        ({"to": "0001-01-01"}, "Choose a date between 1900 and 2999."),
        ({"from": "\x00", "to": "\x00"}, "That is not a date"),
    ],
)
def test_a_bad_range_says_why_and_shows_the_last_four_weeks(signed_in, params, message):
    response = signed_in.get(URL, params)
    assert response.status_code == 200
    html = flat_text(response)
    assert message in html
    assert "Showing the last four weeks instead." in html
    assert "Trends: 22 October 2026 to 18 November 2026" in html
    # As a CSV: a plain 400 that says why, not a file of the wrong days.
    response = signed_in.get(URL, {**params, "format": "csv"})
    assert response.status_code == 400
    assert message.split(": ")[-1] in response.content.decode()


def test_a_range_at_the_edge_of_the_calendar(signed_in):
    assert signed_in.get(URL, {"from": "1900-01-01", "to": "1900-01-01"}).status_code == 200
    assert signed_in.get(URL, {"from": "2999-12-01", "to": "2999-12-31"}).status_code == 200
    assert signed_in.get(URL, {"to": "1900-01-01"}).status_code == 200


def test_it_is_linked_from_the_daily_report_and_the_reception_nav(signed_in):
    html = signed_in.get(reverse("reception_daily_report")).content.decode()
    assert html.count(f'href="{URL}') >= 2
    assert 'aria-current="page"' in signed_in.get(URL).content.decode()


@pytest.mark.parametrize(
    "who, status", [("anonymous", 302), ("doctor", 403), ("plain", 403), ("admin", 200)]
)
def test_who_may_open_it(client, dr_rao, plain_user, admin_user, who, status):
    user = {"anonymous": None, "doctor": dr_rao.user, "plain": plain_user, "admin": admin_user}
    if user[who]:
        client.force_login(user[who])
    response = client.get(URL)
    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"] == f"/accounts/login/?next={URL}"


def test_a_post_is_not_allowed(signed_in):
    assert signed_in.post(URL).status_code == 405
