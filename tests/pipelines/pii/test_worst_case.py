"""The PII engine's worst case (issue 12): hostile texts of every class, 64 to 4,096 characters (WhatsApp's
limit), are scanned within a generous bound, and real values inside them are still masked.

Each text is a short motif drawn from the class's alphabet, repeated to the drawn size, between an optional
trigger ("naam ", "flat ", "Pune"…) and an optional ending that makes a match fail late ("!", "x Mumbai"): the
shape of every catastrophic case found so far. The bound is CPU time, so a shared machine does not flake it;
`python -m bench.hostile` reports the measured times (tens of milliseconds at most).
"""

from __future__ import annotations

import faulthandler
import random
import time
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import verhoeff

from pipelines.pii import Minimizer, Vault

if TYPE_CHECKING:
    from collections.abc import Iterator

BOUND_S = 2.0
HANG_S = 120  # a catastrophic pattern holds the GIL inside `re`: only a C-level watchdog can end the run
MINIMIZER = Minimizer()

CLASSES: dict[str, tuple[str, ...]] = {
    "letters": ("a", "A", "z", "क", "कि", "ा", "्", "த", "ক", "ع", "ſ", "ß", "'"),
    "whitespace": (" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "a", "1"),
    "separators": (",", ".", "-", "/", ":", "|", "_", " ", "9", "a", "क"),
    "spelt": ("a ", "B ", "x ", "1 ", "9 ", "capital ", "for ", "apple ", "double ", "F X V P H "),
    "digits": ("9", "98765 ", "1.", "1:", "12/", "०", "९", "+91 ", "1-", "2382 ", ", "),
    "spoken english": (
        "nine ",
        "double ",
        "triple ",
        "oh ",
        "plus ",
        "ninety ",
        "eight, ",
        "twenty ",
        "dot ",
    ),
    "spoken hinglish/hindi": (
        "nau ",
        "do ",
        "teen ",
        "atthanve ",
        "saat ",
        "bhej ",
        "नौ ",
        "दो ",
        "डबल ",
        "तीन ",
    ),
    "email/upi": ("a.", "a@", "@", "a-", "x@ybl", ".com", "at ", "dot ", "gmail ", "okaxis ", "at the rate "),
    "controls": (
        "\u200b",
        "\u200c",
        "\u200d",
        "\u202e",
        "\u202c",
        "\u2066",
        "\u2069",
        "\u200f",
        "\ufeff",
        "9",
        "a",
    ),
    "mixed scripts": (
        "a",
        "क",
        "1",
        "९",
        " ",
        "ि",
        "@",
        ".",
        "naam ",
        "flat ",
        "near ",
        "Pune",
        "road ",
        "के पास",
    ),
    "addresses/names": (
        "flat 2 ",
        "near ",
        "MG Road, ",
        "sector 4 ",
        "Pune ",
        "Mr ",
        "Ravi Kumar ",
        "ke naam ",
    ),
}
TRIGGERS = ("", "naam ", "my name is ", "mera naam ", "flat ", "Pune", "thanks ", "born ", "a/c ", "near ")
ENDINGS = ("", "!", "x Mumbai", " likh lo", " ke paas", "@gmail.com", " 411001")


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    """A regression to a catastrophic pattern fails the run (traceback, exit) instead of hanging CI."""
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@st.composite
def hostile(draw: st.DrawFn, alphabet: tuple[str, ...]) -> str:
    motif = "".join(draw(st.lists(st.sampled_from(alphabet), min_size=1, max_size=6)))
    size = draw(st.integers(64, 4096))
    prefix, suffix = draw(st.sampled_from(TRIGGERS)), draw(st.sampled_from(ENDINGS))
    run = (motif * (size // len(motif) + 1))[: max(0, size - len(prefix) - len(suffix))]
    return prefix + run + suffix


def _aadhaar(seed: int) -> str:
    rng = random.Random(seed)
    digits = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
    digits += verhoeff.calc_check_digit(digits)
    return f"{digits[:4]} {digits[4:8]} {digits[8:]}"


def _cpu_seconds(text: str) -> float:
    started = time.thread_time()
    MINIMIZER.scan(text)
    return time.thread_time() - started


@pytest.mark.parametrize("name", list(CLASSES))
@settings(deadline=None, max_examples=20)
@given(data=st.data())
def test_any_hostile_text_is_scanned_within_the_bound(name: str, data: st.DataObject) -> None:
    text = data.draw(hostile(CLASSES[name]))
    assert _cpu_seconds(text) < BOUND_S


@pytest.mark.parametrize("name", list(CLASSES))
@settings(deadline=None, max_examples=8)
@given(data=st.data())
def test_real_values_inside_a_hostile_text_are_still_masked(name: str, data: st.DataObject) -> None:
    text = data.draw(hostile(CLASSES[name]))
    at = data.draw(st.integers(0, len(text)))
    aadhaar = _aadhaar(data.draw(st.integers(0, 2**32)))
    values = ("98765 43210", "priya.sharma@gmail.com", aadhaar)
    said = f"\nmy number is {values[0]} and my mail is {values[1]} and aadhaar {values[2]} ok\n"
    minimized = MINIMIZER.minimize(text[:at] + said + text[at:], Vault()).text
    for value in values:
        assert value not in minimized
