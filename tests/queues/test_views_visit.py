"""The patient's visit page at /visits/<public_id>/: the slip's QR code leads there, it
shows every stop and follows the current one; staff notes never appear on it."""

import uuid

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from queues import services
from queues.visits import NextStop
from tests.conftest import WEDNESDAY, at, page_text
from tests.queues.test_views_token import words

NOW = at(WEDNESDAY, 9, 30)
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def sent_to_lab(orth, dr_rao, lab, pharmacy):
    """Asha saw Dr. Rao, who sent her to the laboratory, then back, then the pharmacy."""
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    services.call_next(dr_rao, now=at(WEDNESDAY, 9))
    services.start_consultation(dr_rao, token, now=at(WEDNESDAY, 9))
    services.complete_token(
        dr_rao, token, now=at(WEDNESDAY, 9, 10),
        send_on=[NextStop(lab, note="HbA1c, fasting"), NextStop(orth, doctor=dr_rao),
                 NextStop(pharmacy)],
    )  # fmt: skip
    return token


def test_the_visit_page_shows_the_current_stop_and_every_stop_in_order(client, sent_to_lab):
    response = client.get(reverse("visit_detail", args=[sent_to_lab.visit.public_id]))
    assert response.status_code == 200
    text = words(response)
    assert "LAB-001" in text
    assert "Laboratory" in text
    assert "1 patient ahead" not in text and "0 patients ahead of you" in text
    stops = text[text.index("Your visit today") :]
    assert stops.index("Done Orthopedic Surgery ORTH-001") < stops.index("Now Laboratory LAB-001")
    assert (
        stops.index("LAB-001") < stops.index("Next Back to Dr. Rao") < stops.index("Next Pharmacy")
    )


def test_the_staff_note_never_shows_on_the_patients_pages(client, sent_to_lab):
    for url in (
        reverse("visit_detail", args=[sent_to_lab.visit.public_id]),
        reverse("token_detail", args=[sent_to_lab.public_id]),
    ):
        assert "HbA1c" not in page_text(client.get(url))


def test_the_qr_code_and_slip_address_lead_to_the_visit_page(client, sent_to_lab):
    page = page_text(client.get(reverse("token_detail", args=[sent_to_lab.public_id])))
    assert f"/visits/{sent_to_lab.visit.public_id}/" in page
    assert "Follow your next stop" in page


def test_a_patient_called_at_a_counter_is_told_the_counter(
    client, sent_to_lab, lab_counter, lab_tech
):
    services.call_next(lab_counter, actor=lab_tech.user, now=NOW)
    text = words(client.get(reverse("visit_detail", args=[sent_to_lab.visit.public_id])))
    assert "It's your turn — Counter 1" in text
    assert "Room" not in text.split("Your visit today")[0].split("It's your turn")[1]


def test_a_finished_visit_says_so(client, orth, dr_rao):
    token = services.issue_token(orth, "Asha Rao", now=at(WEDNESDAY, 8))
    services.call_next(dr_rao, now=at(WEDNESDAY, 9))
    services.start_consultation(dr_rao, token, now=at(WEDNESDAY, 9))
    services.complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 5))
    text = words(client.get(reverse("visit_detail", args=[token.visit.public_id])))
    assert "Your visit is complete" in text


def test_an_unknown_visit_is_not_found(client, db):
    assert client.get(reverse("visit_detail", args=[uuid.uuid4()])).status_code == 404


# --- In the patient's language (issue 15) -----------------------------------------------


def test_a_tamil_visit_names_the_counter_and_departments_in_tamil(
    client, orth, dr_rao, lab, lab_counter, lab_tech
):
    lab.name_ta, lab_counter.name_ta, orth.name_ta = "ஆய்வகம்", "கவுண்டர் 1", "எலும்பியல்"
    lab.save()
    lab_counter.save()
    orth.save()
    token = services.issue_token(orth, "Kavya S", language="ta", now=at(WEDNESDAY, 8))
    services.call_next(dr_rao, now=at(WEDNESDAY, 9))
    services.start_consultation(dr_rao, token, now=at(WEDNESDAY, 9))
    services.complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 10), send_on=[NextStop(lab)])
    services.call_next(lab_counter, actor=lab_tech.user, now=NOW)
    response = client.get(reverse("visit_detail", args=[token.visit.public_id]))
    assert '<html lang="ta"' in page_text(response)
    text = words(response)
    # The next stop's token keeps the language chosen at the kiosk.
    assert "LAB-001" in text and "ஆய்வகம்" in text
    with translation.override("ta"):
        turn, visit_heading = gettext("It's your turn — %(place)s"), gettext("Your visit today")
    assert turn % {"place": "கவுண்டர் 1"} in text
    stops = text[text.index(visit_heading) :]
    assert "எலும்பியல் ORTH-001" in stops
    # Switched to English by the patient: the English names.
    english = words(
        client.get(reverse("visit_detail", args=[token.visit.public_id]), {"lang": "en"})
    )
    assert "It's your turn — Counter 1" in english and "Laboratory" in english
