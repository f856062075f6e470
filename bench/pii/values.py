"""Canonical synthetic values: personal data with valid checksums, and the look-alikes that are not.

Every generator takes the dataset's `random.Random`, so one seed gives one dataset. Checksummed types are
built with python-stdnum and checked with it; phone numbers are checked with phonenumbers.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn, verhoeff
from stdnum.in_ import aadhaar as stdnum_aadhaar
from stdnum.in_ import epic as stdnum_epic
from stdnum.in_ import gstin as stdnum_gstin
from stdnum.in_ import pan as stdnum_pan

from bench.pii import lexicon

if TYPE_CHECKING:
    import random

_GSTIN_ALPHABET = string.digits + string.ascii_uppercase
_PAN_HOLDERS_PERSON = "P"
_PAN_HOLDERS_BUSINESS = "CFHAT"  # company, firm, HUF, association, trust
_PAN_HOLDERS_INVALID = "DEIMNOQRSUVWXYZ"  # not holder types (K, Krish, still validates): look-alikes


def digits(rng: random.Random, n: int, first: str = string.digits) -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(n))


# --- personal data -----------------------------------------------------------------------------------------


def phone(rng: random.Random) -> str:
    """A national significant number valid in India: mostly mobiles (6-9…), some metro landlines."""
    while True:
        if rng.random() < 0.85:
            number = digits(rng, 10, "6789")
        else:
            number = rng.choice(("80", "22", "11", "44", "40", "33")) + digits(rng, 8, "2345")
        if phonenumbers.is_valid_number(phonenumbers.parse(number, "IN")):
            return number


def invalid_phone(rng: random.Random) -> str:
    """Ten digits that are no valid Indian number (a meter or consumer number); many 2…-5… numbers are
    valid landlines (22 Mumbai, 44 Chennai), so check."""
    while True:
        number = digits(rng, 10, "12345")
        if not phonenumbers.is_valid_number(phonenumbers.parse(number, "IN")):
            return number


def card(rng: random.Random) -> str:
    prefix, length = rng.choice(
        (
            ("4", 16),
            ("4", 16),
            ("5" + rng.choice("12345"), 16),
            ("60", 16),
            ("65", 16),
            ("508", 16),
            ("37", 15),
        )
    )
    body = prefix + digits(rng, length - len(prefix) - 1)
    number = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(number)
    return number


def card_lookalike(rng: random.Random) -> str:
    """Sixteen digits with a card's prefix and a wrong Luhn digit."""
    number = card(rng)
    bad = str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return number[:-1] + bad


def aadhaar(rng: random.Random) -> str:
    while True:
        body = digits(rng, 11, "23456789")
        number = body + verhoeff.calc_check_digit(body)
        if stdnum_aadhaar.is_valid(number):
            return number


def aadhaar_lookalike(rng: random.Random) -> str:
    """Twelve digits shaped like an Aadhaar whose Verhoeff digit is wrong."""
    number = aadhaar(rng)
    bad = str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return number[:-1] + bad


def pan(rng: random.Random, holders: str = _PAN_HOLDERS_PERSON, surname: str = "") -> str:
    """Fifth letter is the holder's surname initial for individuals, as issued."""
    fifth = surname[:1].upper() if surname[:1].isalpha() and surname[:1].isascii() else letters(rng, 1)
    while True:  # stdnum rejects serial 0000
        number = letters(rng, 3) + rng.choice(holders) + fifth + digits(rng, 4) + letters(rng, 1)
        if stdnum_pan.is_valid(number):
            return number


def pan_lookalike(rng: random.Random) -> str:
    """Five letters, four digits, a letter, but the fourth letter is no holder type (an SKU, a batch code)."""
    return (
        letters(rng, 3)
        + rng.choice(_PAN_HOLDERS_INVALID)
        + letters(rng, 1)
        + digits(rng, 4)
        + letters(rng, 1)
    )


def gstin(rng: random.Random) -> str:
    state = f"{rng.randint(1, 37):02d}"
    body = state + pan(rng, _PAN_HOLDERS_BUSINESS) + rng.choice("123456789") + "Z"
    number = body + luhn.calc_check_digit(body, _GSTIN_ALPHABET)
    assert stdnum_gstin.is_valid(number), number
    return number


def gstin_lookalike(rng: random.Random) -> str:
    number = gstin(rng)
    wrong = [c for c in _GSTIN_ALPHABET if c != number[-1]]
    return number[:-1] + rng.choice(wrong)


def iban(rng: random.Random) -> str:
    while True:
        country = rng.choice(sorted(lexicon.IBAN_FORMATS))
        bban = "".join(
            letters(rng, n) if kind == "A" else digits(rng, n) for kind, n in lexicon.IBAN_FORMATS[country]
        )
        number = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
        if stdnum_iban.is_valid(number):
            return number


