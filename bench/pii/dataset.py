"""The labelled set: synthetic WhatsApp messages and voice-note transcripts with gold PII spans.

`build_dataset(seed)` is deterministic: one `random.Random(seed)` drives every choice. Each message is
composed from phrases (bench/pii/templates.py) whose slots are filled with generated values
(bench/pii/values.py) in a written or spoken surface form (bench/pii/surface.py); the builder records the
character span of every personal value, and of every hard negative ("decoy") for the report.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from bench.pii import lexicon, surface, templates, values
from bench.pii.labels import Label
from bench.pii.surface import Language, Persona

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")
Mode = Literal["written", "spoken"]
Category = Literal["pii", "hard_negative", "clean"]
# Surface forms the report follows on their own: numbers said in Hindi pairs ("atthanve sattasi …") and Latin
# names inside Devanagari sentences ("मेरा नाम Rahul Sharma है").
Form = Literal["", "hindi_pairs", "latin_name_in_devanagari"]
FORMS: dict[Form, str] = {
    "hindi_pairs": "Hindi number pairs",
    "latin_name_in_devanagari": "Latin name in Deva",
}
_HINDI_PAIR_WORDS = frozenset(
    w for table in (lexicon.HINDI_PAIRS, lexicon.HINDI_PAIRS_DEVA) for ws in table.values() for w in ws
)

DEFAULT_SEED = 20_240_601
DEFAULT_SIZE = 3000
CATEGORY_SHARES: dict[Category, float] = {"pii": 0.70, "hard_negative": 0.20, "clean": 0.10}
MODE_SHARES: dict[Mode, float] = {"written": 0.60, "spoken": 0.40}
LANGUAGE_SHARES: dict[Language, float] = {"en": 0.40, "hinglish": 0.40, "devanagari": 0.20}


@dataclass(frozen=True, slots=True)
class GoldSpan:
    start: int
    end: int
    type: Label
    form: Form = ""


@dataclass(frozen=True, slots=True)
class Decoy:
    """A hard negative inside a message: not personal, but looks like it."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class Example:
    id: int
    text: str
    spans: tuple[GoldSpan, ...]
    decoys: tuple[Decoy, ...]
    mode: Mode
    language: Language
    category: Category


# --- decoy values ---------------------------------------------------------------------------------------------

_DECOY_VALUES: dict[str, Callable[[random.Random], str]] = {
    "order": values.order_id,
    "awb": values.awb,
    "pnr": values.pnr,
    "utr": values.utr,
    "invoice": values.invoice,
    "ticket": values.ticket,
    "price": values.price,
    "quantity": values.quantity,
    "time": values.clock_time,
    "pin": values.pin_code,
    "version": values.app_version,
    "date": lambda rng: surface.written_date(rng, values.recent_date(rng)),
    "city": lambda rng: rng.choice(lexicon.CITIES).name,
    "card_lookalike": values.card_lookalike,
    "aadhaar_lookalike": values.aadhaar_lookalike,
    "pan_lookalike": values.pan_lookalike,
    "gstin_lookalike": values.gstin_lookalike,
    "iban_lookalike": values.iban_lookalike,
    "phone_lookalike": values.invalid_phone,
    "place": values.public_place,
}
_DECOY_WEIGHTS = {kind: 1.0 for kind in _DECOY_VALUES} | {"order": 1.5, "price": 1.5, "pnr": 1.2, "utr": 1.2}
NAME_WORD = "name_word"


def _decoy_value(rng: random.Random, kind: str, mode: Mode, language: Language) -> str:
    if kind == "city" and language == "devanagari" and rng.random() < 0.7:
        return rng.choice(lexicon.CITIES_DEVA)[0]
    if mode == "spoken" and kind == "price" and rng.random() < 0.7:
        return f"{surface.amount_words(rng.randint(99, 2_500_000))} rupees"
    value = _DECOY_VALUES[kind](rng)
    if mode == "spoken" and value.isdigit() and rng.random() < 0.7:
        return surface.say_digits(
            rng, value, surface.voice_for(rng, language), rng.choice(((), (5, 5), (4, 4, 4)))
        )
    return value


