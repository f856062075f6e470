"""Phone numbers and e-mail addresses as speech recognition garbles them (issue 17).

Said aloud, "nine eight seven six five four three two one zero … rahul dot sharma at gmail dot com" comes out of
tiny.en as "i876-543210 … Rahul.sharmatgmail.com": the first digit heard as a word or letter ("i" for nine,
"a" for eight, "for", "to"), glued to the rest; the "at" swallowed into the local part (`…tgmail.com`,
`…atgmail.com`). A mail provider's domain at the end of a word without "@" is such an address; a homophone
glued to nine digits that then make a valid mobile number is such a number. An Aadhaar number read in groups
comes back split by the pauses ("8639 2332. 1469", "8639, 2332, 1469"): after an Aadhaar word, twelve digits in
up to six groups that pass Verhoeff are one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import phonenumbers
from stdnum.in_ import aadhaar

from pipelines.pii.context import ContextGate
from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Iterator

# What ASR writes for a digit said on its own before a run of written digits.
_HOMOPHONES = {
    "i": "9", "nein": "9", "nah": "9", "a": "8", "ate": "8", "eh": "8", "for": "4", "fo": "4", "to": "2",
    "too": "2", "tu": "2", "o": "0", "oh": "0", "won": "1", "wan": "1", "tree": "3", "free": "3", "sex": "6",
    "sax": "6", "fi": "5", "hive": "5", "sane": "7", "sven": "7",
}  # fmt: skip
_GARBLED_PHONE = re.compile(
    r"(?<![\w+])(?P<lead>[A-Za-z]{1,4}+)[ -]?(?P<rest>\d(?:[ .-]?\d){8})(?![\w]|[.-]?\d)"
)
_HAS_DIGIT_RUN = re.compile(r"\d{3}")

_PROVIDER_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.in", "yahoo.in", "ymail.com", "hotmail.com",
    "outlook.com", "live.com", "rediffmail.com", "icloud.com", "protonmail.com", "proton.me", "aol.com",
    "zoho.com", "zohomail.in",
)  # fmt: skip
# Parts of every provider domain above: a text without any has no such address (most chats).
_PROVIDER_NAMES = ("mail.", "yahoo.", "outlook.", "live.com", "icloud.", "proton", "aol.com", "zoho")
_WORD = re.compile(r"(?<![\w@.+-])[A-Za-z0-9][\w.+-]*+")


class GarbledPhoneDetector:
    """A digit homophone glued to nine written digits that together make a valid mobile number."""

    type = EntityType.PHONE

    def __init__(self, default_region: str = "IN") -> None:
        self._region = default_region

    def find(self, text: str) -> Iterator[Span]:
        if _HAS_DIGIT_RUN.search(text) is None:
            return
        for m in _GARBLED_PHONE.finditer(text):
            lead = _HOMOPHONES.get(m.group("lead").lower())
            # A one-letter homophone only glued to the digits ("i876…", not "a 987654321").
            if lead is None or (len(m.group("lead")) == 1 and m.end("lead") != m.start("rest")):
                continue
            digits = lead + re.sub(r"\D", "", m.group("rest"))
            if (
                self._region == "IN" and digits[0] not in "6789"
            ):  # no Indian mobile: skip libphonenumber's cost
                continue
            try:
                number = phonenumbers.parse(digits, self._region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            ):
                value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                yield Span(m.start(), m.end(), self.type, value)


class GarbledEmailDetector:
    """A word that ends in a mail provider's domain but has no "@": the "at" went into the local part."""

    type = EntityType.EMAIL

    def find(self, text: str) -> Iterator[Span]:
        low = text.lower()
        if not any(name in low for name in _PROVIDER_NAMES):
            return
        for m in _WORD.finditer(text):
            word = m.group().rstrip(".-+")
            low = word.lower()
            domain = next((d for d in _PROVIDER_DOMAINS if low.endswith(d)), None)
            if domain is None:
                continue
            local = low[: -len(domain)]
            local = local.removesuffix("at") if local.endswith("at") else local.removesuffix("t")
            local = local.rstrip("._-")
            if len(local) >= 2:
                yield Span(m.start(), m.start() + len(word), self.type, f"{local}@{domain}")


# Digit groups joined by a space, or by the comma or full stop ASR writes for a pause.
_GROUPS = re.compile(r"(?<![\w+.,-])\d{1,6}+(?:[.,]?+ \d{1,6}+){1,5}+(?![\w]|[.,-]\d)")
_AADHAAR_WORD = re.compile(r"\b(?:aadha?ar|uid|uidai)\b|आधार", re.IGNORECASE)
_AADHAAR_GATE = ContextGate(_AADHAAR_WORD, window=30, one_value=True)


class SplitAadhaarDetector:
    """Twelve digits in groups split by pauses, after an Aadhaar word, with a valid Verhoeff check digit."""

    type = EntityType.AADHAAR

    def find(self, text: str) -> Iterator[Span]:
        if _AADHAAR_WORD.search(text) is None:
            return
        for m in _GROUPS.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if len(digits) == 12 and aadhaar.is_valid(digits) and _AADHAAR_GATE.opens(text, m.start()):
                yield Span(m.start(), m.end(), self.type, digits)
