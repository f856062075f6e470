"""How a test judges what it heard from the agent: through its own tiny.en, which mishears Piper now and
then ("call you, but shortly") and can loop at the end of a clip ("the quality of the quality of …"). The
checks accept what a listener would: the phrase said with at most about one word in three misheard."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jiwer

from tests.agent.calls.caller import to_whisper
from tests.ears import heard

if TYPE_CHECKING:
    import numpy as np

    from pipelines.stt import WhisperTranscriber


def words(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def sounds_like(heard: str, phrase: str, *, tolerance: float = 0.34) -> bool:
    """Whether `phrase` was said somewhere in `heard`: the best window of about its length is within
    `tolerance` word error rate."""
    said, wanted = words(heard).split(), words(phrase)
    size = len(wanted.split())
    best = 1.0
    for length in (size - 1, size, size + 1):
        for start in range(max(1, len(said) - max(length, 1) + 1)):
            window = " ".join(said[start : start + length])
            if window:
                best = min(best, jiwer.wer(wanted, window))
    return best <= tolerance


def opening_wer(reference: str, heard: str, *, count: int = 10) -> float:
    """Word error rate over the first `count` words of each: an answer is judged by how it starts, so a
    transcription loop at the end of the clip does not decide the test."""
    return float(
        jiwer.wer(" ".join(words(reference).split()[:count]), " ".join(words(heard).split()[:count]))
    )


class Ears:
    """The caller's listener: tiny.en over what the phone received, every word it decoded (`tests.ears`),
    reduced to `words`."""

    def __init__(self, transcriber: WhisperTranscriber) -> None:
        self._transcriber = transcriber

    def hear(self, samples: np.ndarray) -> str:
        return words(heard(self._transcriber, to_whisper(samples)))