def iban_lookalike(rng: random.Random) -> str:
    number = iban(rng)
    check = f"{(int(number[2:4]) + rng.randint(1, 90)) % 97 + 2:02d}"
    return number[:2] + check + number[4:]


def upi(rng: random.Random, first: str, last: str) -> str:
    handle = rng.choice(
        (
            f"{first}.{last}",
            f"{first}{last}",
            f"{first}{rng.randint(1, 999)}",
            phone(rng),
            f"{first[0]}{last}",
        )
    )
    return f"{_ascii_lower(handle)}@{rng.choice(lexicon.UPI_HANDLES)}"


def email(rng: random.Random, first: str, last: str) -> str:
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first}{last}",
            f"{first}_{last}",
            f"{first}{rng.randint(1, 99)}",
            f"{first}.{last}{rng.randint(80, 99)}",
            f"{first[0]}{last}",
        )
    )
    return f"{_ascii_lower(local)}@{rng.choice(lexicon.MAIL_DOMAINS)}"


def epic(rng: random.Random) -> str:
    """Voter ID: three letters, six digits and a Luhn digit over the seven."""
    serial = digits(rng, 6)
    number = letters(rng, 3) + serial + luhn.calc_check_digit(serial)
    assert stdnum_epic.is_valid(number)
    return number


def passport(rng: random.Random) -> str:
    """Indian passport: a letter (not Q, X, Z), a non-zero digit, five digits, a non-zero digit."""
    return (
        rng.choice("ABCDEFGHJKLMNPRSTUVWY")
        + digits(rng, 1, "123456789")
        + digits(rng, 5)
        + rng.choice("123456789")
    )


@dataclass(frozen=True, slots=True)
class Vehicle:
    state: str
    district: str
    series: str
    number: str


def vehicle(rng: random.Random) -> Vehicle:
    city = rng.choice(lexicon.CITIES)
    return Vehicle(
        city.state_code,
        f"{rng.randint(1, 50):02d}",
        letters(rng, rng.choice((1, 2, 2, 2, 3))),
        digits(rng, 4),
    )


def ifsc(rng: random.Random, bank: str | None = None) -> str:
    bank = bank or rng.choice(sorted(lexicon.BANKS))
    return bank + "0" + digits(rng, 6)


def bank_account(rng: random.Random, bank: str | None = None) -> str:
    bank = bank or rng.choice(sorted(lexicon.BANKS))
    return digits(rng, rng.choice(lexicon.BANKS[bank]), "123456789")


def ipv4(rng: random.Random) -> str:
    first = rng.choice((49, 103, 106, 117, 122, 157, 182, 192, 223, 27))
    if first == 192:
        return f"192.168.{rng.randint(0, 10)}.{rng.randint(2, 254)}"
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(4)]
    return "2401:4900:" + ":".join(groups) + "::" + f"{rng.randint(1, 0xFFFF):x}"


def date_of_birth(rng: random.Random) -> dt.date:
    return dt.date(1955, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 50))


def recent_date(rng: random.Random) -> dt.date:
    """Delivery, appointment and invoice dates: not personal."""
    return dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 500))


@dataclass(frozen=True, slots=True)
class Person:
    first: str
    last: str


def person(rng: random.Random) -> Person:
    return Person(rng.choice(lexicon.FIRST_NAMES), rng.choice(lexicon.LAST_NAMES))


def person_deva(rng: random.Random) -> Person:
    return Person(rng.choice(lexicon.FIRST_NAMES_DEVA), rng.choice(lexicon.LAST_NAMES_DEVA))


@dataclass(frozen=True, slots=True)
class Address:
    """Parts in reading order; `pin` and `city` last. Numbers stay digits until a surface form says them."""

    house: str
    building: str | None
    street: str | None
    landmark: str | None
    locality: str
    city: str
    pin: str


def address(rng: random.Random) -> Address:
    city = rng.choice(lexicon.CITIES)
    house = rng.choice(
        (
            f"Flat {rng.randint(1, 20)}0{rng.randint(1, 8)}",
            f"H.No. {rng.randint(1, 20)}-{rng.randint(1, 9)}-{rng.randint(10, 999)}",
            f"{rng.choice('ABCDEF')}-{rng.randint(1, 300)}",
            f"#{rng.randint(1, 999)}",
            f"Plot {rng.randint(1, 250)}",
            f"House No. {rng.randint(1, 999)}",
        )
    )
    return Address(
        house=house,
        building=rng.choice(lexicon.BUILDINGS) if rng.random() < 0.5 else None,
        street=rng.choice(lexicon.STREETS) if rng.random() < 0.6 else None,
        landmark=rng.choice(lexicon.LANDMARKS) if rng.random() < 0.25 else None,
        locality=rng.choice(city.localities),
        city=city.name,
        pin=city.pin_prefix + digits(rng, 3, "0"),
    )


