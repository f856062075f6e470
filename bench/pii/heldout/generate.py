"""The held-out set: generated messages (phrasing.py × people.py) plus the hand-paraphrased ones.

`build_heldout(seed, size)` is deterministic. `handwritten()` parses `handwritten.txt`: one message a line,
`W|S language | text`, each personal value marked `[[TYPE|value]]`; lines starting with `#` are comments.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING

from bench.pii.dataset import Example, GoldSpan, Mode
from bench.pii.heldout import people, phrasing
from bench.pii.labels import Label
from bench.pii.marked import read_marked

if TYPE_CHECKING:
    from collections.abc import Callable

    from bench.pii.surface import Language

HELDOUT_SEED = 17_017
HELDOUT_SIZE = 1200


def _renderer(type_: Label, mode: Mode, language: Language) -> Callable[[random.Random], str]:
    spoken = mode == "spoken"
    if type_ is Label.PERSON:
        return lambda rng: people.name(rng, deva=language == "devanagari" and rng.random() < 0.5)
    if type_ is Label.DOB and language == "devanagari" and not spoken:
        return people.dob_deva
    if type_ is Label.ADDRESS:
        if spoken:
            return lambda rng: (
                people.address_spoken_india(rng) if rng.random() < 0.6 else people.address_abroad(rng)
            )
        return people.address_abroad
    table: dict[Label, tuple[Callable[[random.Random], str], Callable[[random.Random], str]]] = {
        Label.PHONE: (people.phone_written, people.phone_spoken),
        Label.EMAIL: (people.email_written, people.email_spoken),
        Label.UPI: (people.upi_written, people.upi_spoken),
        Label.DOB: (people.dob_written, people.dob_spoken),
        Label.PAN: (people.pan_value, people.pan_spoken),
        Label.AADHAAR: (people.aadhaar_written, people.aadhaar_spoken),
    }
    return table[type_][spoken]


def _restyle(rng: random.Random, mode: Mode) -> Callable[[str], str]:
    """Spoken: what ASR writes (mostly lower case, punctuation often gone); written: sometimes all lower case."""
    lower = rng.random() < (0.6 if mode == "spoken" else 0.2)
    bare = mode == "spoken" and rng.random() < 0.5

    def style(fragment: str) -> str:
        if bare:
            fragment = re.sub(r"[,:;!?()-]", "", fragment)
        return fragment.lower() if lower else fragment

    return style


def _message(rng: random.Random, id_: int, mode: Mode, language: Language, pii: bool) -> Example:
    style = _restyle(rng, mode)
    parts: list[str] = []
    spans: list[GoldSpan] = []
    length = 0

    def add(fragment: str, type_: Label | None = None) -> None:
        nonlocal length
        if type_ is not None:
            spans.append(GoldSpan(length, length + len(fragment), type_))
        parts.append(fragment)
        length += len(fragment)

    pieces: list[tuple[str, Label | None]] = []
    if pii:
        types = list(phrasing.WEIGHTS)
        chosen = rng.choices(types, weights=[phrasing.WEIGHTS[t] for t in types], k=rng.choice((1, 1, 2)))
        pieces += [(rng.choice(phrasing.PHRASES[t][language]), t) for t in dict.fromkeys(chosen)]
        if rng.random() < 0.3:
            pieces.append((rng.choice(phrasing.CLEAN[language]), None))
    else:
        pieces += [(rng.choice(phrasing.CLEAN[language]), None) for _ in range(rng.choice((1, 1, 2)))]
    rng.shuffle(pieces)
    joiner = rng.choice((". ", "\n", " ")) if mode == "written" else rng.choice((" ", "... "))
    for i, (template, type_) in enumerate(pieces):
        if i:
            add(joiner)
        if type_ is None:
            add(style(template))
            continue
        before, after = template.split("{v}")
        add(style(before))
        add(_renderer(type_, mode, language)(rng), type_)
        add(style(after))
    return Example(id_, "".join(parts), tuple(spans), (), mode, language, "pii" if spans else "clean")


def build_heldout(seed: int = HELDOUT_SEED, size: int = HELDOUT_SIZE) -> list[Example]:
    rng = random.Random(seed)
    examples = []
    for i in range(size):
        mode: Mode = "written" if rng.random() < 0.6 else "spoken"
        language: Language = rng.choices(("en", "hinglish", "devanagari"), weights=(0.45, 0.4, 0.15))[0]
        examples.append(_message(rng, i, mode, language, pii=rng.random() < 0.75))
    return examples


def handwritten() -> list[Example]:
    return read_marked("bench.pii.heldout", "handwritten.txt", first_id=100_000)
