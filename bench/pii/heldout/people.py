"""Held-out values and how they are typed, said, and garbled by speech recognition.

Names come from everywhere Indian businesses' customers come from (and their families abroad); UPI handles use
NPCI's PSP handles; addresses include the Gulf, Singapore/Malaysia, the UK and the US. Each renderer returns the
surface form that becomes the labelled span.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stdnum import verhoeff

if TYPE_CHECKING:
    import random

GIVEN = (
    # West/East/Southern Africa
    "Chidi", "Ngozi", "Kwame", "Amara", "Oluwaseun", "Thandiwe", "Tendai", "Wanjiru", "Kofi", "Zanele",
    "Babajide", "Nkechi", "Sipho", "Abebe", "Makena",
    # East/South-East Asia
    "Wei", "Hiroshi", "Yuki", "Minh", "Haruto", "Jiwoo", "Xiaoling", "Somchai", "Nurul", "Siti",
    # Arab world, Iran, Turkey
    "Faisal", "Layla", "Omar", "Yasmin", "Khalid", "Noura", "Tariq", "Huda", "Reza", "Emre",
    # Europe and the Americas
    "Lukas", "Ingrid", "Giulia", "Mateo", "Sven", "Aoife", "Pieter", "Zofia", "Camille", "Dmitri",
    # less common Indian names
    "Tanmay", "Oishee", "Lalremruati", "Ngawang", "Sukhpreet", "Bhavesh", "Chaitra", "Hrishita",
    "Jyotiraditya", "Mahrukh", "Tshering", "Ekta", "Yashodhara", "Prabhjot", "Anirban",
)  # fmt: skip
SURNAMES = (
    "Okafor", "Mensah", "Adeyemi", "Nkosi", "Mwangi", "Tanaka", "Nguyen", "Kimura", "Park", "Chen",
    "Al-Mansouri", "Haddad", "Khoury", "Rossi", "Novak", "Schmidt", "Kowalski", "O'Brien", "Fernandes",
    "Lalchhanhima", "Bhutia", "Dkhar", "Sangma", "Wangchuk", "Kharbanda", "Tiwana", "Mahanta", "Barua",
    "Karunaratne", "Suzuki", "Ibrahim", "Hosseini", "Yilmaz", "Lindqvist", "Dubois", "Moreau", "Ortega",
    "Mukhopadhyay", "Rathore", "Pillai",
)  # fmt: skip
GIVEN_DEVA = ("तन्मय", "ओइशी", "सुखप्रीत", "भावेश", "चैत्रा", "एकता", "अनिर्बान", "यशोधरा", "फ़ैसल", "लैला")
SURNAMES_DEVA = ("मुखोपाध्याय", "राठौर", "बरुआ", "महंत", "तिवाना", "खरबंदा", "संगमा", "पिल्लै")

PSP = (
    "okaxis", "okhdfcbank", "okicici", "oksbi", "ybl", "ibl", "axl", "paytm", "apl", "upi", "icici", "sbi",
    "hdfcbank", "kotak", "barodampay", "aubank", "freecharge", "fbl", "axisbank", "jupiteraxis", "slc",
    "naviaxis", "pthdfc", "ptsbi", "ptyes", "ptaxis", "waicici", "wahdfcbank", "yapl", "ikwik", "abfspay",
)  # fmt: skip
# How each handle is said: letters spelt, or words ("ok axis", "a x l").
PSP_SAID = {
    "okaxis": "ok axis", "okhdfcbank": "ok hdfc bank", "okicici": "ok icici", "oksbi": "ok sbi", "ybl": "y b l",
    "ibl": "i b l", "axl": "a x l", "paytm": "paytm", "apl": "a p l", "upi": "upi", "icici": "icici",
    "sbi": "s b i", "hdfcbank": "hdfc bank", "kotak": "kotak", "barodampay": "baroda m pay", "aubank": "au bank",
    "freecharge": "freecharge", "fbl": "f b l", "axisbank": "axis bank", "jupiteraxis": "jupiter axis",
    "slc": "s l c", "naviaxis": "navi axis", "pthdfc": "p t hdfc", "ptsbi": "p t s b i", "ptyes": "p t yes",
    "ptaxis": "p t axis", "waicici": "w a icici", "wahdfcbank": "w a hdfc bank", "yapl": "y a p l",
    "ikwik": "i kwik", "abfspay": "a b f s pay",
}  # fmt: skip
MAIL_DOMAINS = (
    "gmail.com", "yahoo.co.in", "outlook.com", "hotmail.com", "rediffmail.com", "icloud.com", "proton.me",
    "uni.edu", "nus.edu.sg", "emirates.net.ae", "btinternet.com", "zoho.in", "live.co.uk",
)  # fmt: skip

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# How tiny.en mishears a digit said alone at the start of a number ("nine" → "i", "eight" → "a").
DIGIT_GARBLES = {"9": "i", "8": "a", "1": "I", "4": "for", "2": "to", "0": "o"}
ORDINALS = (
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth", "twentieth", "twenty-first", "twenty second", "twenty third", "twenty-fourth", "twenty fifth",
    "twenty sixth", "twenty-seventh", "twenty eighth", "twenty-ninth", "thirtieth", "thirty first",
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
MONTHS_DEVA = (
    "जनवरी",
    "फ़रवरी",
    "मार्च",
    "अप्रैल",
    "मई",
    "जून",
    "जुलाई",
    "अगस्त",
    "सितंबर",
    "अक्टूबर",
    "नवंबर",
    "दिसंबर",
)
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip


def _two(n: int, hyphen: bool) -> str:
    """0-99 in words."""
    if n < 10:
        return DIGIT_WORDS[n]
    if n < 20:
        return TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return TENS[tens] + (("-" if hyphen else " ") + DIGIT_WORDS[unit] if unit else "")


def year_words(rng: random.Random, year: int) -> str:
    """ "nineteen seventy-eight", "two thousand two", "twenty eleven"."""
    hyphen = rng.random() < 0.5
    century, rest = divmod(year, 100)
    if year >= 2000 and (rest < 10 or rng.random() < 0.5):
        return "two thousand" + (f" {_two(rest, hyphen)}" if rest else "")
    tail = f"oh {DIGIT_WORDS[rest]}" if rest < 10 else _two(rest, hyphen)
    return f"{_two(century, hyphen)} {tail}"


def say_digits(rng: random.Random, digits: str) -> str:
    """Digit by digit; sometimes "double"/"triple" for repeats, as people read numbers out."""
    words: list[str] = []
    i = 0
    while i < len(digits):
        run = 1
        while i + run < len(digits) and digits[i + run] == digits[i] and run < 3:
            run += 1
        if run > 1 and rng.random() < 0.5:
            words.append(("double " if run == 2 else "triple ") + DIGIT_WORDS[int(digits[i])])
            i += run
            continue
        words.append(DIGIT_WORDS[int(digits[i])])
        i += 1
    return " ".join(words)


def spell(word: str) -> str:
    return " ".join(word)


# --- people ---------------------------------------------------------------------------------------------------


def name(rng: random.Random, *, deva: bool = False) -> str:
    if deva:
        return (
            f"{rng.choice(GIVEN_DEVA)} {rng.choice(SURNAMES_DEVA)}"
            if rng.random() < 0.7
            else rng.choice(GIVEN_DEVA)
        )
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    form = rng.random()
    if form < 0.45:
        value = f"{given} {surname}"
    elif form < 0.6:
        value = f"{given[0]}. {surname}"  # "G. Garcia"
    elif form < 0.8:
        value = given
    else:
        value = f"{given} {rng.choice(GIVEN)} {surname}"
    return value.lower() if rng.random() < 0.25 else value


# --- phone ----------------------------------------------------------------------------------------------------


def mobile(rng: random.Random) -> str:
    return rng.choice("6789") + "".join(rng.choice("0123456789") for _ in range(9))


def phone_written(rng: random.Random) -> str:
    n = mobile(rng)
    return rng.choice((n, f"{n[:5]} {n[5:]}", f"+91-{n}", f"0{n}", f"{n[:3]}-{n[3:6]}-{n[6:]}"))


def phone_spoken(rng: random.Random) -> str:
    n = mobile(rng)
    form = rng.random()
    if form < 0.5:
        return say_digits(rng, n)
    if form < 0.75:  # tiny.en: the first digit heard as a letter, the rest as digits ("i876-543210")
        first = DIGIT_GARBLES.get(n[0], n[0])
        return f"{first}{n[1:4]}-{n[4:]}"
    # Split over two segments ("98765. 43210.")
    return f"{n[:5]}. {n[5:]}"


# --- e-mail and UPI -------------------------------------------------------------------------------------------


def _local(rng: random.Random) -> tuple[str, list[str]]:
    """A local part and the words it is said in."""
    given, surname = rng.choice(GIVEN).lower(), rng.choice(SURNAMES).lower().replace("'", "").replace("-", "")
    form = rng.random()
    if form < 0.35:
        sep, said = rng.choice(((".", "dot"), ("_", "underscore"), ("-", "dash")))
        return f"{given}{sep}{surname}", [given, said, surname]
    if form < 0.7:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice((2, 2, 4))))
        return f"{given}{digits}", [given, say_digits(rng, digits)]
    if form < 0.85:
        return f"{given[0]}{surname}", [given[0], surname]
    return given + surname[:3], [spell(given + surname[:3])]


def email_written(rng: random.Random) -> str:
    local, _ = _local(rng)
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


_AT_SAID = ("at", "at the rate", "at the rate of", "at sign", "at symbol", "attherate")


def _domain_said(rng: random.Random, domain: str) -> str:
    parts = domain.split(".")
    first = parts[0]
    if len(first) <= 4 and rng.random() < 0.6:
        first = spell(first)  # "u n i dot edu"
    return " dot ".join([first, *parts[1:]])


def email_spoken(rng: random.Random) -> str:
    local, words = _local(rng)
    domain = rng.choice(MAIL_DOMAINS)
    form = rng.random()
    if form < 0.6:
        return f"{' '.join(words)} {rng.choice(_AT_SAID)} {_domain_said(rng, domain)}"
    if form < 0.8:  # tiny.en swallowed the "at": "rahul.sharmatgmail.com", "rahul.sharmaatgmail.com"
        glue = rng.choice(("t", "at"))
        return f"{local}{glue}{domain}"
    return f"{local} at {domain}"  # "rahul.sharma at gmail.com"


def upi_written(rng: random.Random) -> str:
    handle = _local(rng)[0] if rng.random() < 0.6 else mobile(rng)
    return f"{handle}@{rng.choice(PSP)}"


def upi_spoken(rng: random.Random) -> str:
    psp = rng.choice(PSP)
    at = rng.choice(("at", "at the rate", "at the rate of", "at sign"))
    if rng.random() < 0.45:
        return f"{say_digits(rng, mobile(rng))} {at} {PSP_SAID[psp]}"
    _, words = _local(rng)
    return f"{' '.join(words)} {at} {PSP_SAID[psp]}"


# --- dates of birth -------------------------------------------------------------------------------------------


def _birthday(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(1, 28), rng.randint(1, 12), rng.randint(1945, 2008)


def dob_written(rng: random.Random) -> str:
    d, m, y = _birthday(rng)
    return rng.choice(
        (
            f"{d}/{m}/{y % 100:02d}",
            f"{d}/{m}/{y}",
            f"{d:02d}.{m:02d}.{y}",
            f"{d} {MONTHS[m - 1][:3]} {y}",
            f"{MONTHS[m - 1]} {d}, {y}",
            f"{d}{'th' if d > 3 else ('st', 'nd', 'rd')[d - 1]} {MONTHS[m - 1].lower()} {y % 100:02d}",
        )
    )


def dob_spoken(rng: random.Random) -> str:
    d, m, y = _birthday(rng)
    month = MONTHS[m - 1]
    return rng.choice(
        (
            f"the {ORDINALS[d]} of {month} {year_words(rng, y)}",
            f"{ORDINALS[d]} {month.lower()} {year_words(rng, y)}",
            f"{month} {ORDINALS[d]} {year_words(rng, y)}",
            f"{d} {month.lower()} {year_words(rng, y)}",
        )
    )


def dob_deva(rng: random.Random) -> str:
    d, m, y = _birthday(rng)
    return rng.choice((f"{d} {MONTHS_DEVA[m - 1]} {y}", f"{d:02d}-{m:02d}-{y}"))


# --- addresses ------------------------------------------------------------------------------------------------

_TOWERS = ("Marina Heights", "Al Noor Residence", "Burj Views", "Skycourts", "Lake Terrace", "Sulafa Tower")
_GULF_AREAS = (
    "Dubai Marina",
    "JLT",
    "Al Nahda",
    "Deira",
    "Al Barsha",
    "Business Bay",
    "Muwaileh",
    "Al Khuwair",
)
_GULF_CITIES = ("Dubai", "Sharjah", "Abu Dhabi", "Doha", "Muscat", "Manama")
_SG_STREETS = ("Ang Mo Kio Ave 3", "Tampines St 21", "Jurong West St 52", "Bedok North Rd", "Yishun Ring Rd")
_MY_PLACES = ("Jalan SS 2/24, 47300 Petaling Jaya, Selangor", "Jalan Ipoh, 51200 Kuala Lumpur")
_UK_STREETS = ("Kingsley Road", "Belgrave Avenue", "Station Lane", "Ealing Broadway", "Soho Road")
_UK_TOWNS = (
    ("Hounslow", "TW3 1QB"),
    ("Leicester", "LE4 6QH"),
    ("Birmingham", "B21 9NA"),
    ("Southall", "UB1 3DB"),
)
_US_STREETS = ("Oak Street", "Maple Avenue", "Route 27", "Hillcrest Drive", "Newark Avenue")
_US_TOWNS = (
    ("Edison", "NJ", "08817"), ("Jersey City", "NJ", "07306"), ("Fremont", "CA", "94538"), ("Irving", "TX", "75038"),
)  # fmt: skip
_SOCIETIES = ("Sunshine Apartments", "Green Meadows", "Shanti Niketan", "Palm Grove", "Lake View Residency")
_LOCALITIES = (
    ("Baner", "Pune", "411045"),
    ("Kondapur", "Hyderabad", "500084"),
    ("Salt Lake", "Kolkata", "700091"),
)


def address_abroad(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return (
            f"Flat {rng.randint(101, 3405)}, {rng.choice(_TOWERS)} Tower, {rng.choice(_GULF_AREAS)}, "
            f"{rng.choice(_GULF_CITIES)}"
        )
    if kind == 1:
        unit = f"#{rng.randint(2, 18):02d}-{rng.randint(10, 999)}"
        return f"Blk {rng.randint(100, 899)} {rng.choice(_SG_STREETS)}, {unit}, Singapore {rng.randint(460000, 680999)}"
    if kind == 2:
        return f"No {rng.randint(1, 88)}, {rng.choice(_MY_PLACES)}"
    if kind == 3:
        town, postcode = rng.choice(_UK_TOWNS)
        return f"{rng.randint(2, 240)} {rng.choice(_UK_STREETS)}, {town} {postcode}"
    town, state, zip_ = rng.choice(_US_TOWNS)
    apt = f", Apt {rng.randint(1, 20)}{rng.choice('ABCD')}" if rng.random() < 0.5 else ""
    return f"{rng.randint(10, 9999)} {rng.choice(_US_STREETS)}{apt}, {town}, {state} {zip_}"


def address_spoken_india(rng: random.Random) -> str:
    locality, city, pin = rng.choice(_LOCALITIES)
    flat = f"{rng.choice('abcd')} {say_digits(rng, str(rng.randint(101, 1204)))}"
    return (
        f"flat {flat} {rng.choice(_SOCIETIES).lower()} {locality.lower()} {city.lower()} "
        f"pin {say_digits(rng, pin)}"
    )


# --- PAN and Aadhaar ------------------------------------------------------------------------------------------


def pan_value(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return (
        "".join(rng.choice(letters) for _ in range(3))
        + rng.choice("PCHFATBLJG")
        + rng.choice(letters)
        + "".join(rng.choice("0123456789") for _ in range(4))
        + rng.choice(letters)
    )


def pan_spoken(rng: random.Random) -> str:
    value = pan_value(rng)
    if rng.random() < 0.5:
        return " ".join(value)  # "A B C P E 1 2 3 4 F"
    return f"{spell(value[:5]).lower()} {say_digits(rng, value[5:9])} {value[9].lower()}"


def aadhaar_value(rng: random.Random) -> str:
    body = rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(10))
    return body + verhoeff.calc_check_digit(body)


def aadhaar_written(rng: random.Random) -> str:
    v = aadhaar_value(rng)
    return rng.choice((f"{v[:4]} {v[4:8]} {v[8:]}", f"{v[:4]}-{v[4:8]}-{v[8:]}", v))


def aadhaar_spoken(rng: random.Random) -> str:
    v = aadhaar_value(rng)
    return rng.choice((say_digits(rng, v), f"{v[:4]} {v[4:8]}. {v[8:]}"))
