"""The token slip (/tokens/<id>/slip/): laid out for 58 or 80 mm thermal paper, in the
token's language, with the QR code to the visit's page; at the kiosk it prints itself
and goes back to the start screen in the kiosk's language."""

import uuid

import pytest
from django.urls import reverse

from queues import services
from queues.kiosk import KIOSK_COOKIE, key_hash
from queues.models import KioskDevice, PrintJob, PriorityCategory
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")


def issue(department, name="Kumar Selvam", **kwargs):
    return services.issue_token(department, name, now=NOW, **kwargs)


def slip(client, token, query=""):
    return client.get(reverse("token_slip", args=[token.public_id]) + query)


@pytest.fixture
def tamil_orth(orth):
    orth.name_ta = "எலும்பியல்"
    orth.save()
    return orth


def test_the_slip_is_in_the_tokens_language_with_the_number_and_a_qr_code(
    client, tamil_orth, settings
):
    settings.HOSPITAL_NAME = "City General Hospital"
    settings.HOSPITAL_PHONE = "+91 80 2222 0000"
    issue(tamil_orth, "First")
    senior = PriorityCategory.objects.get(name="Senior citizen (60+)")
    token = issue(tamil_orth, category=senior, language="ta")
    response = slip(client, token)
    page = page_text(response)
    assert response.status_code == 200
    assert 'lang="ta"' in page
    assert "ORTH-002" in page and "எலும்பியல்" in page
    assert senior.name_ta in page
    assert "City General Hospital" in page and "+91 80 2222 0000" in page
    assert "<svg" in page
    # The QR code leads to the visit's page, never to the slip's own address.
    visit_url = f"http://testserver{reverse('visit_detail', args=[token.visit.public_id])}"
    assert f'href="{visit_url}"' in page
    # Wednesday, in Tamil: the date's words follow the slip's language.
    assert "Wednesday" not in page
    # No site navigation on a slip.
    assert "site-header" not in page


def test_the_slip_says_how_many_are_ahead(client, orth):
    issue(orth, "First")
    issue(orth, "Second")
    token = issue(orth)
    assert "2 patients ahead of you" in page_text(slip(client, token))


def test_the_room_is_on_the_slip_when_known(client, orth, dr_rao):
    token = issue(orth, assigned_doctor=dr_rao)
    assert "Room 4" in page_text(slip(client, token))


@pytest.mark.parametrize(
    "query, paper",
    [("", 80), ("?paper=58", 58), ("?paper=80", 80), ("?paper=57", 80), ("?paper=%00", 80),
     ("?paper=" + "9" * 5000, 80)],
)  # fmt: skip
def test_the_paper_width_comes_from_the_query_and_a_bad_one_is_the_default(
    client, orth, query, paper
):
    response = slip(client, issue(orth), query)
    assert response.status_code == 200
    assert f"paper-{paper}" in page_text(response)


def test_a_registered_kiosk_prints_on_its_own_paper_width(client, orth):
    KioskDevice.objects.create(
        name="Entrance", key_hash=key_hash("k" * 20), registered_at=NOW, paper_width=58
    )
    client.cookies[KIOSK_COOKIE] = "k" * 20
    token = issue(orth)
    assert "paper-58" in page_text(slip(client, token))
    assert "paper-80" in page_text(slip(client, token, "?paper=80"))


def test_at_the_kiosk_the_slip_prints_itself_and_returns_in_the_kiosks_language(client, orth):
    KioskDevice.objects.create(
        name="Entrance", key_hash=key_hash("k" * 20), registered_at=NOW, language="hi"
    )
    client.cookies[KIOSK_COOKIE] = "k" * 20
    token = issue(orth, language="ta")
    page = page_text(slip(client, token, "?kiosk=1"))
    assert 'data-kiosk="1"' in page and 'data-print="browser"' in page
    assert 'id="kiosk-reset"' in page
    assert 'name="language" value="hi"' in page
    assert f'name="next" value="{reverse("kiosk")}"' in page
    assert 'data-return-seconds="8"' in page


def test_outside_the_kiosk_the_slip_has_a_print_button_and_no_return(client, orth):
    page = page_text(slip(client, issue(orth)))
    assert 'data-kiosk="0"' in page
    assert 'data-action="print"' in page
    assert 'id="kiosk-reset"' not in page


def test_the_slip_is_never_cached(client, orth):
    response = slip(client, issue(orth))
    assert "no-store" in response["Cache-Control"]


def test_an_unknown_token_is_a_404(client, orth):
    missing = uuid.uuid4()
    assert client.get(reverse("token_slip", args=[missing])).status_code == 404
    assert client.get(reverse("token_print_status", args=[missing])).status_code == 404
    assert client.get(f"/tokens/{missing}x/slip/").status_code == 404
    assert client.get("/tokens/not-a-uuid/slip/").status_code == 404


def test_the_slip_is_read_only(client, orth):
    token = issue(orth)
    assert client.post(reverse("token_slip", args=[token.public_id])).status_code == 405


def test_the_print_status_without_a_printer_is_none(client, orth):
    token = issue(orth)
    data = client.get(reverse("token_print_status", args=[token.public_id])).json()
    assert data == {"token": "ORTH-001", "status": "none", "message": ""}


def test_the_print_status_of_a_failed_job_is_in_the_tokens_language(client, orth):
    token = issue(orth, language="ta")
    PrintJob.objects.create(
        token=token, printer_host="127.0.0.1", qr_url="http://testserver/", created_at=NOW,
        status=PrintJob.Status.FAILED, error="refused",
    )  # fmt: skip
    data = client.get(reverse("token_print_status", args=[token.public_id])).json()
    assert data["status"] == "failed" and "ORTH-001" in data["message"]
