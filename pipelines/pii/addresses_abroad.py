"""Postal addresses outside India in Indian chats: the Gulf, Singapore/Malaysia, the UK and the US (issue 17).

Each form ends (or, in Malaysia, turns) on an anchor no phrase has: a UK postcode ("TW3 1QB"), a US state and
ZIP ("NJ 08817"), "Singapore 560123" or a Singapore unit ("#08-385"), a Malaysian postcode before a town
("47300 Petaling Jaya"), or a Gulf city ("Dubai", "Muscat") after a house word and a number. From the anchor the
address runs back over its parts (numbers, capitalized words, street and house words, commas) to the first
house number or house word, and forward over a town or state; a lower-case word that is not a street word
ends it.

Tokens are read once; each anchor looks back at most `_REACH` tokens, so the work is linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Iterator

_LEX = re.compile(
    r"[A-Z]{1,2}\d[A-Z\d]?(?![A-Za-z\d])|#\d++(?:-\d++)?|[A-Za-z]++(?:'[A-Za-z]++)?"
    r"|\d++[A-Za-z]{0,3}+(?:[/-]\d++[A-Za-z]{0,3}+)*+|[^\s\w]"
)
# Something an anchor needs (a UK/US/Malaysia code, a unit, "Singapore", a Gulf city): most chats have none.
_MAY_ANCHOR_CODE = re.compile(r"#\d|\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b|\b[A-Z]{2} \d{5}\b|, \d{5} ")
_ANCHOR_NAMES = (
    "singapore", "dubai", "sharjah", "ajman", "fujairah", "doha", "muscat", "manama", "riyadh", "jeddah", "dammam",
    "kuwait", "salalah", "sohar", "khobar", "abu dhabi", "al ain", "ras al",
)  # fmt: skip
_US_STATES = frozenset(
    {
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
        "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
        "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC"
    }
)  # fmt: skip
_UK_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?")  # the outward code; the inward code is \d[A-Z]{2}
_UK_INWARD = re.compile(r"\d[A-Z]{2}")
_GULF_CITIES = frozenset(
    {"dubai", "sharjah", "ajman", "fujairah", "doha", "muscat", "manama", "riyadh", "jeddah", "dammam", "kuwait",
     "salalah", "sohar", "khobar"}
)  # fmt: skip
_GULF_TWO_WORD = frozenset({("abu", "dhabi"), ("al", "ain"), ("ras", "al")})
_MY_STATES = frozenset(
    {"selangor", "johor", "penang", "perak", "kedah", "sabah", "sarawak", "melaka", "malacca", "pahang",
     "kelantan", "terengganu", "negeri", "perlis", "putrajaya", "labuan", "lumpur"}
)  # fmt: skip
# Words that make a run of tokens an address's parts; "house" words may also open one.
_HOUSE_WORDS = frozenset(
    {"flat", "apt", "apartment", "villa", "blk", "block", "unit", "suite", "office", "building", "bldg", "no",
     "house", "plot", "shop", "room", "floor", "level", "tower", "lot"}
)  # fmt: skip
_STREET_WORDS = frozenset(
    {"street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "dr", "way", "close", "court", "ct",
     "crescent", "place", "pl", "boulevard", "blvd", "highway", "hwy", "route", "jalan", "lorong", "persiaran",
     "taman", "residence", "residences", "heights", "tower", "towers", "park", "gardens", "square", "terrace",
     "broadway", "parkway", "circle", "north", "south", "east", "west", "ring", "marina", "bay", "al", "bin",
     "bur", "ss", "usj", "jln", "apt", "of", "the", "and"}
)  # fmt: skip
_REACH = 24


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str


def _part(token: _Token) -> bool:
    """A token an address's parts are made of."""
    t = token.text
    return (
        t[0].isdigit()
        or t.startswith("#")
        or t[0].isupper()
        or t.lower() in _HOUSE_WORDS
        or t.lower() in _STREET_WORDS
        or t in (",", "/", "-", "'")
    )


