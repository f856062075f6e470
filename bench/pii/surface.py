"""How a value appears in a message: typed in a chat, or said in a voice note and transcribed.

Written forms vary the layout (grouping, separators, case, Devanagari numerals). Spoken forms are what a
transcript holds: digits as words in English, romanized Hindi or Devanagari ("double nine", "nau aath"),
numbers in pairs ("ninety eight forty five", "atthanve sattasi", "अट्ठानवे सत्तासी"), letters spelled out,
"dot" and "at the rate" in e-mails; sometimes the transcriber wrote numerals anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bench.pii import lexicon, values
from bench.pii.labels import Label

if TYPE_CHECKING:
    import datetime as dt
    import random

Language = Literal["en", "hinglish", "devanagari"]
Voice = Literal["en", "hi", "deva"]  # the words a speaker uses for digits

_DIGITS: dict[Voice, tuple[str, ...]] = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "hi": ("shunya", "ek", "do", "teen", "chaar", "paanch", "chhe", "saat", "aath", "nau"),
    "deva": ("शून्य", "एक", "दो", "तीन", "चार", "पांच", "छह", "सात", "आठ", "नौ"),
}
_REPEATS: dict[Voice, dict[int, str]] = {
    "en": {2: "double", 3: "triple"},
    "hi": {2: "double", 3: "triple"},
    "deva": {2: "डबल", 3: "ट्रिपल"},
}
Renderer = Callable[["random.Random", Language, "Persona"], str]
_DEVA_NUMERALS = str.maketrans("0123456789", "०१२३४५६७८९")
_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINALS = {1: "first", 2: "second", 3: "third", 5: "fifth", 8: "eighth", 9: "ninth", 12: "twelfth"}
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
_MONTHS_DEVA = (
    "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Persona:
    """Who is writing: the name the message's e-mail, UPI ID and self-introduction agree with."""

    person: values.Person  # Latin script
    person_deva: values.Person


def voice_for(rng: random.Random, language: Language) -> Voice:
    """Hinglish speakers mostly say digits in English; Devanagari transcripts hold Hindi words or English."""
    if language == "en":
        return "en"
    if language == "hinglish":
        return "hi" if rng.random() < 0.4 else "en"
    return "deva" if rng.random() < 0.7 else "en"


# --- spoken building blocks --------------------------------------------------------------------------------


def say_digits(rng: random.Random, number: str, voice: Voice, groups: tuple[int, ...] = ()) -> str:
    """Digit by digit, with "double"/"triple" for runs inside a group; groups separated by a pause."""
    chunks, start = [], 0
    for size in groups or (len(number),):
        chunks.append(number[start : start + size])
        start += size
    chunks = [chunk for chunk in [*chunks, number[start:]] if chunk]
    words = _DIGITS[voice]
    spoken = []
    for chunk in chunks:
        out: list[str] = []
        for run in re.finditer(r"(\d)\1*", chunk):
            digit, n = int(run.group(1)), len(run.group())
            if n in _REPEATS[voice] and rng.random() < 0.7:
                out.append(f"{_REPEATS[voice][n]} {words[digit]}")
            else:
                out.extend([words[digit]] * n)
        spoken.append(" ".join(out))
    return rng.choice((", ", " ", " ")).join(spoken)


def say_pairs(rng: random.Random, number: str) -> str:
    """Two digits at a time, in English: 9845012345 → "ninety eight forty five zero one twenty three forty five"
    (a pair with a leading zero is said digit by digit, "00" as "double zero")."""
    words = []
    for i in range(0, len(number), 2):
        pair = number[i : i + 2]
        if pair == "00":
            words.append("double zero")
        elif pair[0] == "0" or len(pair) == 1:
            words.append(
                " ".join(("oh" if d == "0" and rng.random() < 0.5 else _DIGITS["en"][int(d)]) for d in pair)
            )
        else:
            words.append(number_words(int(pair)))
    return rng.choice((" ", ", ")).join(words)


