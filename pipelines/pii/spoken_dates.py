"""Dates of birth said aloud or written short (issue 17).

Days as ordinals or numbers in words ("the eighteenth of June", "twenty-first August", "July the fourth"),
years in words ("nineteen seventy-eight", "nineteen oh five", "two thousand two", "twenty eleven"), and short
written forms after a birth word ("DOB 10/3/79", "7 Feb 92", "23rd Sept 1975"). Also what the spoken-form
shadow leaves half-written ("18 June 1970-eight"). Only near a birth word ("born", "DOB", "date of birth",
"janam", "जन्म"…, also "unka DOB … hai"): elsewhere a date is an appointment.

Dates are read by a token parser anchored on month names; each anchor looks a bounded number of tokens either
side, so the work is linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pipelines.pii.context import ContextGate
from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_BIRTH = re.compile(
    r"\b(?:born|birth\w*|b'?day|dob|d\.?\s?o\.?\s?b\b|janam\w*|janm\w*|paida\w*)|जन्म|पैदा", re.IGNORECASE
)
_GATE = ContextGate(_BIRTH, window=40, one_value=True)
_EARLIEST = date(1900, 1, 1)

_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen")  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}  # fmt: skip
_ORDINAL_UNITS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_ORDINAL_TEENS = ("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
                  "seventeenth", "eighteenth", "nineteenth")  # fmt: skip
_ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}

_CARDINAL = {w: i for i, w in enumerate(_UNITS)} | {w: 10 + i for i, w in enumerate(_TEENS)}
_ORDINAL = {w: i for i, w in enumerate(_ORDINAL_UNITS) if w} | {
    w: 10 + i for i, w in enumerate(_ORDINAL_TEENS)
}
_ORDINAL |= _ORDINAL_TENS

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("january", "jan", "जनवरी"), ("february", "feb", "फ़रवरी", "फरवरी"), ("march", "mar", "मार्च"),
            ("april", "apr", "अप्रैल"), ("may", "मई"), ("june", "jun", "जून"), ("july", "jul", "जुलाई"),
            ("august", "aug", "अगस्त"), ("september", "sep", "sept", "सितंबर", "सितम्बर"),
            ("october", "oct", "अक्टूबर"), ("november", "nov", "नवंबर", "नवम्बर"), ("december", "dec", "दिसंबर", "दिसम्बर"),
        )
    )
    for name in names
}  # fmt: skip
_LEX = re.compile(r"[^\W\d_]++|\d++|[^\s\w]")
_SHORT = re.compile(
    r"(?<![\d/.-])(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{2})(?![\d/.-]|[/.-]\d)"
)
_FILLERS = frozenset({"the", "of", ",", "."})


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str  # lower-case


def _number_words(tokens: list[_Token], i: int, table: dict[str, int]) -> tuple[int, int] | None:
    """A number below 100 from token `i` in words ("twenty", "twenty-first", "twenty first"): (value, end)."""
    if i >= len(tokens):
        return None
    t = tokens[i].text
    if t in table:
        return table[t], i + 1
    if t in _TENS:
        j = i + 1
        if j < len(tokens) and tokens[j].text == "-":
            j += 1
        if j < len(tokens) and 0 < table.get(tokens[j].text, 0) < 10:
            return _TENS[t] + table[tokens[j].text], j + 1
        if table is _CARDINAL:
            return _TENS[t], i + 1
    return None


def _day(tokens: list[_Token], i: int) -> tuple[int, int] | None:
    """A day from token `i`: "18", "18th", "eighteenth", "twenty first", "twenty-one"."""
    if i >= len(tokens):
        return None
    t = tokens[i].text
    if t.isdigit() and len(t) <= 2:
        end = i + 1
        if end < len(tokens) and tokens[end].text in ("st", "nd", "rd", "th"):
            end += 1
        return int(t), end
    return _number_words(tokens, i, _ORDINAL) or _number_words(tokens, i, _CARDINAL)


def _year(tokens: list[_Token], i: int) -> tuple[int, int] | None:
    """A year from token `i`: "1978", "78", "1970-eight" (half-written), "nineteen seventy-eight", "nineteen
    oh five", "two thousand (and) two", "twenty eleven"."""
    if i >= len(tokens):
        return None
    t = tokens[i].text
    if t.isdigit() and len(t) in (2, 4):
        year = int(t) if len(t) == 4 else _century(int(t))
        j = i + 1
        if len(t) == 4 and year % 10 == 0 and j < len(tokens) and tokens[j].text == "-":
            tail = _CARDINAL.get(tokens[j + 1].text, 0) if j + 1 < len(tokens) else 0
            if 0 < tail < 10:
                return year + tail, j + 2
        return year, i + 1
    if t == "two" and i + 1 < len(tokens) and tokens[i + 1].text == "thousand":
        j = i + 2
        if j < len(tokens) and tokens[j].text == "and":
            j += 1
        rest = _number_words(tokens, j, _CARDINAL)
        return (2000 + rest[0], rest[1]) if rest is not None else (2000, j)
    if t in ("nineteen", "twenty"):
        century = 1900 if t == "nineteen" else 2000
        j = i + 1
        if j < len(tokens) and tokens[j].text == "oh" and j + 1 < len(tokens):
            oh = _CARDINAL.get(tokens[j + 1].text)
            return (century + oh, j + 2) if oh is not None and oh < 10 else None
        rest = _number_words(tokens, j, _CARDINAL)
        if rest is not None and rest[0] >= 10:
            return century + rest[0], rest[1]
    return None


