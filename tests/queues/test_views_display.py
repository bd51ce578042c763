"""The waiting-room TV page: choosing departments, sound options, and what it shows."""

import json

import pytest

from queues import services

pytestmark = pytest.mark.django_db


def initial_states(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="tv-initial" type="application/json">') + len(
        '<script id="tv-initial" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_without_departments_it_offers_a_picker(client, orth, card):
    response = client.get("/display/")
    assert response.status_code == 200
    assert b'name="d" value="orth"' in response.content
    assert b'name="d" value="card"' in response.content


def test_it_shows_the_chosen_departments_in_the_given_order(client, orth, card):
    response = client.get("/display/?departments=card,orth")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index('data-department-slug="card"') < html.index('data-department-slug="orth"')
    assert set(initial_states(response)) == {"card", "orth"}


def test_the_pickers_boxes_work_too(client, orth, card):
    response = client.get("/display/?d=orth&d=card&sound=1&voice=1&lang=en&languages=hi")
    assert 'data-department-slug="orth"' in response.content.decode()


def test_an_unknown_department_says_so_and_offers_the_picker(client, orth):
    response = client.get("/display/?departments=nope")
    assert response.status_code == 200
    assert b"No open department called nope" in response.content
    assert b'name="d" value="orth"' in response.content


def test_sound_voice_and_languages_come_from_the_query(client, orth):
    html = client.get(
        "/display/?departments=orth&sound=0&voice=off&lang=ta&languages=hi,en"
    ).content.decode()
    assert 'data-sound="off"' in html and 'data-voice="off"' in html
    assert 'data-language="ta"' in html and '<html lang="ta"' in html
    assert 'data-languages="hi,en"' in html
    assert "tv-sound-gate" not in html


def test_calls_are_spoken_in_the_screens_language_unless_told_otherwise(client, orth):
    html = client.get("/display/?departments=orth&lang=hi").content.decode()
    assert 'data-language="hi"' in html and 'data-languages="hi"' in html
    # The picker's boxes, in the order given, each once; unknown ones left out.
    html = client.get(
        "/display/?departments=orth&languages=ta&languages=xx&languages=hi,ta"
    ).content.decode()
    assert 'data-languages="ta,hi"' in html


def test_the_old_speech_tag_still_means_its_language(client, orth):
    html = client.get("/display/?departments=orth&lang=hi-IN").content.decode()
    assert 'data-language="hi"' in html and 'data-languages="hi"' in html


def test_a_strange_language_falls_back_to_english(client, orth):
    html = client.get('/display/?departments=orth&lang="><script>').content.decode()
    assert 'data-language="en"' in html and 'data-languages="en"' in html
    assert "<script>" not in html.split('data-language="en"')[0][-200:]


def test_every_chosen_department_is_shown_however_many(client, db):
    from hospital.models import Department

    slugs = [Department.objects.create(name=f"Dept {i}", code=f"D{i}").slug for i in range(9)]
    response = client.get("/display/?departments=" + ",".join(slugs))
    html = response.content.decode()
    assert all(f'data-department-slug="{slug}"' in html for slug in slugs)
    assert set(initial_states(response)) == set(slugs)
    assert 'data-per-page="4"' in html  # the rest take turns in pages


def test_the_page_lists_the_clips_on_disk_for_its_languages(client, orth, settings, tmp_path):
    from tests.queues.test_audio_clips import write_wav

    settings.AUDIO_CLIPS_DIR = tmp_path / "generated"
    settings.RECORDED_AUDIO_DIR = tmp_path / "recorded"
    write_wav(tmp_path / "generated" / "ta" / "token.wav")
    write_wav(tmp_path / "generated" / "en" / "token.wav")
    html = client.get("/display/?departments=orth&languages=ta").content.decode()
    start = html.index('<script id="tv-clips" type="application/json">')
    clips = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    assert clips == {"ta/token": "/static/audio/ta/token.wav"}


def test_the_screen_gets_each_call_in_every_language(client, orth, dr_rao, lab, lab_counter_2):
    lab_counter_2.name_hi = "काउंटर 2"
    lab_counter_2.save()
    orth.name_ta = "எலும்பியல்"
    orth.save()
    services.issue_token(orth, "Asha Rao")
    services.call_next(dr_rao)
    state = initial_states(client.get("/display/?departments=orth&lang=ta"))["orth"]
    assert state["department"]["names"]["ta"] == "எலும்பியல்"
    assert state["department"]["name"] == "Orthopedic Surgery"
    details = state["serving_details"]["ORTH-001"]
    assert details["place_kind"] == "room"
    assert set(details["places"]) == {"en", "hi", "ta"} and details["places"]["en"] == "Room 4"
    assert details["announce"]["hi"]["clips"][0] == "hi/token"
    assert [c["token"] for c in state["recent_calls"]] == ["ORTH-001"]
    assert state["recent_calls"][0]["place"] == "Room 4"

    from queues.reading import open_token_for

    services.skip_token(dr_rao, open_token_for(dr_rao))
    called = lab_token_at_counter_2(orth, dr_rao, lab, lab_counter_2)
    state = initial_states(client.get(f"/display/?departments={lab.slug}"))[lab.slug]
    details = state["serving_details"][called.display_number]
    assert details["place_kind"] == "counter"
    assert details["places"] == {"en": "Counter 2", "hi": "काउंटर 2", "ta": "Counter 2"}


def test_the_state_is_the_same_whatever_the_staff_members_language(client, orth, dr_rao):
    """One state goes to every screen: made in the hospital's language, never in the
    language of the page whose button caused the change."""
    from django.utils import translation

    from queues.state import public_state

    services.issue_token(orth, "Asha Rao")
    services.call_next(dr_rao)
    with translation.override("en"):
        english = public_state(orth)
    with translation.override("hi"):
        hindi = public_state(orth)
    english.pop("generated_at"), hindi.pop("generated_at")
    assert english == hindi


def test_it_shows_tokens_and_rooms_but_no_names_or_mobiles(client, orth, dr_rao):
    services.issue_token(orth, "Asha Ramachandran", mobile="98123 45678")
    services.issue_token(orth, "Bala Krishnan")
    services.call_next(dr_rao)
    response = client.get("/display/?departments=orth")
    state = initial_states(response)["orth"]
    assert state["serving"][0]["token"] == "ORTH-001"
    assert state["serving"][0]["room"] == "4"
    assert state["next"] == ["ORTH-002"]
    html = response.content.decode()
    for secret in ["Asha", "Ramachandran", "Krishnan", "98123", "9812345678"]:
        assert secret not in html


def test_an_inactive_department_is_not_shown(client, orth):
    orth.is_active = False
    orth.save()
    response = client.get("/display/?departments=orth")
    assert b"No open department called orth" in response.content


def test_a_department_name_with_a_nul_shows_the_picker(client, orth):
    # PostgreSQL refuses a NUL in a query parameter: it must never reach the database.
    response = client.get("/display/", {"departments": "orth\x00,card"})
    assert response.status_code == 200
    assert "queues/display_picker.html" in [t.name for t in response.templates]


def lab_token_at_counter_2(orth, dr_rao, lab, lab_counter_2, mobile=""):
    """A patient sent from Dr. Rao to the laboratory, called there at Counter 2."""
    from hospital.models import CounterStaff
    from queues.visits import NextStop
    from tests.conftest import make_counter_staff

    if not CounterStaff.objects.filter(counter=lab_counter_2).exists():
        make_counter_staff("labtech2", "Lab two", lab, lab_counter_2)
    token = services.issue_token(orth, "Asha Ramachandran", mobile=mobile)
    services.call_next(dr_rao)
    services.start_consultation(dr_rao, token)
    services.complete_token(
        dr_rao, token, send_on=[NextStop(lab, note="Fasting sugar, suspected diabetes")]
    )
    staff = CounterStaff.objects.get(counter=lab_counter_2)
    return services.call_next(lab_counter_2, actor=staff.user)


def test_a_laboratory_token_shows_its_counter_not_a_room(client, orth, dr_rao, lab, lab_counter_2):
    called = lab_token_at_counter_2(orth, dr_rao, lab, lab_counter_2, mobile="98123 45678")
    assert called.display_number == "LAB-001"
    response = client.get(f"/display/?departments={lab.slug}")
    state = initial_states(response)[lab.slug]
    (entry,) = state["serving"]
    assert entry["token"] == "LAB-001"
    assert entry["place"] == "Counter 2"
    assert "Room" not in json.dumps(state)
    html = response.content.decode()
    for secret in ["Asha", "Ramachandran", "98123", "Fasting", "diabetes"]:
        assert secret not in html


def test_the_picker_lists_service_departments_too(client, orth, lab, pharmacy):
    html = client.get("/display/").content.decode()
    assert 'name="d" value="lab"' in html and 'name="d" value="phar"' in html
    assert "(LAB, counters)" in html and "(ORTH)" in html


def test_the_picker_offers_the_screens_language_and_the_spoken_ones(client, orth):
    html = client.get("/display/?lang=ta").content.decode()
    for code in ["en", "hi", "ta"]:
        assert f'name="lang" value="{code}"' in html
        assert f'name="languages" value="{code}"' in html
    assert 'name="lang" value="ta" checked' in html
    assert 'name="languages" value="ta" checked' in html
    assert 'name="languages" value="en" checked' not in html
    assert "--autoplay-policy=no-user-gesture-required" in html


def test_the_tv_gets_each_tokens_category_in_words_and_when_a_call_was_repeated(
    client, orth, dr_rao, admin_user
):
    from queues.models import PriorityCategory

    senior = PriorityCategory.objects.get(name="Senior citizen (60+)")
    services.issue_token(orth, "Asha Rao", category=senior)
    services.issue_token(orth, "Bala Krishnan")
    called = services.call_next(dr_rao)
    services.announce_again(called, actor=admin_user)
    services.issue_token(orth, "Chitra Menon", category=senior)
    state = initial_states(client.get("/display/?departments=orth"))["orth"]
    (serving,) = state["serving"]
    assert serving["category"] == senior.label and serving["announced_at"]
    assert state["categories"] == {"ORTH-003": senior.label}
    assert "ORTH-002" not in state["categories"]  # general tokens carry no label