def address_deva(rng: random.Random) -> Address:
    city, pin_prefix, localities = rng.choice(lexicon.CITIES_DEVA)
    return Address(
        house=rng.choice((f"मकान नं. {rng.randint(1, 999)}", f"फ्लैट {rng.randint(1, 20)}0{rng.randint(1, 8)}")),
        building=None,
        street=rng.choice(lexicon.STREETS_DEVA) if rng.random() < 0.6 else None,
        landmark=rng.choice(lexicon.LANDMARKS_DEVA) if rng.random() < 0.3 else None,
        locality=rng.choice(localities),
        city=city,
        pin=pin_prefix + digits(rng, 3, "0"),
    )


def public_place(rng: random.Random) -> str:
    return rng.choice(lexicon.PUBLIC_PLACES)


def pin_code(rng: random.Random) -> str:
    return rng.choice(lexicon.CITIES).pin_prefix + digits(rng, 3, "0")


# --- business references: never personal ------------------------------------------------------------------


def order_id(rng: random.Random) -> str:
    return rng.choice(
        (
            "OD" + digits(rng, 18, "1234"),  # marketplace order
            f"{digits(rng, 3, '4')}-{digits(rng, 7)}-{digits(rng, 7)}",
            "#" + digits(rng, rng.randint(5, 8)),
            digits(rng, 10, "123456789"),  # a bare ten-digit order number: the phone look-alike
            "SO-" + digits(rng, 6),
        )
    )


def awb(rng: random.Random) -> str:
    return rng.choice(
        (
            digits(rng, rng.choice((11, 12, 13, 14)), "123456789"),
            letters(rng, 2) + digits(rng, 9) + "IN",  # India Post
            "SF" + digits(rng, 10) + letters(rng, 3),
        )
    )


def pnr(rng: random.Random) -> str:
    return digits(rng, 10, "123456789")


def utr(rng: random.Random) -> str:
    """UPI reference numbers are 12 digits (a tenth pass an Aadhaar checksum by chance); NEFT UTRs 16 chars."""
    if rng.random() < 0.7:
        return digits(rng, 12, "345")
    return rng.choice(sorted(lexicon.BANKS)) + "N" + digits(rng, 11)


def invoice(rng: random.Random) -> str:
    return rng.choice(
        (
            f"INV/{rng.randint(2023, 2025)}-{rng.randint(24, 26)}/{digits(rng, 4, '0')}",
            f"INV-{rng.randint(2023, 2025)}-{digits(rng, 5, '0')}",
            f"GST/{rng.randint(23, 25)}-{rng.randint(24, 26)}/{digits(rng, 4)}",
            digits(rng, 8, "123456789"),
        )
    )


def ticket(rng: random.Random) -> str:
    return rng.choice(
        (
            "#" + digits(rng, 6, "123456789"),
            f"CMP{rng.randint(2023, 2025)}{digits(rng, 6)}",
            f"SR 1-{digits(rng, 10)}",
            f"TKT-{digits(rng, 7)}",
        )
    )


def indian_grouping(amount: int) -> str:
    """1,90,000 and 12,34,567: thousands, then groups of two."""
    text = str(amount)
    if len(text) <= 3:
        return text
    head, tail = text[:-3], text[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    groups.insert(0, head)
    return ",".join([*groups, tail])


def price(rng: random.Random) -> str:
    amount = rng.choice((rng.randint(99, 9_999), rng.randint(10_000, 2_500_000)))
    grouped = indian_grouping(amount)
    return rng.choice(
        (
            f"₹{grouped}",
            f"₹ {grouped}",
            f"Rs. {grouped}",
            f"Rs {grouped}/-",
            f"INR {grouped}.00",
            f"Rs {rng.randint(1, 9)}.{rng.randint(1, 9)} lakh",
            f"{grouped} rupees",
        )
    )


def quantity(rng: random.Random) -> str:
    return rng.choice(
        (
            f"{rng.randint(1, 10)} kg",
            f"{rng.choice((250, 500, 750))} gm",
            f"{rng.randint(2, 50)} pcs",
            f"{rng.randint(1, 5)} dozen",
            f"{rng.randint(1, 20)} litre",
            f"size {rng.choice((28, 30, 32, 34, 36, 38, 40, 42, 44))}",
            f"{rng.randint(100, 5000)} units",
        )
    )


def clock_time(rng: random.Random) -> str:
    hour, minute = rng.randint(1, 12), rng.choice((0, 15, 30, 45))
    return rng.choice(
        (f"{hour}:{minute:02d} {rng.choice(('am', 'pm', 'AM', 'PM'))}", f"{hour} baje", f"{hour}pm")
    )


def app_version(rng: random.Random) -> str:
    a, b, c = rng.randint(1, 14), rng.randint(0, 30), rng.randint(0, 99)
    return rng.choice((f"v{a}.{b}.{c}", f"{a}.{b}.{c}.{rng.randint(1, 250)}", f"{a}.{b}"))


def _ascii_lower(text: str) -> str:
    return "".join(c for c in text.lower() if c.isascii() and (c.isalnum() or c in "._-"))
