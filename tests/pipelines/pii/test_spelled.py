"""Codes read aloud letter by letter, as ASR writes them, are found by the checksum detectors."""

from __future__ import annotations

import pytest

from pipelines.pii import Minimizer, Vault
from pipelines.pii.spelled import join_spelt_codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("toh mera PAN F X V P H six seven two one A hai", "toh mera PAN <PAN_1> hai"),
        ("my PAN card number is i v n p k zero one zero five k", "my PAN card number is <PAN_1>"),
        ("IFSC code is c n r b zero two one seven eight zero four ok", "IFSC code is <IFSC_1> ok"),
        ("mera voter id v r k three five one five three five zero hai", "mera voter id <VOTER_ID_1> hai"),
    ],
)
def test_spelt_codes_are_masked(text: str, expected: str) -> None:
    assert Minimizer().minimize(text, Vault()).text == expected


@pytest.mark.parametrize(
    "text", ["I need a 3 kW system", "plan A B C 2 options", "a b c d e", "rooms 1 2 3 4"]
)
def test_ordinary_text_is_not_joined(text: str) -> None:
    assert join_spelt_codes(text) is None


def test_joined_positions_map_back() -> None:
    joined = join_spelt_codes("pan F X V P H 6721 A ok")
    assert joined is not None
    assert joined.text == "pan FXVPH6721A ok"
    assert joined.source_span(4, 14) == (4, 20)
