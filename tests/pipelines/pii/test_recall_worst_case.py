"""The issue-17 detectors on hostile text made of their own grammars' tokens: bounded time, valid spans.

The bound here is generous (CI machines are shared); the measured worst case is in bench/pii/recall_worst.py.
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.pii.recall import recall_detectors

_DETECTORS = recall_detectors()
_TOKENS = (
    "Hi", "Naam:", "Name -", "my", "mother", "ka", "naam", "hai", "Regards,", "-", "A.", "Kwame", "Mensah", ":",
    "\n", "at", "the", "rate", "of", "sign", "dot", ".", "_", "underscore", "@", "a", "x", "l", "ok", "axis",
    "seven", "double", "i876", "543210", "gmail.com", "xtgmail.com", "born", "DOB", "may", "first", "nineteen",
    "seventy-eight", "10/3/79", "Flat", "1204,", "Dubai", "#08-385", "Singapore", "560123", ",", "NJ", "08817",
    "TW3", "1QB", "Jalan", "47300", "Selangor", "नाम", "मेरी", "माँ", "का", "है",
)  # fmt: skip
_SEPARATORS = st.sampled_from(("", " ", " ", "  ", ", ", "\n"))


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(_TOKENS), _SEPARATORS), min_size=1, max_size=1200))
def test_bounded_on_grammar_token_soup(parts: list[tuple[str, str]]) -> None:
    text = "".join(token + separator for token, separator in parts)[:4096]
    for detector in _DETECTORS:
        started = time.perf_counter()
        spans = list(detector.find(text))
        assert time.perf_counter() - started < 2.0, type(detector).__name__
        assert all(0 <= s.start < s.end <= len(text) for s in spans)


def test_bounded_on_long_repetitions() -> None:
    """A 4,096-character run of one grammar unit, the shape that makes a backtracking pattern blow up."""
    units = (
        "a ",
        "at the rate ",
        "Hi ",
        "my mother ",
        "A. ",
        "dot ",
        "a@",
        "i876543210 ",
        "Flat 1, ",
        "Dubai ",
    )
    for unit in units:
        text = (unit * (4096 // len(unit)))[:4096]
        for detector in _DETECTORS:
            started = time.perf_counter()
            list(detector.find(text))
            assert time.perf_counter() - started < 2.0, (type(detector).__name__, unit)
