"""How a test hears the agent's speech: every word its Whisper decoded.

A transcript the product's hallucination guard refuses has its text blanked (a decoding loop at the end of a
clip is "repetitive", a mumbled Piper render "low_confidence"), and an ear that reports "" for a whole answer
hides what the agent said: twice in CI a call test's ear heard a spoken answer as "". The tests judge the words
themselves (word error rate, `sounds_like`), so the ear reports them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.audio import Pcm
    from pipelines.stt import WhisperTranscriber


def heard(transcriber: WhisperTranscriber, pcm: Pcm, language: str | None = None) -> str:
    """The words `transcriber` decoded from `pcm`, whether or not the guard would answer them."""
    transcript = transcriber.transcribe(pcm, language)
    return " ".join(segment.text for segment in transcript.segments if segment.text)
