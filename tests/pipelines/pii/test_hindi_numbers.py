"""Hindi numbers 10-99 said in pairs ("atthanve sattasi …", "अट्ठानवे सत्तासी …"): each is its own word, read from
`pipelines/pii/data/hindi_numbers.txt`; the spoken shadow writes them as digits and the detectors see those.
Prices, quantities and ordinary words that spell like numbers stay as they are."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer, Vault
from pipelines.pii.spoken import spoken_shadow


@pytest.mark.parametrize(
    ("text", "shadow"),
    [
        ("mera number atthanve sattasi chhiyasi pachpan chauvan hai", "mera number 9887865554 hai"),
        ("मेरा नंबर अट्ठानवे सत्तासी छियासी पचपन चौवन है", "मेरा नंबर 9887865554 है"),
        # Single digits and pairs mixed, as people read a number off a card.
        ("number likho nau aath sattasi chhe paanch chauvan teen do", "number likho 9887655432"),
        ("नंबर नौ आठ सत्तासी छह पांच चौवन तीन दो है", "नंबर 9887655432 है"),
        # Spellings vary: "pachaas"/"pachas", "sattar", "nabbe"; "saath" (sixty, also "with") beside a number.
        ("call karo nabbe pachaas sattar saath ikkis do", "call karo 90507060212"),
        # Devanagari with the nukta as one code point (ड़ U+095C) and as letter + nukta.
        ("अड़तीस अड़सठ बीस पचास इक्यावन", "3868205051"),
        ("\u0905\u095c\u0924\u0940\u0938 \u0905\u095c\u0938\u0920 बीस पचास इक्यावन", "3868205051"),
    ],
)
def test_hindi_pairs_are_written_as_digits(text: str, shadow: str) -> None:
    assert spoken_shadow(text).text == shadow


@pytest.mark.parametrize(
    ("text", "type_", "spoken"),
    [
        (
            "haan ji mera mobile atthanve sattasi chhiyasi pachpan chauvan hai, shaam ko call karna",
            EntityType.PHONE,
            "atthanve sattasi chhiyasi pachpan chauvan",
        ),
        (
            "मेरा मोबाइल नौ आठ सत्तासी छह पांच चौवन तीन दो है",
            EntityType.PHONE,
            "नौ आठ सत्तासी छह पांच चौवन तीन दो",
        ),
        (
            "aadhaar number painsath assi tihattar shunya do pandrah athattar hai",
            EntityType.AADHAAR,
            "painsath assi tihattar shunya do pandrah athattar",
        ),
        (  # a time written after it is not more of the number
            "KYC ke liye aadhaar painsath assi tihattar shunya do pandrah athattar, 7:15 PM tak aa jaana",
            EntityType.AADHAAR,
            "painsath assi tihattar shunya do pandrah athattar",
        ),
        (
            "मेरा आधार पैंसठ अस्सी तिहत्तर शून्य दो पंद्रह अठहत्तर है",
            EntityType.AADHAAR,
            "पैंसठ अस्सी तिहत्तर शून्य दो पंद्रह अठहत्तर",
        ),
    ],
)
def test_values_said_in_hindi_pairs_are_masked_whole(text: str, type_: EntityType, spoken: str) -> None:
    spans = Minimizer().scan(text)
    assert [(s.type, text[s.start : s.end]) for s in spans] == [(type_, spoken)]
    minimized = Minimizer().minimize(text, Vault()).text
    assert minimized == text.replace(spoken, f"<{type_.name}_1>")


@pytest.mark.parametrize(
    ("text", "type_", "spoken"),
    [
        (
            "address hai flat 12 Koramangala Bengaluru pin code chhappan shunya shunya chauntis",
            EntityType.ADDRESS,
            "flat 12 Koramangala Bengaluru pin code chhappan shunya shunya chauntis",
        ),
        (
            "मेरा पता फ्लैट 12 कोरमंगला बेंगलुरु पिन कोड छप्पन शून्य शून्य चौंतीस है",
            EntityType.ADDRESS,
            "फ्लैट 12 कोरमंगला बेंगलुरु पिन कोड छप्पन शून्य शून्य चौंतीस",
        ),
        (
            "mera khata number battis paintalis adtis battis chhattis chalis hai",
            EntityType.BANK_ACCOUNT,
            "battis paintalis adtis battis chhattis chalis",
        ),
        (
            "मेरा खाता नंबर बत्तीस पैंतालीस अड़तीस बत्तीस छत्तीस चालीस है",
            EntityType.BANK_ACCOUNT,
            "बत्तीस पैंतालीस अड़तीस बत्तीस छत्तीस चालीस",
        ),
    ],
)
def test_pin_codes_and_accounts_said_in_hindi_pairs(text: str, type_: EntityType, spoken: str) -> None:
    assert [(s.type, text[s.start : s.end]) for s in Minimizer().scan(text)] == [(type_, spoken)]


def test_a_pin_code_asked_about_stays() -> None:
    """A PIN code alone is a place, not a person's address."""
    text = "pin code chhappan shunya shunya chauntis pe delivery hoti hai?"
    assert spoken_shadow(text).text == "pin code 560034 pe delivery hoti hai?"
    assert Minimizer().scan(text) == []


def test_a_surname_that_spells_a_number_stays_out_of_the_number() -> None:
    """ "Das" is ten only beside another Hindi number word; after a comma it is the surname."""
    text = "main Rahul Das, number nau aath saat chhe paanch chaar teen do ek shunya"
    spans = Minimizer().scan(text)
    assert [(s.type, text[s.start : s.end]) for s in spans] == [
        (EntityType.PERSON, "Rahul Das"),
        (EntityType.PHONE, "nau aath saat chhe paanch chaar teen do ek shunya"),
    ]


def test_written_and_hindi_pair_forms_of_one_number_share_a_placeholder() -> None:
    minimizer, vault = Minimizer(), Vault()
    first = minimizer.minimize("mera number 98878 65554 hai", vault)
    later = minimizer.minimize("dobara bolta hoon, atthanve sattasi chhiyasi pachpan chauvan", vault)
    assert first.text == "mera number <PHONE_1> hai"
    assert later.text == "dobara bolta hoon, <PHONE_1>"


@pytest.mark.parametrize(
    "text",
    [
        "pachas hazaar ka budget hai, do BHK chahiye",
        "बजट पचास हज़ार तक है",
        "ek sau pachas rupaye ka hai kya?",
        "pachas pachpan hazaar tak chalega",
        "mere saath do log aayenge",  # "saath" is "with"
        "tera order kab aayega?",  # "tera" is "your"
        "barah baje tak aa jaana",
        "unnis sau chauhattar ka model hai",
        "चालीस मिनट में पहुँच जाऊँगा",
    ],
)
def test_prices_quantities_and_look_alikes_stay_prose(text: str) -> None:
    assert spoken_shadow(text).text == text
    assert Minimizer().scan(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "pachas pachpan saath hazaar tak ka flat dikhao",  # 50-55-60 thousand: six digits, no ID
        "barah terah chaudah saal ke bachche hain",
        "teen chaar sau pachas log aayenge",
    ],
)
def test_quantities_said_as_many_numbers_are_not_masked(text: str) -> None:
    """Six digits or more pass the pair gate; without a label word or a valid layout no detector takes them."""
    assert Minimizer().scan(text) == []
