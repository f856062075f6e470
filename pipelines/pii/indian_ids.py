"""Detectors for Indian identifiers beyond the basics: voter ID, passport, vehicle, GSTIN, IFSC, bank account,
IP address and date of birth.

Where a checksum exists (EPIC, GSTIN) it decides. Where the shape alone collides with everyday numbers
(passport, bank account, date of birth) a context gate decides: the label nearest before the candidate must
name the kind of value ("a/c", "passport", "DOB") and not something else ("order", "UTR", "delivery").
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import TYPE_CHECKING

from stdnum.in_ import epic, gstin

from pipelines.pii.context import NOT_PERSONAL, ContextGate
from pipelines.pii.entities import Detector, EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


def _compact(s: str) -> str:
    return re.sub(r"[\s./-]", "", s).upper()


class VoterIdDetector:
    """EPIC numbers: three letters, seven digits, the last a Luhn check digit over the serial (`WKH1186253`).

    Context-free but for labels: a candidate right after "order", "invoice", "AWB"… is that kind of code.
    """

    type = EntityType.VOTER_ID
    _pattern = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{3}[ -]?[0-9]{7}(?![A-Za-z0-9])")
    # Three-letter prefixes that shops and carriers put before seven-digit serials.
    _business_prefixes = frozenset({"INV", "ORD", "AWB", "TXN", "UTR", "PNR", "REF", "SKU", "TKT", "BIL"})
    # Open when a business label is nearer before the candidate than any voter-ID word: then it is that code.
    _business_label = ContextGate(
        NOT_PERSONAL,
        window=30,
        blockers=re.compile(r"\b(?:voter|epic|election|electoral|matdata)|मतदाता|वोटर", re.IGNORECASE),
    )

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            value = _compact(m.group())
            if (
                epic.is_valid(value)
                and value[:3] not in self._business_prefixes
                and not self._business_label.opens(text, m.start())
            ):
                yield Span(m.start(), m.end(), self.type, value)


class PassportDetector:
    """Indian passport numbers (`J8369854`: a letter, seven digits, the first non-zero), only after a
    passport word within 30 characters: the shape alone is any product or booking code."""

    type = EntityType.PASSPORT
    _pattern = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][1-9][0-9]{6}(?![A-Za-z0-9])")
    _gate = ContextGate(re.compile(r"\bpassport|पासपोर्ट", re.IGNORECASE), window=30)

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            if self._gate.opens(text, m.start()):
                yield Span(m.start(), m.end(), self.type, m.group().upper())


# State and UT codes on Indian registration plates, current and legacy (still on older vehicles).
RTO_STATE_CODES = frozenset(
    {
        "AN", "AP", "AR", "AS", "BR", "CG", "CH", "DD", "DL", "GA", "GJ", "HP", "HR", "JH", "JK", "KA",
        "KL", "LA", "LD", "MH", "ML", "MN", "MP", "MZ", "NL", "OD", "PB", "PY", "RJ", "SK", "TN", "TR",
        "TS", "TG", "UK", "UP", "WB",
        "DN",  # Dadra and Nagar Haveli, before the 2020 merger into DD
        "OR",  # Orissa, before OD (2012)
        "UA",  # Uttaranchal, before UK (2007)
    }
)  # fmt: skip


class VehicleDetector:
    """Indian registration numbers: state code, RTO number, 1-3 series letters, four digits, with or
    without separators (`MH 12 AB 1234`, `MH12AB1234`, `DL-3C-AS-1234`), and the Bharat series
    (`22 BH 1234 AA`).

    The state code must be a real one. Spaced lower-case text like "ka 10 kg 1500" is Hinglish ("of 10 kg,
    1500"), not a plate: lower case is accepted when the plate is compact, hyphenated, or its state and RTO
    number are written together ("mh07 evx 0482"), or a vehicle word is close by ("bike up 23 qtt 9462").
    """

    type = EntityType.VEHICLE
    _state = re.compile(
        r"(?<![A-Za-z0-9])(?P<state>[A-Za-z]{2})[ -]?(?P<rto>[0-9]{1,2})[ -]?"
        r"(?P<series>[A-Za-z](?:[ -]?[A-Za-z]){0,2})[ -]?[0-9]{4}(?![A-Za-z0-9])"
    )
    _bharat = re.compile(
        r"(?<![A-Za-z0-9])(?P<year>[0-9]{2})[ -]?(?P<bh>[Bb][Hh])[ -]?[0-9]{4}[ -]?[A-Za-z]{1,2}(?![A-Za-z0-9])"
    )

    _vehicle_words = re.compile(
        r"\b(?:vehicle|car|bike|scooty|scooter|gaadi|gadi|gaddi|motorcycle|truck|auto|cab|taxi|registration|"
        r"reg|rc|number\s+plate|insurance|servic\w*|parking|challan)\b|गाड़ी|गाडी|बाइक|कार|वाहन",
        re.IGNORECASE,
    )

    def find(self, text: str) -> Iterator[Span]:
        for m in self._state.finditer(text):
            state, surface = m.group("state"), m.group()
            if state.upper() in RTO_STATE_CODES and int(m.group("rto")) > 0 and self._cased(text, m, "state"):
                yield Span(m.start(), m.end(), self.type, _compact(surface))
        for m in self._bharat.finditer(text):
            # The BH series started in 2021; the year is the year of registration.
            if int(m.group("year")) >= 21 and self._cased(text, m, "bh"):
                yield Span(m.start(), m.end(), self.type, _compact(m.group()))

    def _cased(self, text: str, m: re.Match[str], letters: str) -> bool:
        surface = m.group()
        if m.group(letters).isupper() or surface.isalnum() or "-" in surface:
            return True
        if letters == "state" and m.end("state") == m.start("rto"):
            return True  # "mh07 evx 0482": the state and RTO written as one word
        return (
            self._vehicle_words.search(text, max(0, m.start() - 30), min(len(text), m.end() + 25)) is not None
        )


class GstinDetector:
    """GSTINs: state code, the holder's PAN, entity number, `Z`, and a mod-36 check character."""

    type = EntityType.GSTIN
    _pattern = re.compile(r"(?<![A-Za-z0-9])[0-9]{2}[A-Za-z]{5}[0-9]{4}[A-Za-z][0-9A-Za-z]{3}(?![A-Za-z0-9])")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            value = m.group().upper()
            if gstin.is_valid(value):
                yield Span(m.start(), m.end(), self.type, value)


class IfscDetector:
    """IFSC branch codes: four letters (the bank), a zero, six letters or digits (the branch)."""

    type = EntityType.IFSC
    _pattern = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{4}0[A-Za-z0-9]{6}(?![A-Za-z0-9])")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            yield Span(m.start(), m.end(), self.type, m.group().upper())


class BankAccountDetector:
    """Bank account numbers: 9-18 digits, contiguous or in groups (`1234 5678 9012 34`), only when the label
    nearest before them within 40 characters is about an account ("account", "a/c", "khata", "bank",
    "IFSC"…). A long number on its own, or after "order", "UTR", "Rs"…, is not an account."""

    type = EntityType.BANK_ACCOUNT
    _pattern = re.compile(
        r"(?<![\w.,/-])(?:[0-9]{9,18}(?![0-9])|[0-9]{2,6}([ -])[0-9]{3,6}(?:\1[0-9]{1,6}){0,4})"
        r"(?![\w]|[.,/-][0-9])"
    )
    _gate = ContextGate(
        re.compile(
            r"\b(?:account|acct|acc|a/c|khata|khaata|khate|bank|ifsc)\b|खाता|खाते|बैंक|अकाउंट",
            re.IGNORECASE,
        ),
        window=40,
        one_value=True,
    )

    # A short last group followed by a unit is a quantity, not the account's tail ("9012 20 din mein").
    _quantity = re.compile(
        r"\s*+(?:din|days?|months?|mahine|hours?|hrs?|ghante|mins?|minutes?|pcs|pieces|kg|gm|units?|items?|saal|"
        r"years?|%|rs\b|rupees|baje|दिन|महीने|घंटे|साल)",
        re.IGNORECASE,
    )

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            end = m.end()
            head, _, tail = m.group().rpartition(m.group(1) or "\0")
            if head and len(tail) < 3 and self._quantity.match(text, end):
                end = m.start() + len(head)
            value = re.sub(r"[^0-9]", "", text[m.start() : end])
            if 9 <= len(value) <= 18 and self._gate.opens(text, m.start()):
                yield Span(m.start(), end, self.type, value)


class IpAddressDetector:
    """IPv4 and IPv6 addresses that `ipaddress` accepts. A dotted quad shortly after "version", "build",
    "update", "app"… is a version number; values are the canonical (IPv6: compressed, lower-case) form."""

    type = EntityType.IP
    _v4 = re.compile(r"(?<![\w.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![\w]|\.[0-9])")
    _v6 = re.compile(
        r"(?<![\w:.])(?=[0-9A-Fa-f:.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:]+(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3})?"
        r"(?![\w:]|\.[0-9A-Za-z])"
    )
    # Software words shortly before a dotted quad ("updated to 2.10.3.1", "app 10.4.2.19", "ऐप 7.3.77.178") make
    # it a version.
    _version = re.compile(
        r"\b(?:version|ver|v|build|release|update\w*|upgrade\w*|app|firmware|patch)\b|ऐप|वर्ज़न|वर्जन|अपडेट|संस्करण",
        re.IGNORECASE,
    )

    def find(self, text: str) -> Iterator[Span]:
        v6_spans = list(self._find_v6(text))
        yield from v6_spans
        for m in self._v4.finditer(text):
            if any(s.start <= m.start() < s.end for s in v6_spans):  # the tail of ::ffff:10.0.0.1
                continue
            if self._version.search(text[max(0, m.start() - 25) : m.start()]):
                continue
            try:
                v4 = ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            yield Span(m.start(), m.end(), self.type, str(v4))

    def _find_v6(self, text: str) -> Iterator[Span]:
        for m in self._v6.finditer(text):
            try:
                v6 = ipaddress.IPv6Address(m.group())
            except ValueError:
                continue
            if v6.is_unspecified or not any(c.isdigit() for c in m.group()):  # "::", "a::b", "dead::beef"
                continue
            # Spelled out for IPv4-mapped addresses, whose compressed form differs between Python versions.
            value = f"::ffff:{v6.ipv4_mapped}" if v6.ipv4_mapped else v6.compressed
            yield Span(m.start(), m.end(), self.type, value)


_ENGLISH_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
)  # fmt: skip
_MONTHS: dict[str, int] = {
    **{name: i for i, name in enumerate(_ENGLISH_MONTHS, start=1)},
    **{name[:3]: i for i, name in enumerate(_ENGLISH_MONTHS, start=1)},
    "sept": 9,
    "जनवरी": 1, "फरवरी": 2, "फ़रवरी": 2, "\u095eरवरी": 2, "मार्च": 3, "अप्रैल": 4, "मई": 5, "जून": 6,
    "जुलाई": 7, "अगस्त": 8, "सितंबर": 9, "सितम्बर": 9, "अक्टूबर": 10, "अक्तूबर": 10, "नवंबर": 11,
    "नवम्बर": 11, "दिसंबर": 12, "दिसम्बर": 12,
}  # fmt: skip
_MONTH = "|".join(re.escape(name) for name in sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
_GAP = r"[ ,.-]{0,3}"
_EARLIEST_BIRTH = date(1900, 1, 1)


class DobDetector:
    """Dates of birth after a birth word within 30 characters ("born", "DOB", "date of birth", "birthday",
    "janam", "जन्म"…), in the layouts 12/03/1990, 12-03-1990, 12.03.1990, 1990-03-12, 12 March 1990,
    12th Mar 1990, March 12, 1990 (English or Hindi month names). Numeric dates are day first, as written in
    India, unless only month first makes a real date. The date must exist, be after 1900 and before
    `today()`. The value is the ISO date."""

    type = EntityType.DOB
    _patterns = (
        re.compile(
            r"(?<![0-9/.-])(?P<d>[0-9]{1,2})(?P<sep>[/.-])(?P<m>[0-9]{1,2})(?P=sep)(?P<y>[0-9]{4})"
            r"(?![0-9]|[/.-][0-9])"
        ),
        re.compile(
            r"(?<![0-9/.-])(?P<y>[0-9]{4})(?P<sep>[/.-])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})"
            r"(?![0-9]|[/.-][0-9])"
        ),
        re.compile(
            rf"(?<![\w])(?P<d>[0-9]{{1,2}}){_ORDINAL}{_GAP}(?:of )?(?P<mon>{_MONTH}){_GAP}(?P<y>[0-9]{{4}})(?![0-9])",
            re.IGNORECASE,
        ),
        re.compile(
            rf"(?<![\w])(?P<mon>{_MONTH}){_GAP}(?P<d>[0-9]{{1,2}}){_ORDINAL}{_GAP}(?P<y>[0-9]{{4}})(?![0-9])",
            re.IGNORECASE,
        ),
    )
    _gate = ContextGate(
        re.compile(
            r"\b(?:born|birth\w*|b'?day|dob|d\.\s?o\.\s?b|janam\w*|janm\w*|paida\w*)|जन्म|पैदा",
            re.IGNORECASE,
        ),
        window=30,
        one_value=True,
    )

    def __init__(self, today: Callable[[], date] = date.today) -> None:
        self._today = today

    def find(self, text: str) -> Iterator[Span]:
        if self._gate.triggers.search(text) is None:  # no birth word anywhere: no date is a birth date
            return
        found: list[Span] = []
        for pattern in self._patterns:
            for m in pattern.finditer(text):
                born = self._date(m)
                if born is not None and self._gate.opens(text, m.start()):
                    found.append(Span(m.start(), m.end(), self.type, born.isoformat()))
        found.sort(key=lambda s: s.start)
        end = -1
        for span in found:
            if span.start >= end:
                yield span
                end = span.end

    def _date(self, m: re.Match[str]) -> date | None:
        year, day = int(m["y"]), int(m["d"])
        if "mon" in m.re.groupindex:
            candidates = [(_MONTHS[m["mon"].lower()], day)]
        elif m.start("y") == m.start():  # year first: ISO order only
            candidates = [(int(m["m"]), day)]
        else:  # day first; month first only when day first is no date (12/25/1990)
            candidates = [(int(m["m"]), day), (day, int(m["m"]))]
        for month, dd in candidates:
            try:
                born = date(year, month, dd)
            except ValueError:
                continue
            return born if _EARLIEST_BIRTH <= born < self._today() else None
        return None


def indian_id_detectors() -> tuple[Detector, ...]:
    return (
        VoterIdDetector(),
        PassportDetector(),
        VehicleDetector(),
        GstinDetector(),
        IfscDetector(),
        BankAccountDetector(),
        IpAddressDetector(),
        DobDetector(),
    )
