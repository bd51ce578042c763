"""The TV's spoken call from audio clips: the sentence in each language as a list of
clips (queues.announce), the clips make_audio_clips makes, and a hospital's recordings
taking their place."""

import shutil
import wave

import pytest
from django.core.management import CommandError, call_command

from queues import announce, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clip_dirs(settings, tmp_path):
    settings.AUDIO_CLIPS_DIR = tmp_path / "generated"
    settings.RECORDED_AUDIO_DIR = tmp_path / "recorded"
    return settings.AUDIO_CLIPS_DIR, settings.RECORDED_AUDIO_DIR


def write_wav(path, seconds: float = 0.2, rate: int = 22050) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(b"\x10\x00" * int(rate * seconds))


def called_in_room_4(orth, dr_rao, number: int = 7):
    for i in range(number):
        services.issue_token(orth, f"Patient {i}")
    for _ in range(number - 1):
        token = services.call_next(dr_rao)
        services.skip_token(dr_rao, token)
    return services.call_next(dr_rao)


# --- The sentence as clips ----------------------------------------------------------------


def test_a_room_call_is_said_in_each_languages_own_order(orth, dr_rao):
    token = called_in_room_4(orth, dr_rao)
    assert token.display_number == "ORTH-007"
    said = announce.announcement(token)
    spelled = ["l-o", "l-r", "l-t", "l-h", "n-7"]
    assert said["en"]["clips"] == [
        f"en/{c}" for c in ["token", *spelled, "please-go-to", "room", "n-4"]
    ]
    # "टोकन ORTH सात, कृपया कमरा चार में जाएँ"
    assert said["hi"]["clips"] == [
        f"hi/{c}" for c in ["token", *spelled, "please", "room", "n-4", "go-into"]
    ]
    assert said["ta"]["clips"] == [
        f"ta/{c}" for c in ["token", *spelled, "room", "n-4", "please-go"]
    ]
    assert said["hi"]["text"] == "टोकन O R T H 7, कृपया कमरा 4 में जाएँ"
    assert said["en"]["text"] == "Token O R T H 7, please go to room 4"


@pytest.mark.parametrize(
    "number, clips",
    [
        (0, ["n-0"]),
        (100, ["n-100"]),
        (300, ["n-300"]),
        (347, ["h-3", "n-47"]),
        (905, ["h-9", "n-5"]),
        (1204, ["n-1", "n-2", "n-0", "n-4"]),
    ],
)
def test_numbers_are_composed_of_the_clips_there_are(number, clips):
    names = {clip.name for clip in announce.vocabulary("ta")}
    made = [clip.name for clip in announce.number_clips("ta", number)]
    assert made == clips
    assert set(made) <= names


def test_tamil_joins_a_hundred_to_what_follows():
    assert announce.number_clips("ta", 347)[0].text == "முன்னூற்று"
    assert announce.number_clips("ta", 300)[0].text == "300"


def test_a_room_with_letters_is_spelled_and_one_in_another_script_falls_back_to_the_voice():
    text, clips = announce.sentence("en", "ENT", 12, room="12A")
    assert [c.name for c in clips][-2:] == ["n-12", "l-a"]
    text, clips = announce.sentence("hi", "ENT", 12, room="कक्ष")
    assert clips is None
    assert "कक्ष" in text


def test_a_counter_is_said_by_its_name_in_the_language(lab, lab_counter_2):
    lab_counter_2.name_ta = "கவுண்டர் 2"
    lab_counter_2.save()
    _, english = announce.sentence("en", "LAB", 1, counter=lab_counter_2)
    _, tamil = announce.sentence("ta", "LAB", 1, counter=lab_counter_2)
    _, hindi = announce.sentence("hi", "LAB", 1, counter=lab_counter_2)
    assert english[-1] == announce.name_clip("Counter 2")
    assert tamil[-2] == announce.name_clip("கவுண்டர் 2")
    # No Hindi name given: the English one, said by the Hindi voice, before "पर जाएँ".
    assert hindi[-2] == announce.name_clip("Counter 2") and hindi[-1].name == "go-to"
    # A renamed counter needs a new clip: the old one says the old name.
    assert announce.name_clip("Counter 3").name != english[-1].name


