"""Which language a message is in, among the ones a business answers in: decided here, not left to the LLM.

Script decides first (Devanagari, Tamil, Bengali, … are unambiguous). Latin-script text is English unless
enough of its words are Hindi function words: Hinglish ("mujhe 3 BHK chahiye, budget kitna hai") is Hindi
written in Latin letters, and is answered the same way. Cheap (one pass over the characters, one over the
words), so it runs on every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

NAMES = {
    "en": "English",
    "hi": "Hindi",
    "mr": "Marathi",
    "bn": "Bengali",
    "gu": "Gujarati",
    "pa": "Punjabi",
    "ta": "Tamil",
    "te": "Telugu",
    "kn": "Kannada",
    "ml": "Malayalam",
    "or": "Odia",
    "ur": "Urdu",
    "ar": "Arabic",
}

# Unicode blocks → the language a business most likely means by them. Devanagari is Hindi unless the
# business answers in Marathi and not in Hindi.
_SCRIPTS: tuple[tuple[int, int, tuple[str, ...]], ...] = (
    (0x0900, 0x097F, ("hi", "mr")),
    (0x0980, 0x09FF, ("bn",)),
    (0x0A00, 0x0A7F, ("pa",)),
    (0x0A80, 0x0AFF, ("gu",)),
    (0x0B00, 0x0B7F, ("or",)),
    (0x0B80, 0x0BFF, ("ta",)),
    (0x0C00, 0x0C7F, ("te",)),
    (0x0C80, 0x0CFF, ("kn",)),
    (0x0D00, 0x0D7F, ("ml",)),
    (0x0600, 0x06FF, ("ur", "ar")),
)

# Words that occur in nearly every Hinglish sentence and are not English words ("the", "to", "main",
# "mere", "par" are both, so they are left out).
_HINGLISH = frozenset(
    {
        "hai",
        "hain",
        "tha",
        "thi",
        "ho",
        "hoga",
        "hogi",
        "kya",
        "kyu",
        "kyun",
        "kaise",
        "kaisa",
        "kitna",
        "kitne",
        "kitni",
        "kab",
        "kahan",
        "kaun",
        "mujhe",
        "mujhko",
        "mera",
        "meri",
        "humein",
        "hamara",
        "aap",
        "aapka",
        "aapki",
        "aapko",
        "tumhara",
        "mein",
        "ko",
        "se",
        "ka",
        "ki",
        "ke",
        "nahi",
        "nahin",
        "haan",
        "ji",
        "bhi",
        "aur",
        "lekin",
        "toh",
        "wala",
        "wali",
        "wale",
        "chahiye",
        "chahte",
        "chahta",
        "chahti",
        "karna",
        "karo",
        "karein",
        "kariye",
        "kar",
        "raha",
        "rahi",
        "rahe",
        "sakta",
        "sakti",
        "sakte",
        "batao",
        "bataye",
        "bataiye",
        "dijiye",
        "bhejo",
        "bhejiye",
        "abhi",
        "kal",
        "aaj",
        "jaldi",
        "accha",
        "acha",
        "theek",
        "thik",
        "sirf",
        "bahut",
        "kuch",
        "koi",
        "yahan",
        "wahan",
        "liye",
    }
)
_WORD = re.compile(r"[a-z]+")
_MIN_HINGLISH_WORDS = 2
_MIN_HINGLISH_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    romanized: bool = False  # written in Latin letters although the language has its own script

    def instruction(self) -> str:
        """The line a turn adds to the system prompt so the model answers in this language."""
        name = NAMES.get(self.code, self.code)
        if self.romanized:
            return (
                f"The customer writes {name} in Latin letters: reply in {name} the same way (Latin letters)."
            )
        return f"Reply in {name}."


def detect(text: str) -> Language | None:
    """The message's language, or None when nothing in it says (digits, emoji, a name)."""
    counts: dict[tuple[str, ...], int] = {}
    latin = 0
    for ch in text:
        point = ord(ch)
        if point < 0x80:
            latin += ch.isalpha()
            continue
        for low, high, languages in _SCRIPTS:
            if low <= point <= high:
                counts[languages] = counts.get(languages, 0) + 1
                break
    if counts:
        languages, letters = max(counts.items(), key=lambda item: item[1])
        if letters >= latin:
            return Language(languages[0])
    words = _WORD.findall(text.lower())
    if not words:
        return None
    hindi = sum(w in _HINGLISH for w in words)
    if hindi >= _MIN_HINGLISH_WORDS and hindi / len(words) >= _MIN_HINGLISH_SHARE:
        return Language("hi", romanized=True)
    return Language("en")


def reply_language(text: str, supported: Sequence[str], default: str) -> Language:
    """The person's language when the business answers in it, else the business's default."""
    found = detect(text)
    if found is None:
        return Language(default)
    if found.code in supported:
        return found
    if not found.romanized:  # the script's other language (Devanagari for a Marathi-only business)
        for _, _, languages in _SCRIPTS:
            if found.code == languages[0]:
                other = next((code for code in languages[1:] if code in supported), None)
                if other is not None:
                    return Language(other)
    return Language(default)
