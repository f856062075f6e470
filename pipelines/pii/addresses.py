"""Indian postal addresses in chat, by a small grammar: components (house or flat number, building or street
with a street word, sector/phase/block, landmark, city or locality, PIN code) that follow one another with at
most a few separating characters form an address. One component alone (a city, a PIN code) is not one."""

from __future__ import annotations

import re
from enum import Enum, auto
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Part(Enum):
    HOUSE = auto()
    STREET = auto()
    AREA = auto()
    LANDMARK = auto()
    CITY = auto()
    PIN = auto()


class _Component(NamedTuple):
    start: int
    end: int
    part: _Part


_STREET_WORDS = (
    r"road|rd|street|st|marg|lane|ln|gali|nagar|colony|layout|cross|main\s+road|society|soc|apartments?|apts?|"
    r"heights|residency|enclave|vihar|chowk|path|avenue|ave|towers?|complex|chawl|wadi|peth|pada|puram|halli|"
    r"garden|gardens|park\s+road|bazar|bazaar"
)
_PATTERNS: tuple[tuple[_Part, re.Pattern[str]], ...] = (
    (
        _Part.HOUSE,
        re.compile(
            r"\b(?:flat|house|h\.?\s?no|plot|room|shop|door|apt|unit|bldg|building|wing|floor|ghar)\b\.?\s*"
            r"(?:no\.?|number|num|#)?\s*[:.-]?\s*[A-Za-z]?[-/]?\d+[A-Za-z0-9/-]*"
            r"|#\s?\d+[A-Za-z0-9/-]*|\b[A-Za-z]-\d{2,4}\b|\b\d{1,4}(?:/\d{1,4}|-\d{1,4}){1,3}\b",
            re.IGNORECASE,
        ),
    ),
    (
        _Part.STREET,
        re.compile(rf"\b(?:[^\W\d_][\w.'-]*\s+){{1,3}}(?:{_STREET_WORDS})\b\.?", re.IGNORECASE),
    ),
    (
        _Part.AREA,
        re.compile(r"\b(?:sector|phase|block|ward|khand)\s*[-]?\s*[A-Za-z0-9]{1,4}\b", re.IGNORECASE),
    ),
    (
        _Part.LANDMARK,
        re.compile(
            r"\b(?:near|opp\.?|opposite|behind|beside|next\s+to|in\s+front\s+of|ke\s+paas)\s+(?:the\s+)?"
            r"(?:[^\W\d_][\w'-]*\s+){0,3}(?:temple|mandir|masjid|mosque|church|gurudwara|school|college|hospital|"
            r"mall|station|market|park|bank|chowk|circle|hotel|office|petrol\s+pump|bus\s+stop)\b",
            re.IGNORECASE,
        ),
    ),
    (_Part.PIN, re.compile(r"(?<![\d.,₹])[1-9]\d{2}\s?\d{3}(?![\d.,])")),
)
# What may separate two components of one address: punctuation and a couple of filler words.
_JOINER = re.compile(
    r"[\s,;:()/-]*(?:(?:and|in|at|,|near|pin|pincode|code|city|dist|district)[\s,;:.-]*){0,2}", re.IGNORECASE
)
_NOT_ENOUGH = frozenset({_Part.CITY, _Part.PIN})


@cache
def _cities() -> re.Pattern[str]:
    text = resources.files("pipelines.pii").joinpath("data", "cities.txt").read_text(encoding="utf-8")
    names = sorted({line.strip() for line in text.splitlines() if line.strip()}, key=len, reverse=True)
    return re.compile(
        r"\b(?:" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names) + r")\b", re.IGNORECASE
    )


class AddressDetector:
    type = EntityType.ADDRESS

    def find(self, text: str) -> Iterator[Span]:
        components = [_Component(m.start(), m.end(), part) for part, p in _PATTERNS for m in p.finditer(text)]
        components += [_Component(m.start(), m.end(), _Part.CITY) for m in _cities().finditer(text)]
        components.sort(key=lambda c: (c.start, c.end))
        chain: list[_Component] = []
        for component in components:
            if chain and component.start < chain[-1].end:  # overlapping parts: extend the current one
                last = chain[-1]
                chain[-1] = _Component(last.start, max(last.end, component.end), last.part)
                continue
            if chain and _JOINER.fullmatch(text, chain[-1].end, component.start):
                chain.append(component)
                continue
            yield from self._address(text, chain)
            chain = [component]
        yield from self._address(text, chain)

    def _address(self, text: str, chain: list[_Component]) -> Iterator[Span]:
        parts = {c.part for c in chain}
        if len(chain) >= 2 and not parts <= _NOT_ENOUGH:
            start, end = chain[0].start, chain[-1].end
            yield Span(start, end, self.type, " ".join(text[start:end].lower().split()))
