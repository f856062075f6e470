"""Spoken output of phone numbers: grouped digits instead of one huge number, checked as text and through the
real Piper voice and tiny.en (what a listener would hear)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import jiwer
import pytest

from pipelines.audio import decode, encode_voice_note, polish
from pipelines.tts import speakable

if TYPE_CHECKING:
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Call +919876543210 now.", "Call plus 9 1, 9 8 7, 6 5 4, 3 2 1 0 now."),
        ("It is +91 98765-43210.", "It is plus 9 1, 9 8 7, 6 5 4, 3 2 1 0."),
        ("Ring 9876543210.", "Ring 9 8 7, 6 5 4, 3 2 1 0."),
        ("Office +1 (415) 555-0100", "Office plus 1, 4 1 5, 5 5 5, 0 1 0 0"),
        ("London +44 20 7946 0958", "London plus 4 4, 2 0 7, 9 4 6, 0 9 5 8"),
    ],
)
def test_phone_numbers_are_read_as_grouped_digits(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


@pytest.mark.parametrize(
    "text", ["On 2026-11-29 it costs 1,800,000 rupees.", "Flat 302, PIN 560001.", "It is 1.9 lakh."]
)
def test_dates_amounts_and_short_numbers_are_left_alone(text: str) -> None:
    assert speakable(text) == text


async def test_a_spoken_number_is_heard_digit_for_digit(
    synthesizer: PiperSynthesizer, transcriber: WhisperTranscriber
) -> None:
    """Through the voice-note path (Piper → Opus note → decode → whisper); read as one number it is heard as
    "nine hundred and nineteen billion …". The test's tiny.en may miss one digit of Piper's (which varies its
    timing from run to run): the digits heard are the number's, give or take one."""
    speech = await synthesizer.synthesize("Please call us on +919876543210.")
    heard = transcriber.transcribe(decode(encode_voice_note(polish(speech)))).text
    assert jiwer.cer("919876543210", re.sub(r"\D", "", heard)) <= 1 / 12
    assert not re.search(r"billion|million|thousand|hundred", heard.lower())
