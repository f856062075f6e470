"""Person names, by rule: trigger phrases ("my name is", "mera naam … hai"), honorifics, and known given-name +
surname pairs. No NER model is needed (none is available offline); lists live in `data/`."""

from __future__ import annotations

import itertools
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from pipelines.pii.common_words import is_label_or_common
from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# Possessive: a Devanagari letter matches both alternatives, and a backtracking `+` over them is exponential.
_LETTERS = r"(?:[^\W\d_]|[\u0900-\u0963\u0971-\u097F])++"  # Devanagari vowel signs are not \w
_WORD = rf"{_LETTERS}(?:'{_LETTERS})?"  # D'Souza

# Words that end a name or can never be one (Hinglish verbs, fillers, common chat words).
_STOP = frozenset(
    [
        "है",
        "हूँ",
        "हूं",
        "हैं",
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "is",
        "am",
        "are",
        "was",
        "were",
        "be",
        "been",
        "hai",
        "hain",
        "hoon",
        "hun",
        "hu",
        "ho",
        "tha",
        "thi",
        "here",
        "there",
        "from",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "calling",
        "speaking",
        "writing",
        "interested",
        "looking",
        "asking",
        "sending",
        "this",
        "that",
        "it",
        "i",
        "me",
        "my",
        "mera",
        "meri",
        "naam",
        "nam",
        "sir",
        "madam",
        "ji",
        "please",
        "pls",
        "plz",
        "hello",
        "hi",
        "hey",
        "ok",
        "okay",
        "yes",
        "no",
        "not",
        "sure",
        "just",
        "also",
        "want",
        "need",
        "would",
        "like",
        "can",
        "could",
        "will",
        "about",
        "regarding",
        "your",
        "our",
        "you",
        "we",
        "they",
        "he",
        "she",
        "him",
        "her",
        "his",
        "their",
        "urgent",
        "fine",
        "good",
        "well",
        "new",
        "old",
        "back",
        "again",
        "still",
        "tomorrow",
        "today",
        "tonight",
        "now",
        "soon",
        "asap",
        "kal",
        "aaj",
        "abhi",
        "pe",
        "par",
        "se",
        "ko",
        "ka",
        "ki",
        "ke",
        "mein",
        "kya",
        "kaun",
        "kis",
        "apna",
        "pura",
        "sahi",
        "अपना",
        "पूरा",
        "सही",
        "na",
        "toh",
        "bhi",
        "ना",
        "तो",
        "भी",
        "क्या",
        "कौन",
        "से",
        "को",
        "का",
        "की",
        "के",
        "में",
        "पर",
        "यहाँ",
        "यहां",
    ]
)

STOP_WORDS = _STOP  # for the frame detector (name_frames.py)

# Triggers after which any following non-stop words are a name, and those after which only a known name is.
_SURE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name\s*+[:=-]|call\s+me|mera\s+naam(?:\s++hai)?|mera\s+nam(?:\s++hai)?|"
    r"naam\s+hai|i\s+am\s+called|(?:customer|full|receiver|recipient)\s+name(?:\s++is)?|myself)"
    r"\s++|मेरा\s+नाम\s++(?:है\s++)?",
    re.IGNORECASE,
)
_MAYBE = re.compile(
    r"\b(?:(?P<self>this\s+is|i\s+am|i'm|im|main|mai|it's|its|मैं)|deliver(?:ed)?\s++(?:it\s++)?to|parcel|"
    r"(?:order|bill)\s+is\s+for|addressed\s+to|for|(?:hand|give)\s++(?:it\s++)?(?:over\s++)?to)\s++",
    re.IGNORECASE,
)
# Phrases that follow a name: "Arjun ke naam pe bill", "गीता के नाम पर", "parcel Ramesh ko dena", "Suresh
# here", "Rahul this side"; after "Priya ko call karo", "Priya को बता दो" (said of shops and offices too) only a
# known name part.
_BEFORE = re.compile(
    r"(?<!\s)\s++(?:(?P<sure>ke\s+naam|ke\s+nam|के\s+नाम|ko\s+dena|को\s+देना|bol\s+rah[ai]|बोल\s+रह|this\s+side\b)|"
    r"(?P<known>(?:ko|को)\s+(?:call|phone|bata|कॉल|फोन|फ़ोन|बता))|here\b|speaking\b)",
    re.IGNORECASE,
)
# After a sure name-final phrase, an unlisted lower-case word is a name ("parcel dhanush ko dena") unless it is
# one of the things and people such phrases also follow.
_NOT_NAMES = frozenset(
    {
        "bill", "parcel", "order", "invoice", "payment", "paise", "paisa", "saman", "samaan", "product", "item",
        "items", "delivery", "courier", "package", "box", "gift", "card", "account", "khata", "company", "firm",
        "office", "ghar", "dukaan", "dukan", "shop", "bhai", "bhaiya", "didi", "behen", "papa", "mummy", "mom",
        "dad", "uncle", "aunty", "beta", "beti", "driver", "guard", "watchman", "neighbour", "padosi", "aap",
        "hum", "tum", "sab", "kisi", "uske", "unke", "mere", "tere", "apne", "hamare",
    }
)  # fmt: skip
# Honorifics, and "naam" ("naam Tejaswini likh lo"): a capitalized or known word after them is a name.
_HONORIFIC = re.compile(r"\b(?:mr|mrs|ms|miss|dr|shri|sri|smt|kumari|mister|naam)\b\.?\s++", re.IGNORECASE)
# A sign-off, then a name that ends the message, its line or its clause: "Regards, Hrithik Rizvi", "Thanks - Amit",
# "धन्यवाद, Harish, …".
_SIGN_OFF = re.compile(
    r"\b(?:regards|thanks|thank\s+you|thx|cheers|best|sincerely|dhanyavaad|shukriya|धन्यवाद|शुक्रिया)(?:\s*+[,:-])?\s++",
    re.IGNORECASE,
)
_LINE_END = re.compile(r"\s*+(?:[.!,]|$)|[^\S\n]*+\n")
# "naam Oindrila Shah likh lo": the words between "naam" and "write it down" are the name.
_NAME_FRAME = re.compile(
    rf"\b(?:naam|name|नाम)\s++(?P<name>{_WORD}(?:\s++{_WORD}){{0,2}})\s++"
    r"(?:(?:likh|likho|likhna|likhiye|likhe|daal|daalo|note)\b|लिख|डाल|नोट)",
    re.IGNORECASE,
)
_TOKEN = re.compile(_WORD)
_NOT_LETTERS = re.compile(r"[^\w\u0900-\u0963\u0971-\u097F]+|[\d_]+")  # splits text where _TOKEN's words end
# Given names that are also gods' names: "Ganesh ji ki murti" is about the god, not a person called Ganesh.
_DEITIES = frozenset(
    {
        "ganesh",
        "ram",
        "krishna",
        "hanuman",
        "shiv",
        "shiva",
        "durga",
        "lakshmi",
        "sai",
        "balaji",
        "vishnu",
        "ganpati",
        "गणेश",
        "राम",
        "कृष्ण",
        "हनुमान",
        "शिव",
        "दुर्गा",
        "लक्ष्मी",
        "साईं",
        "बालाजी",
        "विष्णु",
        "गणपति",
    }
)