# --- Making the clips ---------------------------------------------------------------------


def valid_audio(path) -> bool:
    with wave.open(str(path), "rb") as clip:
        return clip.getnframes() > 0 and 8000 <= clip.getframerate() <= 48000


def test_every_clip_a_demo_call_needs_is_made_and_is_audio(
    clip_dirs, orth, dr_rao, lab, lab_counter_2
):
    if shutil.which("espeak-ng") is None:
        from tests.conftest import require_in_ci

        require_in_ci("espeak-ng", "install the Debian package `espeak-ng`")
    lab_counter_2.name_hi, lab_counter_2.name_ta = "काउंटर 2", "கவுண்டர் 2"
    lab_counter_2.save()
    generated, _ = clip_dirs
    call_command("make_audio_clips")

    from tests.queues.test_views_display import lab_token_at_counter_2

    calls = [lab_token_at_counter_2(orth, dr_rao, lab, lab_counter_2)]
    calls.append(called_in_room_4(orth, dr_rao))
    for token in calls:
        for language, said in announce.announcement(token).items():
            assert said["clips"], (token, language)
            for name in said["clips"]:
                path = announce.find_clip(*name.split("/"))
                assert path is not None and path.parent.parent == generated, name
                assert valid_audio(path), name
    # The composed numbers too (a busy day passes ORTH-100).
    for language in announce.LANGUAGES:
        for clip in announce.number_clips(language, 347):
            assert valid_audio(generated / language / f"{clip.name}.wav")

    # --if-missing keeps what is there.
    kept = generated / "hi" / "token.wav"
    write_wav(kept, seconds=0.5)
    before = kept.read_bytes()
    call_command("make_audio_clips", "--if-missing")
    assert kept.read_bytes() == before


def test_a_recorded_clip_is_played_instead_of_the_generated_one(clip_dirs):
    generated, recorded = clip_dirs
    write_wav(generated / "hi" / "token.wav")
    write_wav(generated / "hi" / "please.wav")
    write_wav(recorded / "hi" / "token.wav", seconds=0.4)
    write_wav(recorded / "ta" / "room.mp3")  # any of the documented formats
    assert announce.find_clip("hi", "token") == recorded / "hi" / "token.wav"
    assert announce.find_clip("hi", "please") == generated / "hi" / "please.wav"
    manifest = announce.available_clips()
    assert manifest["hi/token"] == "/static/audio/hi/token.wav"
    assert manifest["ta/room"] == "/static/audio/ta/room.mp3"
    assert set(manifest) == {"hi/token", "hi/please", "ta/room"}


@pytest.mark.parametrize(
    "name", ["Token.wav", "to ken.wav", "token.wav.exe", ".hidden.wav", "token.txt", "ünï.wav"]
)
def test_a_file_with_a_name_that_is_no_clip_name_is_not_offered(clip_dirs, name):
    _, recorded = clip_dirs
    write_wav(recorded / "hi" / name)
    write_wav(recorded / "xx" / "token.wav")  # not a language of ours
    assert announce.available_clips() == {}


def test_a_clip_name_cannot_reach_outside_the_folders(clip_dirs):
    generated, _ = clip_dirs
    write_wav(generated / "secret.wav")
    assert announce.find_clip("hi", "../secret") is None
    assert announce.find_clip("..", "secret") is None


def test_the_command_refuses_an_unknown_language(clip_dirs):
    with pytest.raises(CommandError, match="Unknown language xx"):
        call_command("make_audio_clips", "--languages", "hi,xx")
    assert not clip_dirs[0].exists()


def test_the_list_names_each_file_and_its_words(clip_dirs, lab_counter_2, capsys):
    call_command("make_audio_clips", "--list", "--languages", "hi")
    out = capsys.readouterr().out
    assert "hi/token.wav\tटोकन" in out
    assert f"hi/{announce.name_clip('Counter 2').name}.wav\tCounter 2" in out
    assert not clip_dirs[0].exists()
