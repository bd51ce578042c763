"""A TV set to speak Tamil and Hindi says each call in both, from the generated clips,
one call after the other: two quick calls never talk over each other."""

import shutil

import pytest
from django.core.management import call_command

from queues import announce, services
from queues.models import Token
from tests.conftest import require_in_ci
from tests.servers import DaphneServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(browser_with_autoplay):
    """Chromium as a wall TV runs it: sound allowed without a click."""
    return browser_with_autoplay


@pytest.fixture
def clip_server(transactional_db, tmp_path, dr_rao, dr_iyer):
    if shutil.which("espeak-ng") is None:
        require_in_ci("espeak-ng", "install the Debian package `espeak-ng`")
    generated = tmp_path / "generated"
    call_command("make_audio_clips", "--languages", "ta,hi", "--out", str(generated))
    env = {"AUDIO_CLIPS_DIR": str(generated), "RECORDED_AUDIO_DIR": str(tmp_path / "recorded")}
    with DaphneServer(extra_env=env) as running:
        yield running


def expected_log(token: Token) -> list[str]:
    """The chime, then the Tamil sentence's clips, then the Hindi sentence's."""
    said = announce.announcement(token, ["ta", "hi"])
    return ["chime"] + [
        f"/static/audio/{name}.wav" for language in ("ta", "hi") for name in said[language]["clips"]
    ]


def test_two_quick_calls_are_said_in_tamil_then_hindi_one_after_the_other(
    clip_server, new_page, orth, dr_rao, dr_iyer
):
    services.issue_token(orth, "Asha Rao")
    services.issue_token(orth, "Bala Iyer")
    tv = new_page(viewport={"width": 1920, "height": 1080})
    tv.goto(f"{clip_server.url}/display/?departments=orth&languages=ta,hi")
    tv.wait_for_selector("#tv-status.live")
    # Started with the autoplay flag, the TV asks for no click.
    assert tv.locator("#tv-sound-gate").is_hidden()
    assert tv.evaluate("window.announcementLog") == []

    first = services.call_next(dr_rao)
    second = services.call_next(dr_iyer)
    expected = expected_log(first) + expected_log(second)
    assert "/static/audio/ta/token.wav" in expected and "/static/audio/hi/go-into.wav" in expected

    # The last clip of the second call has started: everything before it was played.
    tv.wait_for_function(
        "n => window.announcementLog.length >= n", arg=len(expected), timeout=len(expected) * 3000
    )
    assert tv.evaluate("window.announcementLog") == expected
    # Each sentence came from clips; the browser's voice was not needed.
    assert not any(entry.startswith("speech:") for entry in expected)
