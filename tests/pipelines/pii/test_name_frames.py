"""Names by their frame (issue 17), with names that are in no lexicon: the frame alone must find them."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer
from pipelines.pii.name_frames import is_world_given_name, is_world_surname
from pipelines.pii.names import is_known_name_part

_MINIMIZER = Minimizer()


def _persons(text: str) -> list[str]:
    return [text[s.start : s.end] for s in _MINIMIZER.scan(text) if s.type is EntityType.PERSON]


def _unlisted(name: str) -> None:
    for word in name.replace(".", " ").split():
        if len(word) > 1:
            assert not is_known_name_part(word), word
            assert not is_world_given_name(word), word
            assert not is_world_surname(word), word


# (phrasing class, text, the name in it); every name here is in no lexicon.
FRAMED = [
    ("label colon", "Naam: Quorvel Tandimbe", "Quorvel Tandimbe"),
    ("label dash", "Name - Ozirra Velkhani", "Ozirra Velkhani"),
    ("CRM export", "Lead: Drevanti Okulolu | Source: Instagram | Budget 80L", "Drevanti Okulolu"),
    ("label, lower case", "naam: quorvel tandimbe", "quorvel tandimbe"),
    ("label without separator", "Patient Zembrani Ostavu, 62M, follow-up next week", "Zembrani Ostavu"),
    ("Devanagari label", "नाम: Quorvel", "Quorvel"),
    ("relation", "please register my mother Abrimelle Tosquaine for the camp", "Abrimelle Tosquaine"),
    ("relation, Hinglish", "meri wife Nashvari aayegi collect karne", "Nashvari"),
    ("possessive name, Hinglish", "papa ka naam Krovander Zelmet hai", "Krovander Zelmet"),
    ("possessive name, lower case", "papa ka naam krovander hai", "krovander"),
    ("possessive name, Devanagari", "मेरी माँ का नाम Ostrelva है", "Ostrelva"),
    ("greeting", "Hi Quennavi, is the flat still available?", "Quennavi"),
    ("greeting, lower case at clause end", "hi quennavi, sending the docs now", "quennavi"),
    ("greeting, Devanagari name before ji", "नमस्ते ओस्त्रेल्वा जी", "ओस्त्रेल्वा"),
    (
        "self-introduction, two capitalized words",
        "I am Zembrani Ostavu and I want a table",
        "Zembrani Ostavu",
    ),
    ("address form", "please ask for Tovrimba at the gate", "Tovrimba"),
    ("speaker prefix", "Zorvanu Akpelli: can you deliver by 6?", "Zorvanu Akpelli"),
    ("sign-off", "Thanks for the quick reply.\nBest regards,\nOzirra Velkhani", "Ozirra Velkhani"),
    ("dash sign-off", "will send the cheque tomorrow\n- Quorvel", "Quorvel"),
    ("initials in a frame", "Name: R. K. Tandimbe", "R. K. Tandimbe"),
]


@pytest.mark.parametrize(("kind", "text", "name"), FRAMED, ids=[k for k, _, _ in FRAMED])
def test_framed_names_not_in_any_lexicon(kind: str, text: str, name: str) -> None:
    _unlisted(name)
    assert name in _persons(text), kind


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Parcel for G. Garcia, flat 7", "G. Garcia"),  # initials before a listed surname, anywhere
        ("Contact Kwame Mensah or Mei Tanaka today", "Kwame Mensah"),  # world given name + surname
        ("my husband kenji watanabe will sign", "kenji watanabe"),  # lower case, listed, after a relation
        ("this is wei zhang, I called yesterday", "wei zhang"),  # lower case, listed, introducing oneself
        ("please deliver to Quorvel Mensah", "Quorvel Mensah"),  # a capitalized word before a listed surname
        ("regards kwame alternate number below", "kwame"),  # a listed name after a sign-off, mid-line
    ],
)
def test_world_lexicon_names(text: str, name: str) -> None:
    assert name in _persons(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi Team, any update on the quote?",
        "Good Morning Sir, Happy Holi",
        "Please Share The Brochure And Price List",
        "Note: delivery after 6",
        "Budget: 80 lakh",
        "my mother is coming tomorrow",
        "hii sagar wala print chahiye",
        "Will Jordan 4 size 9 be back in stock?",
        "Is Phoenix Mall open on Sunday?",
        "Grace period for the EMI is how many days?",
        "please deliver to Andheri West by 6",
        "Dear Valued Customer",
        "Hi Quick Question On Pricing",
        "Hello Amazon Support",
        "Good Evening Ma'am",
        "Hi, I'm on the 5th floor",
        "bill Deepak ke naam pe",  # the name is found, never "pe"
        "नमस्ते जी, मेरा पता बताइए",
    ],
)
def test_no_name_in_ordinary_phrases(text: str) -> None:
    assert all(p in ("Deepak",) for p in _persons(text)), _persons(text)
