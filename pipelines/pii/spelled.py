"""Spelt-out codes: "F X V P H 6721 A" (how ASR writes a PAN, IFSC or voter ID read aloud letter by letter)
joined into "FXVPH6721A" so the checksum detectors can see it. Runs on the spoken shadow's text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Single letters and digit groups separated by single spaces: at least three letters and one digit group.
_RUN = re.compile(r"(?<![\w@.])(?:[A-Za-z]|\d+)(?: (?:[A-Za-z]|\d+)){3,}(?![\w@])")
_MIN_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Joined:
    text: str
    _sources: tuple[int, ...]  # for each position of `text` (and its end), the position it came from

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        return self._sources[start], self._sources[end - 1] + 1 if end > start else self._sources[start]


def join_spelt_codes(text: str) -> Joined | None:
    """None when the text has no spelt code (the usual case: no extra detector pass)."""
    pieces: list[str] = []
    sources: list[int] = []
    cursor = 0
    for m in _RUN.finditer(text):
        tokens = m.group().split(" ")
        letters = sum(1 for t in tokens if t.isalpha())
        if letters < 3 or letters == len(tokens) or len(m.group()) - len(tokens) + 1 < _MIN_LENGTH:
            continue
        pieces.append(text[cursor : m.start()])
        sources.extend(range(cursor, m.start()))
        for i, ch in enumerate(m.group()):
            if ch != " ":
                pieces.append(ch.upper())
                sources.append(m.start() + i)
        cursor = m.end()
    if not pieces:
        return None
    pieces.append(text[cursor:])
    sources.extend(range(cursor, len(text) + 1))
    return Joined("".join(pieces), tuple(sources))
