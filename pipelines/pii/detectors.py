"""Detectors: each finds one kind of personal data and validates it where a checksum or grammar exists.

A candidate that fails its checksum is not PII of that type (an order number that happens to be 12 digits
is not an Aadhaar). Values are normalized so that one number written two ways is one value in the vault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import phonenumbers
from stdnum import iban, luhn
from stdnum.in_ import aadhaar, pan

from pipelines.pii.addresses import AddressDetector
from pipelines.pii.context import PHONE_AFTER, PHONE_WORDS, REFERENCE_LABELS, ContextGate
from pipelines.pii.entities import Detector, EntityType, Span
from pipelines.pii.indian_ids import indian_id_detectors
from pipelines.pii.names import PersonDetector
from pipelines.pii.recall import recall_detectors

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


class EmailDetector:
    type = EntityType.EMAIL
    _pattern = re.compile(
        r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
        r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w@-])"
    )

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            yield Span(m.start(), m.end(), self.type, m.group().lower())


class UpiDetector:
    """UPI virtual payment addresses: `handle@psp` where the PSP part has no dot (`ravi.k@okaxis`, `98xxx@ybl`)."""

    type = EntityType.UPI
    _pattern = re.compile(
        r"(?<![\w.@-])[A-Za-z0-9][A-Za-z0-9._-]{1,255}@[A-Za-z][A-Za-z0-9]{1,63}(?![\w@-]|\.[A-Za-z0-9])"
    )

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            yield Span(m.start(), m.end(), self.type, m.group().lower())


class PhoneDetector:
    """Numbers that libphonenumber considers valid, Indian layouts by default region, E.164 anywhere."""

    type = EntityType.PHONE

    def __init__(self, default_region: str = "IN") -> None:
        self._region = default_region

    # "order 9876543210", "PNR 4512369870": a reference label nearer than any phone word makes it no phone,
    # unless a phone word follows the number.
    _reference = ContextGate(REFERENCE_LABELS, window=25, blockers=PHONE_WORDS, one_value=True)
    # "order number 9876543210", "ऑर्डर नंबर …": a number word right after a reference label is part of the label.
    _reference_number = re.compile(
        rf"(?:{REFERENCE_LABELS.pattern})\s*+(?:number|no\b\.?|num\b|नंबर)\s*+(?:(?:is|hai|है)\s++)?(?:[:#-]\s*+)?$",
        re.IGNORECASE,
    )

    # No valid number has fewer than seven digits, with at most a few separators between two of them.
    _enough_digits = re.compile(r"\d(?:[\s().,-]{0,4}\d){6}")

    # A number said right after a call word is a phone number even when ASR noise made it invalid or split it
    # ("Call me on 98765. 432110." for "… 43210", "My number is 98765, 43210."): 8-13 digits with at most
    # two separators between two of them.
    _after_call_word = ContextGate(
        re.compile(
            r"\b(?:mobile|mob|phone|call|contact|whatsapp|cell|reach|dial|ring)\b|फ़ोन|फोन|कॉल|व्हाट्सएप|"
            r"\b(?:my|mera|meri|mere|alternate|alt)\s+(?:no\b\.?|number|num\b)|मेरा\s+नंबर",
            re.IGNORECASE,
        ),
        window=25,
        blockers=REFERENCE_LABELS,
        one_value=True,
    )
    # A comma only as a pause (", "): "12,000" is a price.
    _loose = re.compile(r"(?<![\w+.,])\+?\d(?:(?:[\s.-]{0,2}|,\s)\d){7,12}(?!\w|[.,-]?\d)")
    _date = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}")

    def _is_reference(self, text: str, start: int) -> bool:
        return (
            self._reference.opens(text, start)
            or self._reference_number.search(text, max(0, start - 40), start) is not None
        )

    def find(self, text: str) -> Iterator[Span]:
        if self._enough_digits.search(text) is None:
            return
        found: list[Span] = []
        matcher = phonenumbers.PhoneNumberMatcher(text, self._region, leniency=phonenumbers.Leniency.VALID)
        for match in matcher:
            if (
                not match.raw_string.startswith("+")
                and self._is_reference(text, match.start)
                and PHONE_AFTER.match(text, match.end) is None  # "… is my husband's number"
            ):
                continue
            value = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            found.append(Span(match.start, match.end, self.type, value))
        yield from found
        for m in self._loose.finditer(text):
            if (
                not any(s.start < m.end() and m.start() < s.end for s in found)
                and not self._date.fullmatch(m.group())
                and self._after_call_word.opens(text, m.start())
            ):
                yield Span(m.start(), m.end(), self.type, self._identity(m.group()))

    def _identity(self, surface: str) -> str:
        """E.164 when the digits are a valid number after all (a comma split it), so the vault sees one value."""
        digits = ("+" if surface.startswith("+") else "") + _digits(surface)
        try:
            number = phonenumbers.parse(digits, self._region)
        except phonenumbers.NumberParseException:
            return _digits(surface)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return _digits(surface)


@dataclass(frozen=True, slots=True)
class _CardBrand:
    name: str
    prefixes: tuple[tuple[int, int], ...]  # inclusive ranges over leading digits
    lengths: tuple[int, ...]

    def matches(self, digits: str) -> bool:
        if len(digits) not in self.lengths:
            return False
        for low, high in self.prefixes:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return True
        return False


_CARD_BRANDS: tuple[_CardBrand, ...] = (
    _CardBrand("visa", ((4, 4),), (13, 16, 19)),
    _CardBrand("mastercard", ((51, 55), (2221, 2720)), (16,)),
    _CardBrand("amex", ((34, 34), (37, 37)), (15,)),
    _CardBrand("rupay", ((60, 60), (65, 65), (81, 82), (508, 508), (353, 353), (356, 356)), (16,)),
    _CardBrand("discover", ((6011, 6011), (644, 649)), (16, 19)),
    _CardBrand("jcb", ((3528, 3589),), (16, 19)),
    _CardBrand("diners", ((36, 36), (300, 305), (38, 39)), (14, 16)),
)


class CardDetector:
    """Payment card numbers: a known brand's prefix and length, and a valid Luhn check digit."""

    type = EntityType.CARD
    _pattern = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            digits = _digits(m.group())
            if luhn.is_valid(digits) and any(b.matches(digits) for b in _CARD_BRANDS):
                yield Span(m.start(), m.end(), self.type, digits)


