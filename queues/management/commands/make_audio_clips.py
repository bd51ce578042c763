"""Make the TV's spoken-call clips with espeak-ng, once.

    manage.py make_audio_clips               # every clip, made again
    manage.py make_audio_clips --if-missing  # only clips not there yet (make run)
    manage.py make_audio_clips --list        # the file names and words, for recording

Clips go to settings.AUDIO_CLIPS_DIR/<language>/<clip>.wav (the vocabulary of
queues.announce: phrases, numbers, letters, and the active counters' names). A hospital's
own recordings in RECORDED_AUDIO_DIR with the same names are played instead; `--list`
prints what to record.
"""

import array
import shutil
import subprocess
import wave
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hospital.models import Counter
from queues import announce

# espeak-ng's voice per language; a little slower than its default, for a waiting hall.
VOICES = {"en": "en", "hi": "hi", "ta": "ta"}
WORDS_PER_MINUTE = "150"


# Quieter than this (of 32767) counts as silence; a little of it is kept at each end.
SILENCE = 400
KEEP_SECONDS = 0.04


def trim_silence(path: Path) -> None:
    """Cut espeak-ng's silence before and after the words: chained clips otherwise
    leave long gaps inside one sentence ("Token … O … R …")."""
    with wave.open(str(path), "rb") as clip:
        params = clip.getparams()
        frames = clip.readframes(params.nframes)
    if params.sampwidth != 2 or params.nchannels != 1:
        return
    samples = array.array("h", frames)
    first = next((i for i, s in enumerate(samples) if abs(s) > SILENCE), None)
    if first is None:
        return
    last = next(i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) > SILENCE)
    keep = int(params.framerate * KEEP_SECONDS)
    start, end = max(0, first - keep), min(len(samples), last + keep)
    with wave.open(str(path), "wb") as clip:
        clip.setparams(params)
        clip.writeframes(samples[start:end].tobytes())


class Command(BaseCommand):
    help = "Make the audio clips the waiting-room TV composes spoken calls from (espeak-ng)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-missing", action="store_true", help="Keep clips that exist already."
        )
        parser.add_argument(
            "--languages",
            default=",".join(announce.LANGUAGES),
            help="Comma-separated: en, hi, ta (default all).",
        )
        parser.add_argument("--list", action="store_true", help="Print the clips, make none.")
        parser.add_argument("--out", help="Folder to write to (default AUDIO_CLIPS_DIR).")

    def handle(self, *args, **options):
        languages = [code.strip() for code in options["languages"].split(",") if code.strip()]
        unknown = [code for code in languages if code not in announce.LANGUAGES]
        if unknown or not languages:
            raise CommandError(
                f"Unknown language {', '.join(unknown) or '(none)'}; choose from "
                f"{', '.join(announce.LANGUAGES)}."
            )
        counters = list(Counter.objects.filter(is_active=True, department__is_active=True))
        out = Path(options["out"] or settings.AUDIO_CLIPS_DIR)
        if options["list"]:
            for language in languages:
                for clip in announce.vocabulary(language, counters):
                    self.stdout.write(f"{language}/{clip.name}.wav\t{clip.text}")
            return
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise CommandError(
                "espeak-ng is not installed (Debian: apt install espeak-ng); the TV falls "
                "back to the browser's voice."
            )
        made = kept = 0
        for language in languages:
            folder = out / language
            folder.mkdir(parents=True, exist_ok=True)
            for clip in announce.vocabulary(language, counters):
                path = folder / f"{clip.name}.wav"
                if options["if_missing"] and path.is_file() and path.stat().st_size > 44:
                    kept += 1
                    continue
                # Written beside and renamed, so a TV never fetches half a file.
                partial = path.with_suffix(".part")
                try:
                    subprocess.run(
                        [espeak, "-v", VOICES[language], "-s", WORDS_PER_MINUTE,
                         "-w", str(partial), "--", clip.text],
                        check=True, capture_output=True, timeout=30,
                    )  # fmt: skip
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                    partial.unlink(missing_ok=True)
                    raise CommandError(
                        f"espeak-ng failed on {language}/{clip.name}: {exc}"
                    ) from exc
                trim_silence(partial)
                partial.replace(path)
                made += 1
        self.stdout.write(f"Audio clips in {out}: {made} made, {kept} kept.")