def _century(yy: int) -> int:
    return 2000 + yy if 2000 + yy <= date.today().year else 1900 + yy


class SpokenDobDetector:
    """Dates of birth in words or in short written forms, near a birth word."""

    type = EntityType.DOB

    def __init__(self, today: Callable[[], date] = date.today) -> None:
        self._today = today

    def find(self, text: str) -> Iterator[Span]:
        if _BIRTH.search(text) is None:
            return
        for m in _SHORT.finditer(text):
            born = self._valid(_century(int(m["y"])), int(m["m"]), int(m["d"])) or self._valid(
                _century(int(m["y"])), int(m["d"]), int(m["m"])
            )
            if born is not None and _GATE.opens(text, m.start()):
                yield Span(m.start(), m.end(), self.type, born.isoformat())
        tokens = [_Token(m.start(), m.end(), m.group().lower()) for m in _LEX.finditer(text)]
        for i, token in enumerate(tokens):
            month = _MONTHS.get(token.text)
            if month is None:
                continue
            found = self._day_first(tokens, i, month) or self._month_first(tokens, i, month)
            if found is not None:
                start, end, born = found
                if _GATE.opens(text, tokens[start].start):
                    yield Span(tokens[start].start, tokens[end - 1].end, self.type, born.isoformat())

    def _day_first(self, tokens: list[_Token], month_at: int, month: int) -> tuple[int, int, date] | None:
        """[the] DAY [of] MONTH [,] YEAR: the day is found by trying each start up to four tokens back."""
        year = self._year_after(tokens, month_at + 1)
        if year is None:
            return None
        for start in range(max(0, month_at - 4), month_at):
            day = _day(tokens, start)
            if day is None:
                continue
            value, end = day
            if all(tokens[k].text in _FILLERS for k in range(end, month_at)):
                if start > 0 and tokens[start - 1].text == "the":
                    start -= 1
                born = self._valid(year[0], month, value)
                if born is not None:
                    return start, year[1], born
        return None

    def _month_first(self, tokens: list[_Token], month_at: int, month: int) -> tuple[int, int, date] | None:
        """MONTH [the] DAY [,] YEAR ("July the fourth nineteen sixty eight", "March 3rd, 1990")."""
        j = month_at + 1
        if j < len(tokens) and tokens[j].text == "the":
            j += 1
        day = _day(tokens, j)
        if day is None:
            return None
        year = self._year_after(tokens, day[1])
        if year is None:
            return None
        born = self._valid(year[0], month, day[0])
        return (month_at, year[1], born) if born is not None else None

    @staticmethod
    def _year_after(tokens: list[_Token], j: int) -> tuple[int, int] | None:
        if j < len(tokens) and tokens[j].text in (",", "of"):
            j += 1
        return _year(tokens, j)

    def _valid(self, year: int, month: int, day: int) -> date | None:
        try:
            born = date(year, month, day)
        except ValueError:
            return None
        return born if _EARLIEST <= born < self._today() else None
