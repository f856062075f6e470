"""Codes read aloud letter by letter, as ASR writes them, are found by the checksum detectors."""

from __future__ import annotations

import pytest

from pipelines.pii import Minimizer, Vault
from pipelines.pii.spelled import is_spelt_code
from pipelines.pii.spoken import spoken_shadow


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("toh mera PAN F X V P H six seven two one A hai", "toh mera PAN <PAN_1> hai"),
        ("my PAN card number is i v n p k zero one zero five k", "my PAN card number is <PAN_1>"),
        ("IFSC code is c n r b zero two one seven eight zero four ok", "IFSC code is <IFSC_1> ok"),
        ("mera voter id v r k three five one five three five zero hai", "mera voter id <VOTER_ID_1> hai"),
        ("passport J seven eight zero one five four three ki copy", "passport <PASSPORT_1> ki copy"),
        ("my car number is B R four three Y E eight five one five please", "my car number is <VEHICLE_1> please"),
        ("gst no one five Y L U H S three eight one eight O six Z U ok", "gst no <GSTIN_1> ok"),
        ("IBAN G B eight two W E S T one two three four five six nine eight seven six five four three two",
         "IBAN <IBAN_1>"),
        ("मतदाता पहचान पत्र संख्या G Y E छह डबल एक चार एक आठ पांच है", "मतदाता पहचान पत्र संख्या <VOTER_ID_1> है"),
    ],
)  # fmt: skip
def test_spelt_codes_are_masked(text: str, expected: str) -> None:
    assert Minimizer().minimize(text, Vault()).text == expected


def test_a_word_spelt_after_a_code_stays_apart() -> None:
    assert (
        spoken_shadow("PAN j l d p b four eight three four b I am Geeta").text == "PAN JLDPB4834B I am Geeta"
    )


def test_a_code_never_splits_a_number() -> None:
    """ "c" of "a/c" and the first seven digits of the account are no passport number."""
    shadow = spoken_shadow("a/c one seven four two five two four six four eight four five nine five mein")
    assert shadow.text == "a/c 17425246484595 mein"


@pytest.mark.parametrize(
    "text", ["I need a 3 kW system", "plan A B C 2 options", "a b c d e", "rooms 1 2 3 4", "plan b 2 3"]
)
def test_ordinary_text_is_not_joined(text: str) -> None:
    assert spoken_shadow(text).text == text


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("FXVPH6721A", True),  # PAN
        ("FXVMH6721A", False),  # M is no PAN holder type
        ("WKH1186253", True),  # EPIC, Luhn
        ("WKH1186254", False),
        ("J7801543", True),  # passport shape
        ("MH12AB1234", True),
        ("XX12AB1234", False),  # no such state
        ("GB82WEST12345698765432", True),
        ("GB83WEST12345698765432", False),  # mod-97
    ],
)
def test_code_grammar(code: str, valid: bool) -> None:
    assert is_spelt_code(code) is valid


def test_joined_code_maps_back_to_the_whole_spelling() -> None:
    text = "pan F X V P H 6721 A ok"
    shadow = spoken_shadow(text)
    assert shadow.text == "pan FXVPH6721A ok"
    assert shadow.original_span(4, 14) == (4, 20)