def say_hindi_pairs(rng: random.Random, number: str, voice: Voice) -> str:
    """Two digits at a time in Hindi, where 10-99 are one word each: 9887655432 → "atthanve sattasi chhiyasi …";
    some pairs digit by digit ("nau aath sattasi …"), as a pair with a leading zero always is."""
    pairs = lexicon.HINDI_PAIRS_DEVA if voice == "deva" else lexicon.HINDI_PAIRS
    words = []
    for i in range(0, len(number), 2):
        pair = number[i : i + 2]
        if pair[0] == "0" or len(pair) == 1 or rng.random() < 0.2:
            words.append(" ".join(_DIGITS[voice][int(d)] for d in pair))
        else:
            words.append(rng.choice(pairs[int(pair)]))
    return " ".join(words)


def spell(rng: random.Random, text: str, voice: Voice, groups: tuple[int, ...] = ()) -> str:
    """Letters one by one, digit runs as words: "M H one two A B one two three four"."""
    lower = rng.random() < 0.3
    parts = []
    for run in re.finditer(r"\d+|[A-Za-z]", text):
        token = run.group()
        if token.isdigit():
            parts.append(say_digits(rng, token, voice, groups))
        else:
            parts.append(token.lower() if lower else token.upper())
    return " ".join(parts)


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def amount_words(n: int) -> str:
    """Indian numbering: 190000 → "one lakh ninety thousand"."""
    out = []
    for size, name in ((10_000_000, "crore"), (100_000, "lakh"), (1000, "thousand"), (100, "hundred")):
        count, n = divmod(n, size)
        if count:
            out.append(f"{amount_words(count)} {name}")
    if n or not out:
        out.append(number_words(n))
    return " ".join(out)


def ordinal_words(n: int) -> str:
    if n in _ORDINALS:
        return _ORDINALS[n]
    if n < 20:
        return _ONES[n] + "th"
    tens, ones = divmod(n, 10)
    if ones == 0:
        return _TENS[tens][:-1] + "ieth"
    return f"{_TENS[tens]} {ordinal_words(ones)}"


def year_words(rng: random.Random, year: int) -> str:
    century, rest = divmod(year, 100)
    if century == 20 and (rest < 10 or rng.random() < 0.5):
        return "two thousand" + (f" {number_words(rest)}" if rest else "")
    if rest == 0:
        return f"{number_words(century)} hundred"
    return f"{number_words(century)} " + (f"oh {_ONES[rest]}" if rest < 10 else number_words(rest))


def _numbers_as_digit_words(rng: random.Random, text: str, voice: Voice) -> str:
    return re.sub(r"\b\d+\b", lambda m: say_digits(rng, m.group(), voice), text)


# --- written forms -------------------------------------------------------------------------------------------


def _devanagari_numerals(rng: random.Random, text: str, language: Language) -> str:
    return text.translate(_DEVA_NUMERALS) if language == "devanagari" and rng.random() < 0.25 else text


def _group(number: str, sizes: tuple[int, ...], sep: str) -> str:
    out, start = [], 0
    for size in sizes:
        out.append(number[start : start + size])
        start += size
    return sep.join(part for part in out if part)