def _opens(token: _Token) -> bool:
    """Where an address may start: a number, a unit, or a house word."""
    return token.text[0].isdigit() or token.text.startswith("#") or token.text.lower() in _HOUSE_WORDS


class AbroadAddressDetector:
    type = EntityType.ADDRESS

    def find(self, text: str) -> Iterator[Span]:
        if _MAY_ANCHOR_CODE.search(text) is None:
            low = text.lower()
            if not any(name in low for name in _ANCHOR_NAMES):
                return
        tokens = [_Token(m.start(), m.end(), m.group()) for m in _LEX.finditer(text)]
        end_taken = -1
        for i in range(len(tokens)):
            anchor = self._anchor(tokens, i)
            if anchor is None:
                continue
            first, last, weak, tail = anchor
            start = self._back(text, tokens, first, weak)
            if start is None or tokens[start].start < end_taken:
                continue
            last = self._forward(text, tokens, last, tail)
            end_taken = tokens[last].end
            surface = text[tokens[start].start : tokens[last].end]
            yield Span(tokens[start].start, tokens[last].end, self.type, " ".join(surface.lower().split()))

    def _anchor(self, tokens: list[_Token], i: int) -> tuple[int, int, bool, bool] | None:
        """(first, last) token of an anchor at `i`; whether it is weak (a Gulf city needs a house part before
        it); whether a town may follow it without a comma ("47300 Petaling Jaya", "Dubai Marina")."""
        t = tokens[i].text
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if _UK_POSTCODE.fullmatch(t) and _UK_INWARD.fullmatch(nxt):
            return i, i + 1, False, False
        if t in _US_STATES and re.fullmatch(r"\d{5}", nxt) and i > 0 and tokens[i - 1].text == ",":
            return i, i + 1, False, False
        if t.lower() == "singapore" and re.fullmatch(r"\d{6}", nxt):
            return i, i + 1, False, False
        if t.startswith("#") and "-" in t:
            return i, i, False, False
        # "…, 47300 Petaling Jaya, Selangor": a Malaysian postcode; a state must follow within a few words.
        if (
            re.fullmatch(r"\d{5}", t)
            and nxt[:1].isupper()
            and i > 0
            and tokens[i - 1].text == ","
            and any(tok.text.lower() in _MY_STATES for tok in tokens[i + 1 : i + 6])
        ):
            return i, i, False, True
        low = t.lower()
        if low in _GULF_CITIES or (low, nxt.lower()) in _GULF_TWO_WORD:
            return i, i + (1 if (low, nxt.lower()) in _GULF_TWO_WORD else 0), True, True
        return None

    def _back(self, text: str, tokens: list[_Token], first: int, weak: bool) -> int | None:
        """The first token of the address that ends at the anchor starting at token `first`."""
        start = None
        house = False
        k = first - 1
        while k >= 0 and first - k <= _REACH:
            token = tokens[k]
            gap = text[token.end : tokens[k + 1].start]
            if "\n" in gap or not _part(token):
                break
            if _opens(token):
                start = k
                house = house or token.text.lower() in _HOUSE_WORDS or token.text.startswith("#")
            k -= 1
        if start is None:
            return None
        numbered = any(t.text[0].isdigit() or t.text.startswith("#") for t in tokens[start:first])
        if weak and not (house and numbered):
            return None
        return start

    def _forward(self, text: str, tokens: list[_Token], last: int, tail: bool) -> int:
        """Past the anchor: after a comma (or right after a Gulf city's name, "Dubai Marina, Dubai"), capitalized
        words and numbers (a town, a state, a country, an area)."""
        k = last + 1
        best = last
        if not tail and not (k < len(tokens) and tokens[k].text == ","):
            return last
        while k < len(tokens) and k - last <= 6:
            token = tokens[k]
            if "\n" in text[tokens[k - 1].end : token.start]:
                break
            if token.text == ",":
                k += 1
                continue
            if not (token.text[0].isupper() or token.text[0].isdigit()):
                break
            best = k
            k += 1
        return best
