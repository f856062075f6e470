"""Dates of birth said aloud or written short (issue 17), only near a birth word."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.pii.spoken_dates import SpokenDobDetector

_DETECTOR = SpokenDobDetector(today=lambda: date(2026, 1, 1))


def _dobs(text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.value) for s in _DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "surface", "iso"),
    [
        ("date of birth the eighteenth of June nineteen seventy-eight", "the eighteenth of June nineteen seventy-eight",
         "1978-06-18"),
        ("I was born on twenty first august two thousand two", "twenty first august two thousand two", "2002-08-21"),
        ("born july the fourth nineteen sixty eight", "july the fourth nineteen sixty eight", "1968-07-04"),
        ("unka DOB fifth may nineteen fifty six hai", "fifth may nineteen fifty six", "1956-05-05"),
        ("d o b is nineteenth of november nineteen eighty", "nineteenth of november nineteen eighty", "1980-11-19"),
        ("born the second of march nineteen oh five", "the second of march nineteen oh five", "1905-03-02"),
        ("DOB 10/3/79", "10/3/79", "1979-03-10"),
        ("dob 7 Feb 92 please", "7 Feb 92", "1992-02-07"),
        ("Date of Birth - 23rd Sept 1975", "23rd Sept 1975", "1975-09-23"),
        ("born 18 June 1970-eight", "18 June 1970-eight", "1978-06-18"),  # what the shadow leaves half-written
    ],
)  # fmt: skip
def test_birth_dates(text: str, surface: str, iso: str) -> None:
    assert (surface, iso) in _dobs(text)


@pytest.mark.parametrize(
    "text",
    [
        "appointment on the fifth of june twenty twenty five",
        "meet me on 10/3/24",
        "born on the thirtieth of february nineteen ninety",  # no such day
        "born on the first of may twenty fifty",  # in the future
    ],
)
def test_no_birth_date(text: str) -> None:
    assert _dobs(text) == []