def written_phone(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.phone(rng)
    if n[0] in "6789":
        text = rng.choice(
            (
                n,
                n,
                f"+91 {n[:5]} {n[5:]}",
                f"+91-{n}",
                f"+91{n}",
                f"0{n[:5]} {n[5:]}",
                f"{n[:5]}-{n[5:]}",
                f"{n[:5]} {n[5:]}",
                f"91{n}",
            )
        )
    else:
        area = 2 if n[:2] in ("80", "22", "11", "44", "40", "33") else 3
        text = rng.choice((f"0{n[:area]}-{n[area:]}", f"+91 {n[:area]} {n[area : area + 4]} {n[area + 4 :]}"))
    return _devanagari_numerals(rng, text, language)


def written_email(rng: random.Random, language: Language, persona: Persona) -> str:
    text = values.email(rng, persona.person.first, persona.person.last)
    return text.capitalize() if rng.random() < 0.05 else text


def written_card(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.card(rng)
    sizes = (4, 6, 5) if len(n) == 15 else (4, 4, 4, 4)
    return rng.choice((n, _group(n, sizes, " "), _group(n, sizes, " "), _group(n, sizes, "-")))


def written_aadhaar(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.aadhaar(rng)
    text = rng.choice((_group(n, (4, 4, 4), " "), _group(n, (4, 4, 4), " "), n, _group(n, (4, 4, 4), "-")))
    return _devanagari_numerals(rng, text, language)


def written_pan(rng: random.Random, language: Language, persona: Persona) -> str:
    text = values.pan(rng, surname=persona.person.last)
    return text.lower() if rng.random() < 0.1 else text


def written_iban(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.iban(rng)
    return n if rng.random() < 0.5 else " ".join(n[i : i + 4] for i in range(0, len(n), 4))


def written_upi(rng: random.Random, language: Language, persona: Persona) -> str:
    return values.upi(rng, persona.person.first, persona.person.last)


def written_voter_id(rng: random.Random, language: Language, persona: Persona) -> str:
    return values.epic(rng)


def written_passport(rng: random.Random, language: Language, persona: Persona) -> str:
    return values.passport(rng)


def written_vehicle(rng: random.Random, language: Language, persona: Persona) -> str:
    v = values.vehicle(rng)
    text = rng.choice(
        (
            f"{v.state}{v.district}{v.series}{v.number}",
            f"{v.state} {v.district} {v.series} {v.number}",
            f"{v.state}-{v.district}-{v.series}-{v.number}",
            f"{v.state}{v.district} {v.series} {v.number}",
        )
    )
    return text.lower() if rng.random() < 0.1 else text


def written_gstin(rng: random.Random, language: Language, persona: Persona) -> str:
    return values.gstin(rng)


def written_ifsc(rng: random.Random, language: Language, persona: Persona) -> str:
    return values.ifsc(rng)


def written_bank_account(rng: random.Random, language: Language, persona: Persona) -> str:
    return values.bank_account(rng)


def written_ip(rng: random.Random, language: Language, persona: Persona) -> str:
    return values.ipv4(rng) if rng.random() < 0.85 else values.ipv6(rng)


def written_dob(rng: random.Random, language: Language, persona: Persona) -> str:
    d = values.date_of_birth(rng)
    months = _MONTHS_DEVA if language == "devanagari" else _MONTHS
    text = rng.choice(
        (
            f"{d:%d/%m/%Y}",
            f"{d:%d/%m/%Y}",
            f"{d:%d-%m-%Y}",
            f"{d:%d.%m.%Y}",
            f"{d.day}/{d.month}/{d.year}",
            f"{d:%Y-%m-%d}",
            f"{d.day} {months[d.month - 1]} {d.year}",
            f"{d.day} {months[d.month - 1][:3] if language != 'devanagari' else months[d.month - 1]} {d.year}",
            f"{months[d.month - 1]} {d.day}, {d.year}",
        )
    )
    return _devanagari_numerals(rng, text, language)


def written_person(rng: random.Random, language: Language, persona: Persona) -> str:
    p = persona.person_deva if language == "devanagari" and rng.random() < 0.6 else persona.person
    text = rng.choice((f"{p.first} {p.last}", f"{p.first} {p.last}", p.first))
    return text.lower() if language != "devanagari" and rng.random() < 0.15 else text


def _address_parts(rng: random.Random, language: Language) -> tuple[values.Address, list[str]]:
    a = values.address_deva(rng) if language == "devanagari" and rng.random() < 0.7 else values.address(rng)
    parts = [a.house, a.building, a.street, a.landmark, a.locality]
    return a, [p for p in parts if p]


def written_address(rng: random.Random, language: Language, persona: Persona) -> str:
    a, parts = _address_parts(rng, language)
    city = rng.choice(
        (f"{a.city} {a.pin}", f"{a.city} - {a.pin}", f"{a.city}-{a.pin}", f"{a.city}, PIN {a.pin}")
    )
    # Mostly comma-separated; some typed without commas, some pasted as lines.
    separator = rng.choices((", ", " ", "\n"), weights=(0.75, 0.15, 0.10))[0]
    text = separator.join([*parts, city])
    return text.lower() if rng.random() < 0.1 else text


# --- spoken forms --------------------------------------------------------------------------------------------


def spoken_phone(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.phone(rng)
    landline = n[0] not in "6789"  # said with its trunk zero: "zero eight zero …"
    if rng.random() < 0.25:  # the transcriber wrote numerals
        return "0" + n if landline else rng.choice((n, f"{n[:5]} {n[5:]}", f"+91 {n}"))
    voice = voice_for(rng, language)
    if voice == "en" and not landline and rng.random() < 0.15:  # in pairs: "ninety eight forty five …"
        return say_pairs(rng, n)
    if voice != "en" and not landline and rng.random() < 0.4:  # "atthanve sattasi …"
        return say_hindi_pairs(rng, n, voice)
    groups = rng.choice(((5, 5), (5, 5), (3, 3, 4), (), (2, 4, 4)))
    prefix = "zero " if landline else rng.choice(("", "", "", "plus nine one ", "zero "))
    if voice == "deva" and prefix:
        prefix = "प्लस नौ एक " if prefix.startswith("plus") else "शून्य "
    return prefix + say_digits(rng, n, voice, groups)


def _spoken_address_text(rng: random.Random, text: str, voice: Voice) -> str:
    text = text.replace("H.No.", "house number").replace("No.", "number").replace("#", "number ")
    text = text.replace("opp.", "opposite").replace("नं.", "नंबर")
    text = re.sub(r"[,.]", "", text).replace("-", " ")
    return _numbers_as_digit_words(rng, text, voice) if rng.random() < 0.6 else text  # "14th" stays


def _spoken_handle(rng: random.Random, address: str, voice: Voice) -> str:
    """rahul.sharma92@gmail.com → "rahul dot sharma nine two at the rate gmail dot com"."""
    local, _, domain = address.partition("@")
    at = rng.choice(("at", "at", "at the rate", "at the rate of"))
    symbols = {".": " dot ", "_": " underscore ", "-": " dash "}

    def words(part: str) -> str:
        out = re.sub(r"[._-]", lambda m: symbols[m.group()], part)
        if rng.random() < 0.7:
            out = re.sub(r"\d+", lambda m: " " + say_digits(rng, m.group(), voice) + " ", out)
        return re.sub(r" +", " ", out).strip()

    return f"{words(local)} {at} {words(domain)}"


def spoken_email(rng: random.Random, language: Language, persona: Persona) -> str:
    return _spoken_handle(rng, values.email(rng, persona.person.first, persona.person.last), "en")


def spoken_upi(rng: random.Random, language: Language, persona: Persona) -> str:
    handle = values.upi(rng, persona.person.first, persona.person.last)
    return _spoken_handle(rng, handle, voice_for(rng, language))


def _spoken_id(make: Callable[[random.Random], str], groups: tuple[int, ...] = ()) -> Renderer:
    def render(rng: random.Random, language: Language, persona: Persona) -> str:
        value = make(rng)
        if rng.random() < 0.2:
            return value
        return spell(rng, value, voice_for(rng, language), groups)

    return render


def spoken_card(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.card(rng)
    return say_digits(rng, n, voice_for(rng, language), (4, 6, 5) if len(n) == 15 else (4, 4, 4, 4))


def spoken_aadhaar(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.aadhaar(rng)
    if rng.random() < 0.2:
        return f"{n[:4]} {n[4:8]} {n[8:]}"
    voice = voice_for(rng, language)
    if voice != "en" and rng.random() < 0.4:
        return say_hindi_pairs(rng, n, voice)
    return say_digits(rng, n, voice, (4, 4, 4))


def spoken_pan(rng: random.Random, language: Language, persona: Persona) -> str:
    value = values.pan(rng, surname=persona.person.last)
    return value if rng.random() < 0.2 else spell(rng, value, voice_for(rng, language))


def spoken_vehicle(rng: random.Random, language: Language, persona: Persona) -> str:
    v = values.vehicle(rng)
    if rng.random() < 0.3:
        return f"{v.state} {v.district} {v.series} {v.number}"
    return spell(rng, f"{v.state}{v.district}{v.series}{v.number}", voice_for(rng, language))


def spoken_bank_account(rng: random.Random, language: Language, persona: Persona) -> str:
    n = values.bank_account(rng)
    if rng.random() < 0.2:
        return n
    voice = voice_for(rng, language)
    if voice != "en" and rng.random() < 0.4:
        return say_hindi_pairs(rng, n, voice)
    return say_digits(rng, n, voice, (4, 4, 4, 4))


def spoken_ip(rng: random.Random, language: Language, persona: Persona) -> str:
    ip = values.ipv4(rng)
    voice = voice_for(rng, language)
    return " dot ".join(say_digits(rng, octet, voice) for octet in ip.split("."))


def spoken_dob(rng: random.Random, language: Language, persona: Persona) -> str:
    d = values.date_of_birth(rng)
    if language == "devanagari":
        return f"{d.day} {_MONTHS_DEVA[d.month - 1]} {d.year}"
    month = _MONTHS[d.month - 1].lower()
    return rng.choice(
        (
            f"{ordinal_words(d.day)} {month} {year_words(rng, d.year)}",
            f"{number_words(d.day)} {month} {year_words(rng, d.year)}",
            f"{month} {ordinal_words(d.day)} {year_words(rng, d.year)}",
            f"{d.day} {month} {d.year}",
            f"{ordinal_words(d.day)} of {month} {d.year}",
        )
    )


def spoken_person(rng: random.Random, language: Language, persona: Persona) -> str:
    p = persona.person_deva if language == "devanagari" and rng.random() < 0.6 else persona.person
    text = rng.choice((f"{p.first} {p.last}", f"{p.first} {p.last}", p.first))
    return text.lower() if language != "devanagari" and rng.random() < 0.4 else text


def spoken_address(rng: random.Random, language: Language, persona: Persona) -> str:
    a, parts = _address_parts(rng, language)
    voice = voice_for(rng, language)
    pin = say_digits(rng, a.pin, voice, (3, 3)) if rng.random() < 0.7 else a.pin
    text = " ".join(_spoken_address_text(rng, part, voice) for part in [*parts, a.city])
    text = text.lower() if rng.random() < 0.6 else text
    return f"{text} {rng.choice(('', 'pin code ', 'pin '))}{pin}".replace("  ", " ")


WRITTEN: dict[Label, Renderer] = {
    Label.PHONE: written_phone,
    Label.EMAIL: written_email,
    Label.CARD: written_card,
    Label.AADHAAR: written_aadhaar,
    Label.PAN: written_pan,
    Label.IBAN: written_iban,
    Label.UPI: written_upi,
    Label.VOTER_ID: written_voter_id,
    Label.PASSPORT: written_passport,
    Label.VEHICLE: written_vehicle,
    Label.GSTIN: written_gstin,
    Label.IFSC: written_ifsc,
    Label.BANK_ACCOUNT: written_bank_account,
    Label.IP: written_ip,
    Label.DOB: written_dob,
    Label.PERSON: written_person,
    Label.ADDRESS: written_address,
}
SPOKEN: dict[Label, Renderer] = {
    Label.PHONE: spoken_phone,
    Label.EMAIL: spoken_email,
    Label.CARD: spoken_card,
    Label.AADHAAR: spoken_aadhaar,
    Label.PAN: spoken_pan,
    Label.IBAN: _spoken_id(values.iban),
    Label.UPI: spoken_upi,
    Label.VOTER_ID: _spoken_id(values.epic),
    Label.PASSPORT: _spoken_id(values.passport),
    Label.VEHICLE: spoken_vehicle,
    Label.GSTIN: _spoken_id(values.gstin),
    Label.IFSC: _spoken_id(values.ifsc),
    Label.BANK_ACCOUNT: spoken_bank_account,
    Label.IP: spoken_ip,
    Label.DOB: spoken_dob,
    Label.PERSON: spoken_person,
    Label.ADDRESS: spoken_address,
}


def written_date(rng: random.Random, date: dt.date) -> str:
    """A date that is not a birth date (delivery, appointment), in the same layouts as a DOB."""
    return rng.choice((f"{date:%d/%m/%Y}", f"{date.day} {_MONTHS[date.month - 1]}", f"{date:%d-%m-%Y}"))
