"""Addresses outside India (issue 17): the Gulf, Singapore/Malaysia, the UK and the US. Streets and buildings
here are made up."""

from __future__ import annotations

import pytest

from pipelines.pii import EntityType, Minimizer

_MINIMIZER = Minimizer()


def _addresses(text: str) -> list[str]:
    return [text[s.start : s.end] for s in _MINIMIZER.scan(text) if s.type is EntityType.ADDRESS]


ABROAD = [
    ("Dubai tower", "Address: Flat 1907, Quorvel Heights Tower, Zembra Marina, Dubai",
     "Flat 1907, Quorvel Heights Tower, Zembra Marina, Dubai"),
    ("Oman way", "deliver to Building 71, Way 4417, Al Tosk, Muscat", "Building 71, Way 4417, Al Tosk, Muscat"),
    ("Singapore block", "I stay at Blk 412 Velkha Ave 6, #11-204, Singapore 561412",
     "Blk 412 Velkha Ave 6, #11-204, Singapore 561412"),
    ("Malaysia", "my address is No 9, Jalan Ozirra 3/7, 46150 Petaling Jaya, Selangor",
     "No 9, Jalan Ozirra 3/7, 46150 Petaling Jaya, Selangor"),
    ("UK postcode", "ship to 27 Tandimbe Road, Southall UB2 4QN", "27 Tandimbe Road, Southall UB2 4QN"),
    ("US state and ZIP", "2210 Zembra Street, Apt 4B, Edison, NJ 08817",
     "2210 Zembra Street, Apt 4B, Edison, NJ 08817"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "text", "address"), ABROAD, ids=[k for k, _, _ in ABROAD])
def test_addresses_abroad(kind: str, text: str, address: str) -> None:
    assert address in _addresses(text), kind


@pytest.mark.parametrize(
    "text",
    [
        "I live in Dubai since 2019",
        "my brother works in Abu Dhabi now",
        "Flight EK 512 to Dubai at 10",
        "Is the Marina Heights unit still on rent?",
        "Singapore trip for 4 people",
    ],
)
def test_no_address_in_travel_talk(text: str) -> None:
    assert _addresses(text) == []
