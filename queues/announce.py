"""The spoken call, as a list of short audio clips per language.

A TV plays "Token ORTH seven, please go to room four" by chaining clips served as static
files (static/audio/<language>/<clip>.wav), so it never depends on the TV's browser
having a voice for Hindi or Tamil. Each language says the call in its own sentence, built
here from the same small vocabulary the `make_audio_clips` command records: fixed
phrases, numbers (0–100, the hundreds, composed up to 999), Latin letters (department
codes are spelled as staff read them: O R T H), and one clip per counter name.

Clip names are [a-z0-9-] only; a hospital's recorded clips use the same names
(RECORDED_AUDIO_DIR/<language>/<clip>.wav|.mp3|.ogg) and take precedence.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.templatetags.static import static

from hospital.languages import localized

# The languages the TV can announce in; a clip folder per language.
LANGUAGES = ("en", "hi", "ta")
# Formats a recorded clip may have (browsers play all three); generated clips are WAV.
AUDIO_FORMATS = (".wav", ".mp3", ".ogg")
CLIP_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,40}")

# The fixed words of the sentence in each language, as the clip's name -> the text the
# speech engine reads. These are the call's vocabulary rather than translations of one
# English template: each language orders the words its own way (see SENTENCES), and the
# text must match the recorded audio, so they live here and not in the .po catalogs.
PHRASES = {
    "en": {
        "token": "Token",
        "please-go-to": "please go to",
        "room": "room",
    },
    "hi": {
        "token": "टोकन",
        "please": "कृपया",
        "room": "कमरा",
        "go-into": "में जाएँ",
        "go-to": "पर जाएँ",
    },
    "ta": {
        "token": "டோக்கன்",
        "room": "அறை எண்",
        "please-go": "தயவுசெய்து செல்லவும்",
    },
}

# Each language's sentence: "{token}" is the code spelled and the number, "{room}" the
# room's number (or letters), "{counter}" the counter's name clip.
SENTENCES = {
    "en": {
        "room": ["token", "{token}", "please-go-to", "room", "{room}"],
        "counter": ["token", "{token}", "please-go-to", "{counter}"],
    },
    # "टोकन ORTH सात, कृपया कमरा चार में जाएँ"
    "hi": {
        "room": ["token", "{token}", "please", "room", "{room}", "go-into"],
        "counter": ["token", "{token}", "please", "{counter}", "go-to"],
    },
    # "டோக்கன் ORTH ஏழு, அறை எண் நான்கு, தயவுசெய்து செல்லவும்": the room as a plain
    # number phrase, so no case ending has to be glued onto a number clip.
    "ta": {
        "room": ["token", "{token}", "room", "{room}", "please-go"],
        "counter": ["token", "{token}", "{counter}", "please-go"],
    },
}

# Latin letters as staff read them aloud, in each language's script (espeak-ng reads
# the English voice's capital letters by name itself).
LETTERS = {
    "en": {c: c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    "hi": dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "ए बी सी डी ई एफ़ जी एच आई जे के एल एम एन ओ पी क्यू आर एस टी यू वी डब्ल्यू एक्स वाई ज़ेड".split(),
            strict=True,
        )
    ),
    "ta": dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            (
                "ஏ பி சி டி ஈ எஃப் ஜி ஹெச் ஐ ஜே கே எல் எம் என் ஓ பி க்யூ ஆர் எஸ் டி யூ வி டபிள்யூ எக்ஸ் வை இசட்"
            ).split(),
            strict=True,
        )
    ),
}

# A hundred that more follows ("three hundred | forty-seven"): Tamil changes the word
# (முன்னூறு alone, முன்னூற்று before more); clip h-3 is that joining form.
HUNDREDS_JOINING = {
    "en": {k: f"{word} hundred" for k, word in enumerate(
        "one two three four five six seven eight nine".split(), start=1)},
    "hi": {k: f"{word} सौ" for k, word in enumerate(
        "एक दो तीन चार पाँच छह सात आठ नौ".split(), start=1)},
    "ta": dict(enumerate(
        "நூற்று இருநூற்று முன்னூற்று நானூற்று ஐந்நூற்று அறுநூற்று எழுநூற்று எண்ணூற்று "
        "தொள்ளாயிரத்து".split(), start=1)),
}  # fmt: skip

NUMBERS = [*range(0, 101), *range(200, 1000, 100)]


@dataclass(frozen=True)
class Clip:
    """One clip: its name in the language's folder and the words it says."""

    name: str
    text: str


def number_clips(language: str, n: int) -> list[Clip]:
    """A number as clips: 0–100 and the round hundreds each one clip, 101–999 a joining
    hundred and the rest, anything larger digit by digit."""
    if n <= 100 or (n < 1000 and n % 100 == 0):
        return [Clip(f"n-{n}", str(n))]
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [
            Clip(f"h-{hundreds}", HUNDREDS_JOINING[language][hundreds]),
            *number_clips(language, rest),
        ]
    return [Clip(f"n-{d}", d) for d in str(n)]


def letter_clip(language: str, letter: str) -> Clip:
    return Clip(f"l-{letter.lower()}", LETTERS[language][letter.upper()])