DEITIES = _DEITIES  # for the frame detector's honorific cue (name_frames.py)


@cache
def _lexicon(*names: str) -> frozenset[str]:
    """Names in Latin script (matched lower-case) and in Devanagari, one file each."""
    words: set[str] = set()
    for name in names:
        text = resources.files("pipelines.pii").joinpath("data", name).read_text(encoding="utf-8")
        words.update(line.strip().lower() for line in text.splitlines() if line.strip())
    return frozenset(words)


_GIVEN = ("given_names.txt", "given_names_deva.txt")
_SURNAMES = ("surnames.txt", "surnames_deva.txt")


def is_given_name(word: str) -> bool:
    return word.lower() in _lexicon(*_GIVEN)


def is_surname(word: str) -> bool:
    return word.lower() in _lexicon(*_SURNAMES)


def is_known_name_part(word: str) -> bool:
    return is_given_name(word) or is_surname(word)


def _name_like(word: str) -> bool:
    """A known name part, or capitalized like one: "Ravi", not an acronym ("GSTIN", "PAN", "OK")."""
    return is_known_name_part(word) or (word[:1].isupper() and not (len(word) > 1 and word.isupper()))


def _could_be_name(word: str) -> bool:
    """Letters only, three or more, and no word a name-final phrase or a trigger also stands next to."""
    low = word.lower()
    acronym = word.isupper()  # "GSTIN", "PAN"
    return len(word) >= 3 and word.isalpha() and not acronym and low not in _STOP and low not in _NOT_NAMES


def is_acronym_title(title: str) -> bool:
    """ "MS", "DR": a title in capitals is an acronym ("MS Excel"), not a title ("Ms", "Mr.")."""
    letters = title.strip(" \t\n.")
    return len(letters) > 1 and letters.isupper()


def _any_word(_: str) -> bool:
    return True


def _signed_name(word: str) -> bool:
    """After a sign-off: name-like, and not a team, a department or a brand ("Regards, Team Sunrise")."""
    return _name_like(word) and not is_label_or_common(word)


def _known_not_word(word: str) -> bool:
    """A listed name part, unless it is a lower-case common word ("visit gmail.com for more")."""
    return is_known_name_part(word) and not (word.islower() and is_label_or_common(word))