# --- building one message -------------------------------------------------------------------------------------


class _Builder:
    """Appends text and records spans; `style` restyles the phrase text around the values, never a value."""

    def __init__(self, style: Callable[[str], str]) -> None:
        self._style = style
        self._parts: list[str] = []
        self._length = 0
        self.spans: list[GoldSpan] = []
        self.decoys: list[Decoy] = []

    def text(self, fragment: str) -> None:
        fragment = self._style(fragment)
        self._parts.append(fragment)
        self._length += len(fragment)

    def pause(self, separator: str) -> None:
        """A separator kept as is, whatever the style: the boundary between two values."""
        self._raw(separator)

    def _raw(self, value: str) -> tuple[int, int]:
        start = self._length
        self._parts.append(value)
        self._length += len(value)
        return start, self._length

    def value(self, template: str, value: str, type_: Label, form: Form = "") -> None:
        before, after = template.split("{v}")
        self.text(before)
        self.spans.append(GoldSpan(*self._raw(value), type_, form))
        self.text(after)

    def decoy(self, template: str, value: str, kind: str) -> None:
        before, after = template.split("{n}")
        self.text(before)
        self.decoys.append(Decoy(*self._raw(value), kind))
        self.text(after)

    def whole_decoy(self, phrase: str, kind: str) -> None:
        self.decoys.append(Decoy(*self._raw(self._style(phrase)), kind))

    @property
    def last_char(self) -> str:
        return next((part[-1] for part in reversed(self._parts) if part), "")

    def build(self) -> str:
        return "".join(self._parts)


def _style(rng: random.Random, mode: Mode) -> Callable[[str], str]:
    if mode == "written":
        return str.lower if rng.random() < 0.15 else str
    lower, bare = rng.random() < 0.7, rng.random() < 0.6

    def spoken(fragment: str) -> str:
        if bare:
            fragment = re.sub(r"[.,:;!?()]", "", fragment)
        return fragment.lower() if lower else fragment

    return spoken


def _weighted(rng: random.Random, weights: dict[Label, float], k: int) -> list[Label]:
    pool = dict(weights)
    chosen = []
    for _ in range(k):
        type_ = rng.choices(list(pool), weights=list(pool.values()))[0]
        chosen.append(type_)
        del pool[type_]
    return chosen


@dataclass(frozen=True, slots=True)
class _Piece:
    """One phrase of a message, written when the message is assembled."""

    write: Callable[[], None]
    template: str = ""  # "{v}" or "{n}" marks the value slot

    @property
    def opens_with_value(self) -> bool:
        return self.template.startswith("{")

    @property
    def closes_with_value(self) -> bool:
        return self.template.endswith("}")