def spelled(language: str, text: str) -> list[Clip] | None:
    """Letters and numbers as staff read them ("ORTH" -> O R T H, "12A" -> twelve A);
    None if the text has anything else we have no clip for (a room "G/12" is fine: the
    separators are silent)."""
    clips: list[Clip] = []
    for part in re.findall(r"[0-9]+|[A-Za-z]|[^0-9A-Za-z\s\-/.]+", text):
        if part.isdigit():
            clips += number_clips(language, int(part))
        elif part.isascii() and part.isalpha():
            clips.append(letter_clip(language, part))
        else:
            return None
    return clips or None


def name_clip(text: str) -> Clip:
    """A counter's name ("Counter 2", "काउंटर 2"): named after its words, so a renamed
    counter gets a new clip rather than the old name's."""
    digest = hashlib.sha1(text.strip().encode()).hexdigest()[:10]
    return Clip(f"name-{digest}", text.strip())


def phrase(language: str, name: str) -> Clip:
    return Clip(name, PHRASES[language][name])


def sentence(language: str, code: str, number: int, *, room: str = "", counter=None):
    """The call in one language: (the text as a whole, its clips or None when some part
    cannot be said with clips). `counter`: the Counter serving the token, else `room`."""
    token_clips = spelled(language, code)
    number_part = number_clips(language, number)
    if counter is not None:
        place_clips = [name_clip(localized(counter, "name", language))]
        template = SENTENCES[language]["counter"]
    else:
        place_clips = spelled(language, room)
        template = SENTENCES[language]["room"]
    parts: list[Clip] | None = []
    for item in template:
        if item == "{token}":
            chunk = token_clips + number_part if token_clips is not None else None
        elif item == "{room}":
            chunk = place_clips
        elif item == "{counter}":
            chunk = place_clips
        else:
            chunk = [phrase(language, item)]
        if chunk is None:
            parts = None
            break
        parts += chunk
    text = spoken_text(language, code, number, room=room, counter=counter)
    return text, parts


def spoken_text(language: str, code: str, number: int, *, room: str = "", counter=None) -> str:
    """The sentence as words for the browser's own speech (the fallback): the code
    spaced into letters so a voice spells it, the numbers as digits."""
    words = {
        "{token}": f"{' '.join(code)} {number}",
        "{room}": room,
        "{counter}": localized(counter, "name", language) if counter is not None else "",
    }
    template = SENTENCES[language]["counter" if counter is not None else "room"]
    said = [words.get(item) or PHRASES[language].get(item, "") for item in template]
    # The pause after the token number, as a comma.
    return (" ".join(said[:2]) + ", " + " ".join(said[2:])).strip()


def announcement(token, languages=LANGUAGES, code: str = "") -> dict[str, dict]:
    """{language: {"text": ..., "clips": ["hi/token", ...] or []}} for a called token
    (`code`: its department's, if the caller has it at hand). An empty clip list means
    "say the text with the browser's voice"."""
    code = code or token.department.code
    counter = token.counter if token.counter_id else None
    room = token.doctor.room if token.doctor_id else ""
    result = {}
    for language in languages:
        text, clips = sentence(language, code, token.number, room=room, counter=counter)
        result[language] = {
            "text": text,
            "clips": [f"{language}/{c.name}" for c in clips] if clips else [],
        }
    return result


# --- The clips the command makes and the TV may play ------------------------------------


def vocabulary(language: str, counters=()) -> list[Clip]:
    """Every clip a call in `language` may need: the fixed phrases, the numbers, the
    letters, and the names of `counters`."""
    clips = [phrase(language, name) for name in PHRASES[language]]
    clips += [Clip(f"n-{n}", str(n)) for n in NUMBERS]
    clips += [Clip(f"h-{k}", text) for k, text in HUNDREDS_JOINING[language].items()]
    clips += [letter_clip(language, c) for c in LETTERS[language]]
    names = {localized(counter, "name", language).strip() for counter in counters}
    clips += [name_clip(name) for name in sorted(names) if name]
    return clips


def clip_dirs() -> list[Path]:
    """Where clips are looked for, the hospital's recordings first."""
    return [Path(settings.RECORDED_AUDIO_DIR), Path(settings.AUDIO_CLIPS_DIR)]


def find_clip(language: str, name: str) -> Path | None:
    """The file that plays clip `language/name`: a recorded one before a generated one;
    None for a name that is not a clip name (nothing outside the folders is reachable)."""
    if language not in LANGUAGES or not CLIP_NAME.fullmatch(name):
        return None
    for folder in clip_dirs():
        for suffix in AUDIO_FORMATS:
            path = folder / language / f"{name}{suffix}"
            if path.is_file():
                return path
    return None


def available_clips(languages=LANGUAGES) -> dict[str, str]:
    """{"hi/token": "/static/audio/hi/token.wav", ...} for every clip on disk, recorded
    ones first: the TV plays a sentence from clips only if all its clips are here."""
    manifest: dict[str, str] = {}
    for folder in reversed(clip_dirs()):  # later (recorded) entries overwrite generated
        for language in languages:
            directory = folder / language
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                if path.suffix not in AUDIO_FORMATS or not CLIP_NAME.fullmatch(path.stem):
                    continue
                try:
                    manifest[f"{language}/{path.stem}"] = static(f"audio/{language}/{path.name}")
                except ValueError:
                    # Hashed static files (production) without this clip collected:
                    # run collectstatic after making or dropping clips.
                    continue
    return manifest
