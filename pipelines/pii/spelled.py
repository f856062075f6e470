"""Spelt-out codes: "F X V P H six seven two one A" (how ASR writes a PAN, IFSC, passport or plate read aloud
letter by letter). The spoken shadow joins such a run into "FXVPH6721A" where, and only where, the joined
characters form a known code, so the checksum detectors can see it and the rest of the run stays as it was
("... four eight three four B I am" is the PAN "…4834B", then "I am")."""

from __future__ import annotations

import re
from functools import cache

from stdnum import iban, numdb
from stdnum.in_ import epic, gstin, pan

from pipelines.pii.indian_ids import RTO_STATE_CODES

MIN_LENGTH = 8  # a passport number, the shortest code
MAX_LENGTH = 34  # an IBAN, the longest

_PAN = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]")
_EPIC = re.compile(r"[A-Z]{3}[0-9]{7}")
_GSTIN = re.compile(r"[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][0-9A-Z]{3}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")
_PASSPORT = re.compile(r"[A-Z][1-9][0-9]{6}")
_PLATE = re.compile(r"(?P<state>[A-Z]{2})[0-9]{1,2}[A-Z]{1,3}[0-9]{4}|[0-9]{2}BH[0-9]{4}[A-Z]{1,2}")
# Any of the shapes above: one pass over a candidate, so the checks run only where a code could be.
_SHAPE = re.compile(
    "|".join(p.pattern for p in (_PAN, _EPIC, _GSTIN, _IBAN, _IFSC, _PASSPORT, _PLATE)).replace(
        "(?P<state>", "(?:"
    )
)


# Every length a code can have but an IBAN's: passport 8, plates 8-11, PAN and EPIC 10, IFSC 11, GSTIN 15.
_FIXED_LENGTHS = (15, 11, 10, 9, 8)
_IBAN_LENGTH_PART = re.compile(r"(\d+)!?[anc]")


@cache
def _iban_length(country: str) -> int | None:
    """The length of an IBAN of `country` (each country has one), or None for no IBAN country."""
    structure = numdb.get("iban").info(country)[0][1].get("bban")
    if not structure or len(country) != 2:
        return None
    return 4 + sum(int(n) for n in _IBAN_LENGTH_PART.findall(structure))


def code_lengths(text: str, start: int) -> tuple[int, ...]:
    """The lengths a code starting at `start` of upper-case `text` may have, longest first: a handful, so a
    spelt run is searched in linear time, not by trying every slice."""
    country = _iban_length(text[start : start + 2])
    return _FIXED_LENGTHS if country is None else (country, *_FIXED_LENGTHS)


def has_code_shape(text: str, start: int, end: int) -> bool:
    """Whether upper-case `text[start:end]` has the shape of a code people spell out (cheap, no slicing)."""
    return MIN_LENGTH <= end - start <= MAX_LENGTH and _SHAPE.fullmatch(text, start, end) is not None


def is_spelt_code(code: str) -> bool:
    """Whether upper-case `code` is one of the codes people spell out, valid where a checksum exists."""
    if not MIN_LENGTH <= len(code) <= MAX_LENGTH:
        return False
    if _PAN.fullmatch(code):
        return pan.is_valid(code)
    if _EPIC.fullmatch(code):
        return epic.is_valid(code)
    if _GSTIN.fullmatch(code):
        return gstin.is_valid(code)
    if _IFSC.fullmatch(code) or _PASSPORT.fullmatch(code):
        return True
    if (plate := _PLATE.fullmatch(code)) is not None:
        return plate["state"] is None or plate["state"] in RTO_STATE_CODES
    return _IBAN.fullmatch(code) is not None and iban.is_valid(code)
