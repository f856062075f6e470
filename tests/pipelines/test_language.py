"""The reply language is decided from the message itself, among the languages the business answers in."""

from __future__ import annotations

import pytest

from pipelines.language import Language, detect, reply_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Do you install rooftop solar in Pune?", Language("en")),
        ("क्या आप पुणे में सोलर लगाते हैं?", Language("hi")),
        ("mujhe Baner mein 2 BHK chahiye, budget kitna hoga?", Language("hi", romanized=True)),
        ("aap kal call kar sakte ho kya", Language("hi", romanized=True)),
        ("நீங்கள் சென்னையில் இருக்கிறீர்களா?", Language("ta")),
        ("Hi, is Sunday open? Call me at 9", Language("en")),  # "hi" the greeting is not Hindi
        ("Main road, Baner", Language("en")),
        ("Is the shop open to the public on Sunday?", Language("en")),  # "the", "to": Hindi words too
    ],
)
def test_detect(text: str, expected: Language) -> None:
    assert detect(text) == expected


def test_nothing_to_go_on() -> None:
    assert detect("9876 👍") is None
    assert reply_language("👍", ("en", "hi"), "hi") == Language("hi")


def test_unsupported_language_falls_back_to_the_business_default() -> None:
    assert reply_language("நீங்கள் சென்னையில் இருக்கிறீர்களா?", ("en", "hi"), "en") == Language("en")
    assert reply_language("mujhe flat chahiye, kya rate hai", ("en",), "en") == Language("en")


def test_devanagari_for_a_marathi_only_business() -> None:
    assert reply_language("मला बाणेरमध्ये फ्लॅट हवा आहे", ("en", "mr"), "en") == Language("mr")
    assert reply_language("mujhe flat chahiye, kya rate hai", ("en", "mr"), "en") == Language("en")
