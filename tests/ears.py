"""How a test hears the agent's speech: every word its own Whisper decoded.

The ear is tiny.en with Whisper's full 30 s window (`ear_model`), never a process's model: a call process
encodes a shorter window (`LEADCLOSE_CALLS_STT_WINDOW_S`, 20 s), which now and then drops the last words of
an 8 s answer, and the call tests once judged the agent by it (0.45 word error rate where the full window
heard 0.2 in the same audio).

A transcript the product's hallucination guard refuses has its text blanked (a decoding loop at the end of a
clip is "repetitive", a mumbled Piper render "low_confidence"), and an ear that reports "" for a whole answer
hides what the agent said: twice in CI a call test's ear heard a spoken answer as "". The tests judge the words
themselves (word error rate, `sounds_like`), so the ear reports them all.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from pipelines.stt import WhisperTranscriber, load_whisper

if TYPE_CHECKING:
    from pipelines.audio import Pcm


@functools.cache
def ear_model() -> WhisperTranscriber:
    """The tests' tiny.en, full window, loaded once per process (the `transcriber` fixture is this one)."""
    return WhisperTranscriber(load_whisper("tiny.en"))


def heard(transcriber: WhisperTranscriber, pcm: Pcm, language: str | None = None) -> str:
    """The words `transcriber` decoded from `pcm`, whether or not the guard would answer them."""
    transcript = transcriber.transcribe(pcm, language)
    return " ".join(segment.text for segment in transcript.segments if segment.text)
