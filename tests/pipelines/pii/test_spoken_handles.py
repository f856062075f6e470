"""Spoken and half-spoken e-mail addresses and UPI IDs (issue 17): every way of saying @ . _ -, spelt letters,
digits in handles, NPCI PSP handles said as words or letters. Handles and names here are made up."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer

_MINIMIZER = Minimizer()


def _found(text: str) -> list[tuple[EntityType, str]]:
    return [(s.type, text[s.start : s.end]) for s in _MINIMIZER.scan(text)]


UPI = [
    ("digits, 'at ok axis'", "my upi is seven three five eight two one nine four six zero at ok axis",
     "seven three five eight two one nine four six zero at ok axis"),
    ("'at the rate' + spelt PSP", "send it to quorvel two two at the rate y b l", "quorvel two two at the rate y b l"),
    ("underscore, spelt PSP", "upi id zembra underscore tosk at a x l", "zembra underscore tosk at a x l"),
    ("handle spelt letter by letter", "pay on q u o r v at paytm", "q u o r v at paytm"),
    ("dot, 'at sign'", "gpay velkha dot ostr at sign ok hdfc bank", "velkha dot ostr at sign ok hdfc bank"),
    ("'double' digits, Hinglish", "paise nine double eight seven six five four three two one at ibl pe bhejo",
     "nine double eight seven six five four three two one at ibl"),
]  # fmt: skip
EMAIL = [
    ("'at sign'", "my email is zembra dot tosk at sign gmail dot com", "zembra dot tosk at sign gmail dot com"),
    ("'at the rate of'", "mail me at ozirra underscore v at the rate of outlook dot com",
     "ozirra underscore v at the rate of outlook dot com"),
    ("spelt domain", "its k tandimbe at u n i dot edu", "k tandimbe at u n i dot edu"),
    ("digits in the local part", "email quorvel seven seven at yahoo dot co dot in",
     "quorvel seven seven at yahoo dot co dot in"),
    ("spelt local part", "email id is z e m b r a at gmail dot com", "z e m b r a at gmail dot com"),
    ("written domain after a spoken at", "you can mail velkha.ostr at gmail.com", "velkha.ostr at gmail.com"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "text", "value"), UPI, ids=[k for k, _, _ in UPI])
def test_spoken_upi(kind: str, text: str, value: str) -> None:
    assert (EntityType.UPI, value) in _found(text), kind


@pytest.mark.parametrize(("kind", "text", "value"), EMAIL, ids=[k for k, _, _ in EMAIL])
def test_spoken_email(kind: str, text: str, value: str) -> None:
    assert (EntityType.EMAIL, value) in _found(text), kind


@pytest.mark.parametrize(
    "text",
    [
        "meet me at the mall tomorrow",
        "i will pay at sbi branch",
        "we met at axis bank yesterday",
        "at the rate of twelve percent interest",
        "the office is at tower b",
        "he works at infosys dot com company",
        "send it at ten",
    ],
)
def test_no_address_in_ordinary_phrases(text: str) -> None:
    assert not [f for f in _found(text) if f[0] in (EntityType.EMAIL, EntityType.UPI)]