class AadhaarDetector:
    """12-digit Aadhaar numbers (first digit 2-9, Verhoeff check digit), spaced, hyphenated or not.

    One random 12-digit number in ten passes Verhoeff, and UPI references are 12 digits: after a reference
    label ("UPI ref", "UTR", "order") nearer than any Aadhaar word, it is that reference.
    """

    type = EntityType.AADHAAR
    _pattern = re.compile(r"(?<![\d+-])[2-9]\d{3}([ -]?)\d{4}\1\d{4}(?![\d-])")
    _named = re.compile(r"\b(?:aadha?ar|uid|uidai|kyc)\b|आधार", re.IGNORECASE)
    _reference = ContextGate(REFERENCE_LABELS, window=30, blockers=_named, one_value=True)

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            digits = _digits(m.group())
            if aadhaar.is_valid(digits) and not self._is_reference(text, m.start()):
                yield Span(m.start(), m.end(), self.type, digits)

    def _is_reference(self, text: str, start: int) -> bool:
        """A reference label governs the number, and no Aadhaar word is near ("aadhaar card id …" is one)."""
        return (
            self._reference.opens(text, start) and self._named.search(text, max(0, start - 30), start) is None
        )


class PanDetector:
    """Indian PAN: AAAPA1234A where the fourth letter is a valid holder type."""

    type = EntityType.PAN
    _pattern = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{5}\d{4}[A-Za-z](?![A-Za-z0-9])")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            value = m.group().upper()
            if pan.is_valid(value):
                yield Span(m.start(), m.end(), self.type, value)


class IbanDetector:
    """IBANs in compact or grouped form, with a valid country format and mod-97 checksum."""

    type = EntityType.IBAN
    _pattern = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            # The grouped form may swallow following words ("… 7654 32 ok"): drop trailing words until valid.
            candidate = m.group()
            while True:
                value = iban.compact(candidate)
                if iban.is_valid(value):
                    yield Span(m.start(), m.start() + len(candidate), self.type, value)
                    break
                head, sep, _ = candidate.rpartition(" ")
                if not sep or len(iban.compact(head)) < 15:
                    break
                candidate = head


# Where two detections overlap, the earlier type in this order wins: validated structures before the
# looser phone matcher, e-mail before UPI (an e-mail's domain has a dot, a UPI handle's does not).
PRECEDENCE: tuple[EntityType, ...] = (
    EntityType.EMAIL,
    EntityType.UPI,
    EntityType.IBAN,
    EntityType.GSTIN,
    EntityType.CARD,
    EntityType.AADHAAR,
    EntityType.PAN,
    EntityType.VOTER_ID,
    EntityType.PASSPORT,
    EntityType.VEHICLE,
    EntityType.IFSC,
    EntityType.BANK_ACCOUNT,
    EntityType.IP,
    EntityType.DOB,
    EntityType.PHONE,
    EntityType.ADDRESS,
    EntityType.PERSON,
)


def default_detectors(default_region: str = "IN") -> Sequence[Detector]:
    return (
        EmailDetector(),
        UpiDetector(),
        IbanDetector(),
        CardDetector(),
        AadhaarDetector(),
        PanDetector(),
        PhoneDetector(default_region),
        *indian_id_detectors(),
        AddressDetector(),
        PersonDetector(),
        *recall_detectors(default_region),
    )
