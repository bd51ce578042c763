"""Staff pages in English and Hindi: the header's language menu, names per language with
an English fallback, the admin's name fields and the demo's names in three scripts."""

import io
import re

from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from hospital.languages import localized
from hospital.management.commands import seed_demo
from hospital.models import Counter, Department
from queues.models import PriorityCategory
from supervision.consumers import socket_language
from tests.conftest import WEDNESDAY, at, make_receptionist, make_service_department

# A page on the site's own frame (templates/base.html) that any signed-in person opens.
STAFF_PAGE = "/accounts/two-factor/"


def menu_buttons(html: str) -> dict[str, tuple[str, str]]:
    """{code: (lang attribute, label)} of the language menu's buttons."""
    return {
        code: (lang, label)
        for code, lang, label in re.findall(
            r'<button type="submit"[^>]* name="language" value="(\w+)" lang="(\w+)"[^>]*>'
            r"([^<]+)</button>",
            html,
        )
    }


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_the_menu_switches_a_staff_session_to_hindi(client, db):
    client.force_login(make_receptionist())
    assert html_lang(client.get(STAFF_PAGE).content.decode()) == "en"

    response = client.post(reverse("set_language"), {"language": "hi", "next": STAFF_PAGE})
    assert response.status_code == 302
    assert response["Location"] == STAFF_PAGE

    html = client.get(STAFF_PAGE).content.decode()
    assert html_lang(html) == "hi"
    # The current language is marked for screen readers, not by colour alone.
    assert re.search(r'value="hi" lang="hi" aria-current="true">हिन्दी<', html)
    assert 'value="en" lang="en" aria-current' not in html


def test_staff_are_offered_english_and_hindi_only(client, db):
    client.force_login(make_receptionist())
    html = client.get(STAFF_PAGE).content.decode()
    assert menu_buttons(html) == {"en": ("en", "English"), "hi": ("hi", "हिन्दी")}
    # The menu posts to Django's set_language with the CSRF token and the way back.
    menu = html.split('class="language-menu"', 1)[1].split("</form>", 1)[0]
    assert f'action="{reverse("set_language")}"' in menu
    assert 'name="csrfmiddlewaretoken"' in menu
    assert f'name="next" value="{STAFF_PAGE}"' in menu


def test_the_reception_frame_has_the_staff_menu_too(client, db):
    client.force_login(make_receptionist())
    html = client.get(reverse("reception_dashboard")).content.decode()
    assert menu_buttons(html) == {"en": ("en", "English"), "hi": ("hi", "हिन्दी")}
    # Its scripts' words come from the JavaScript catalog, which the admin frame lacks.
    assert reverse("javascript-catalog", args=["en"]) in html


def test_anyone_else_is_offered_every_language_in_its_own_script(client, db):
    html = client.get(reverse("login")).content.decode()
    assert menu_buttons(html) == {
        "en": ("en", "English"),
        "hi": ("hi", "हिन्दी"),
        "ta": ("ta", "தமிழ்"),
    }
    assert re.search(r'value="en" lang="en" aria-current="true">English<', html)


def test_english_stays_the_default_and_reads_as_before(client, db):
    html = client.get(reverse("login")).content.decode()
    assert html_lang(html) == "en"
    for text in ("Skip to content", "Staff log in", "Forgot password?", "Take a token"):
        assert text in html


def test_a_name_falls_back_to_english_when_empty(db):
    department = Department.objects.create(name="Orthopaedics", code="ORTHO", slug="ortho")
    assert localized(department, language="hi") == "Orthopaedics"
    assert localized(department, language="ta") == "Orthopaedics"

    department.name_hi = "हड्डी रोग विभाग"
    department.save()
    assert localized(department, language="hi") == "हड्डी रोग विभाग"
    assert localized(department, language="ta") == "Orthopaedics"
    with translation.override("hi"):
        assert localized(department) == "हड्डी रोग विभाग"
    with translation.override("en"):
        assert localized(department) == "Orthopaedics"