class _Composer:
    """One message: an optional greeting or filler, phrases in random order joined the way people type or talk."""

    def __init__(self, rng: random.Random, mode: Mode, language: Language) -> None:
        self.rng, self.mode, self.language = rng, mode, language
        self.builder = _Builder(_style(rng, mode))
        self.persona = Persona(values.person(rng), values.person_deva(rng))
        joiners = (". ", ", ", "\n", " ") if mode == "written" else (" ", ", ", "... ")
        self._joiner = rng.choice(joiners)

    def _pick(self, phrases: templates.Phrases) -> str:
        return self.rng.choice(phrases[self.language])

    def pii(self, type_: Label) -> _Piece:
        renderers = surface.WRITTEN if self.mode == "written" else surface.SPOKEN
        template = self._pick(templates.PII_PHRASES[type_])
        value = renderers[type_](self.rng, self.language, self.persona)
        form = _form(type_, value, self.language)
        return _Piece(lambda: self.builder.value(template, value, type_, form), template)

    def decoy(self) -> _Piece:
        if self.rng.random() < 0.15:
            phrase = self._pick(templates.NAME_WORDS)
            return _Piece(lambda: self.builder.whole_decoy(phrase, NAME_WORD))
        kind = self.rng.choices(list(_DECOY_WEIGHTS), weights=list(_DECOY_WEIGHTS.values()))[0]
        template = self._pick(templates.DECOY_PHRASES[kind])
        value = _decoy_value(self.rng, kind, self.mode, self.language)
        return _Piece(lambda: self.builder.decoy(template, value, kind), template)

    def phrase(self, phrases: templates.Phrases) -> _Piece:
        text = self._pick(phrases)
        return _Piece(lambda: self.builder.text(text))

    def compose(self, body: list[_Piece]) -> str:
        """Two values never touch: where one phrase ends with a value and the next starts with one, a comma
        separates them (even a person could not tell where "five zero seven … seven four nine …" splits)."""
        self.rng.shuffle(body)
        head: list[_Piece] = []
        if self.mode == "spoken" and self.rng.random() < 0.5:
            head.append(self.phrase(templates.FILLERS))
        elif self.rng.random() < 0.35:
            head.append(self.phrase(templates.OPENERS))
        tail = [self.phrase(templates.CLOSERS)] if self.rng.random() < 0.25 else []
        previous: _Piece | None = None
        for piece in [*head, *body, *tail]:
            if previous is not None and previous.closes_with_value and piece.opens_with_value:
                self.builder.pause(", " if self._joiner in (" ", "... ") else self._joiner)
            elif previous is not None:
                ended = self.builder.last_char in ".?!" and self._joiner != "\n"
                self.builder.text(" " if ended else self._joiner)
            piece.write()
            previous = piece
        return self.builder.build()


def _form(type_: Label, value: str, language: Language) -> Form:
    if type_ is Label.PERSON and language == "devanagari" and value.isascii():
        return "latin_name_in_devanagari"
    return "hindi_pairs" if not _HINDI_PAIR_WORDS.isdisjoint(value.split()) else ""


def _message(rng: random.Random, id_: int, category: Category, mode: Mode, language: Language) -> Example:
    c = _Composer(rng, mode, language)
    body: list[_Piece] = []
    if category == "pii":
        weights = templates.WEIGHTS_WRITTEN if mode == "written" else templates.WEIGHTS_SPOKEN
        count = rng.choices((1, 2, 3), weights=(0.55, 0.30, 0.15))[0]
        body = [c.pii(t) for t in _weighted(rng, weights, count)]
        if rng.random() < 0.3:
            body.append(c.decoy())
    elif category == "hard_negative":
        body = [c.decoy() for _ in range(rng.choices((1, 2), weights=(0.7, 0.3))[0])]
        if rng.random() < 0.3:
            body.append(c.phrase(templates.SMALL_TALK))
    else:
        body = [c.phrase(templates.SMALL_TALK) for _ in range(rng.choice((1, 1, 2)))]
    text = c.compose(body)
    spans = tuple(sorted(c.builder.spans, key=lambda s: s.start))
    assert all(0 <= a.start < a.end <= b.start for a, b in itertools.pairwise(spans)), text
    assert all(text[s.start : s.end].strip() == text[s.start : s.end] != "" for s in spans), text
    return Example(id_, text, spans, tuple(c.builder.decoys), mode, language, category)


def _plan(rng: random.Random, size: int, shares: dict[T, float]) -> list[T]:
    """Exactly the shares (rounded), in random order."""
    plan: list[T] = []
    items = list(shares.items())
    for value, share in items[:-1]:
        plan += [value] * round(size * share)
    plan += [items[-1][0]] * (size - len(plan))
    rng.shuffle(plan)
    return plan


def build_dataset(seed: int = DEFAULT_SEED, size: int = DEFAULT_SIZE) -> list[Example]:
    rng = random.Random(seed)
    categories = _plan(rng, size, CATEGORY_SHARES)
    modes = _plan(rng, size, MODE_SHARES)
    languages = _plan(rng, size, LANGUAGE_SHARES)
    return [
        _message(rng, i, cat, mode, lang)
        for i, (cat, mode, lang) in enumerate(zip(categories, modes, languages, strict=True))
    ]
