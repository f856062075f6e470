"""What tiny.en makes of a spoken number and e-mail (issue 17): a digit homophone glued to the rest of the
number, an "at" swallowed into the local part."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer

_MINIMIZER = Minimizer()


def _found(text: str) -> list[tuple[EntityType, str]]:
    return [(s.type, text[s.start : s.end]) for s in _MINIMIZER.scan(text)]


def test_the_issue_transcript_masks_both_values() -> None:
    text = "My number is i876-543210 and my email is Rahul.sharmatgmail.com"
    assert _found(text) == [(EntityType.PHONE, "i876-543210"), (EntityType.EMAIL, "Rahul.sharmatgmail.com")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("email zembra.toskatgmail.com", "zembra.toskatgmail.com"),
        ("mail id quorvel22atyahoo.co.in hai", "quorvel22atyahoo.co.in"),
        ("its velkha_o99thotmail.com", "velkha_o99thotmail.com"),
    ],
)
def test_at_swallowed_into_the_local_part(text: str, value: str) -> None:
    assert (EntityType.EMAIL, value) in _found(text)


@pytest.mark.parametrize(
    ("text", "value"), [("call me at a765432109", "a765432109"), ("i876 543210", "i876 543210")]
)
def test_first_digit_heard_as_a_letter(text: str, value: str) -> None:
    assert (EntityType.PHONE, value) in _found(text)


@pytest.mark.parametrize(
    "text",
    ["visit gmail.com for help", "a 987654321 rupees", "version v2.3.4567891", "I 876543210"],
)
def test_no_garble_in_ordinary_text(text: str) -> None:
    assert not [f for f in _found(text) if f[0] in (EntityType.EMAIL, EntityType.PHONE)]


@pytest.mark.parametrize(
    "text",
    [
        "aadhar 8639 2332. 1469",
        "aadhaar number 8639, 2332, 1469",
        "uid eight six three nine two three. three two one four six nine",
    ],
)
def test_aadhaar_split_by_pauses(text: str) -> None:
    assert [t for t, _ in _found(text)] == [EntityType.AADHAAR]


def test_split_digits_without_an_aadhaar_word_stay() -> None:
    assert _found("invoice 8639 2332. 1469 paid") == []