def test_the_admin_shows_the_names_per_language(staff, orth):
    html = staff.get(reverse("admin:hospital_department_change", args=[orth.pk])).content
    for field in ("name", "name_hi", "name_ta"):
        assert f'name="{field}"'.encode() in html

    lab = make_service_department("Laboratory", "LAB")
    Counter.objects.create(department=lab, name="Counter 1")
    html = staff.get(reverse("admin:hospital_department_change", args=[lab.pk])).content
    for field in ("name", "name_hi", "name_ta"):
        assert f'name="counters-0-{field}"'.encode() in html

    category, _ = PriorityCategory.objects.get_or_create(name="Senior citizen (60+)")
    html = staff.get(reverse("admin:queues_prioritycategory_change", args=[category.pk])).content
    for field in ("name_hi", "name_ta", "proof_note_hi", "proof_note_ta"):
        assert f'name="{field}"'.encode() in html


def test_a_name_typed_in_the_admin_is_saved_and_shown(staff, orth, receptionist, client):
    response = staff.post(
        reverse("admin:hospital_department_change", args=[orth.pk]),
        {
            "name": orth.name,
            "name_hi": "हड्डी रोग विभाग",
            "name_ta": "எலும்பியல்",
            "kind": orth.kind,
            "code": orth.code,
            "slug": orth.slug,
            "is_active": "on",
            "open_days": [0, 1, 2, 3, 4, 5],
            "booking_window_days": 7,
            "priority_interval": orth.priority_interval,
            "near_turn_ahead": orth.near_turn_ahead,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    orth.refresh_from_db()
    assert (orth.name_hi, orth.name_ta) == ("हड्डी रोग विभाग", "எலும்பியல்")


def seed(monkeypatch, *args) -> str:
    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 14))
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_the_demo_names_every_department_and_counter_in_three_languages(db, monkeypatch):
    seed(monkeypatch)
    departments = Department.objects.all()
    assert {d.code for d in departments} == set(seed_demo.LOCAL_NAMES)
    for department in departments:
        assert department.name and department.name_hi and department.name_ta
        assert re.search("[\u0900-\u097f]", department.name_hi)  # Devanagari
        assert re.search("[\u0b80-\u0bff]", department.name_ta)  # Tamil
    assert Department.objects.get(code="LAB").name_hi == "प्रयोगशाला"
    assert Department.objects.get(code="PHAR").name_ta == "மருந்தகம்"
    for counter in Counter.objects.all():
        assert counter.name_hi and counter.name_ta, counter
    assert Counter.objects.filter(name="Counter 1", name_hi="काउंटर 1").exists()


def test_seeding_once_fills_missing_names_and_keeps_typed_ones(db, monkeypatch):
    # A demo database from before the names per language, one name already typed in.
    lab = make_service_department("Laboratory", "LAB")
    Counter.objects.create(department=lab, name="Counter 1")
    orth = Department.objects.create(
        name="Orthopedic Surgery", code="ORTH", slug="orth", name_hi="अस्थि रोग"
    )

    out = seed(monkeypatch, "--once")
    assert "nothing loaded" in out
    assert Department.objects.count() == 2  # nothing else was loaded

    lab.refresh_from_db()
    orth.refresh_from_db()
    assert (lab.name_hi, lab.name_ta) == ("प्रयोगशाला", "ஆய்வகம்")
    assert (orth.name_hi, orth.name_ta) == ("अस्थि रोग", "எலும்பியல்")
    counter = Counter.objects.get()
    assert (counter.name_hi, counter.name_ta) == ("काउंटर 1", "கவுண்டர் 1")

    seed(monkeypatch, "--once")  # idempotent
    orth.refresh_from_db()
    assert orth.name_hi == "अस्थि रोग"


def test_the_supervisor_socket_redraws_in_the_pages_language():
    cookie = settings.LANGUAGE_COOKIE_NAME
    assert socket_language({"cookies": {cookie: "hi"}, "headers": []}) == "hi"
    accept = [(b"accept-language", b"hi-IN,hi;q=0.9,en;q=0.5")]
    assert socket_language({"cookies": {}, "headers": accept}) == "hi"
    assert socket_language({"cookies": {}, "headers": []}) == "en"
    assert socket_language({"cookies": {cookie: "xx"}, "headers": []}) == "en"