class PersonDetector:
    """A name is up to three words after a trigger phrase or honorific, or a known given name followed by a
    known surname anywhere. After an ambiguous trigger ("this is", "I am", "main") the first word must be a
    known name, so "this is urgent" and "I am interested" stay as they are."""

    type = EntityType.PERSON

    def find(self, text: str) -> Iterator[Span]:
        seen: set[tuple[int, int]] = set()
        for pattern, first_rule in (
            (_SURE, _any_word),
            (_HONORIFIC, _name_like),
            (_MAYBE, _known_not_word),
        ):
            for m in pattern.finditer(text):
                if pattern is _HONORIFIC and is_acronym_title(m.group()):
                    continue  # "MS Excel", "DR Congo"
                span = self._name_after(text, m.end(), first=first_rule, loose=pattern is _SURE)
                if span is None and pattern is _MAYBE and m.group("self"):
                    # An unlisted name introducing oneself: two capitalized words ("I am Nivedita Bhatt"); not
                    # after "deliver to", where two capitalized words are as often a place ("Andheri West").
                    pair = self._name_after(text, m.end(), first=_name_like, loose=False)
                    span = pair if pair is not None and " " in pair.value else None
                if span is not None and (span.start, span.end) not in seen:
                    seen.add((span.start, span.end))
                    yield span
        for m in _SIGN_OFF.finditer(text):
            span = self._name_after(text, m.end(), first=_signed_name, loose=False)
            if span is not None and _LINE_END.match(text, span.end) and (span.start, span.end) not in seen:
                seen.add((span.start, span.end))
                yield span
        for m in _NAME_FRAME.finditer(text):
            words = m.group("name").split()
            if not any(w.lower() in _STOP or w.lower() in _NOT_NAMES for w in words):
                span = Span(m.start("name"), m.end("name"), self.type, " ".join(words).lower())
                if (span.start, span.end) not in seen:
                    seen.add((span.start, span.end))
                    yield span
        for m in _BEFORE.finditer(text):
            span = self._name_before(text, m.start(), sure=m.group("sure") is not None)
            if span is not None and m.group("known") and not any(map(is_known_name_part, span.value.split())):
                continue
            if span is not None and (span.start, span.end) not in seen:
                seen.add((span.start, span.end))
                yield span
        yield from (s for s in self._pairs(text) if (s.start, s.end) not in seen)

    def _name_before(self, text: str, position: int, *, sure: bool) -> Span | None:
        """The word right before a name-final phrase, and a known name part before it (a surname pair)."""
        words = [m for m in _TOKEN.finditer(text, max(0, position - 60), position) if m.end() <= position]
        if not words or words[-1].end() != position or words[-1].group().lower() in _STOP:
            return None
        if is_label_or_common(words[-1].group()):  # "Monday here", "Paytm ko call karo"
            return None
        last = words[-1].group()
        given_before = len(words) > 1 and is_given_name(words[-2].group())
        unlisted = sure and len(last) >= 3 and last.lower() not in _NOT_NAMES  # "parcel dhanush ko dena"
        if not (_name_like(last) or not last.isascii() or given_before or unlisted):
            return None
        start = words[-1].start()
        if len(words) > 1 and text[words[-2].end() : start].isspace():
            previous = words[-2].group()
            # "Ishita Nair ke naam": a given name before, or two capitalized words, are one name; so is any
            # word that could be a name before a known surname, when the phrase is sure ("parcel oindrila
            # mukherjee ko dena").
            if (
                is_given_name(previous)
                or (_name_like(previous) and last[:1].isupper() and previous.lower() not in _STOP)
                or (sure and is_surname(last) and _could_be_name(previous))
            ):
                start = words[-2].start()
        return Span(start, position, self.type, " ".join(text[start:position].lower().split()))

    def _name_after(
        self, text: str, position: int, *, first: Callable[[str], bool], loose: bool
    ) -> Span | None:
        """Up to three words; the first must pass `first`; after a sure trigger (`loose`) any non-stop word
        continues the name, otherwise only known or capitalized ones."""
        words: list[re.Match[str]] = []
        for m in _TOKEN.finditer(text, position):
            gap = text[(words[-1].end() if words else position) : m.start()]
            if len(words) == 3 or (words and gap.strip()) or m.group().lower() in _STOP:
                break
            if not words and not first(m.group()):
                return None
            # After a known given name, a word that could be a name is the surname ("deliver to nikhil mahapatra").
            surname = len(words) == 1 and is_given_name(words[0].group()) and _could_be_name(m.group())
            if words and not (loose or _name_like(m.group()) or surname):
                break
            words.append(m)
        if not words:
            return None
        start, end = words[0].start(), words[-1].end()
        return Span(start, end, self.type, " ".join(w.group().lower() for w in words))

    def _pairs(self, text: str) -> Iterator[Span]:
        given, surnames = _lexicon(*_GIVEN), _lexicon(*_SURNAMES)
        if given.isdisjoint(_NOT_LETTERS.split(text.lower())):  # no given name at all (most texts): no pair
            return
        words = [(m.start(), m.end(), m.group().lower()) for m in _TOKEN.finditer(text)]
        for (start, end, first), (next_start, next_end, second) in itertools.pairwise(words):
            if first not in given or not text[end:next_start].isspace():
                continue
            if second in surnames:
                yield Span(start, next_end, self.type, f"{first} {second}")
            elif second in ("ji", "जी") and first not in _DEITIES:  # "Ramesh ji": the name, not the honorific
                yield Span(start, end, self.type, first)
