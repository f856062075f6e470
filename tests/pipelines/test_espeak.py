"""Debian's espeak-ng as the documented robotic voice for languages without a natural one (Hindi here),
heard back by the multilingual Whisper base."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jiwer
import pytest

from pipelines.audio import decode, encode_voice_note, polish
from pipelines.tts import ESPEAK_RATE, EspeakSynthesizer, TTSError

if TYPE_CHECKING:
    from pipelines.stt import WhisperTranscriber

REPLY = "जी हाँ, हमारे पास सोलर पैनल हैं। कल सुबह हमारी टीम आपको फ़ोन करेगी।"


async def test_hindi_is_spoken_one_clip_per_sentence_and_heard_back(multilingual: WhisperTranscriber) -> None:
    voice = EspeakSynthesizer.load("hi")
    clips = [clip async for clip in voice.stream(REPLY)]
    assert len(clips) == 2
    assert all(c.sample_rate == ESPEAK_RATE and c.duration_s > 0.5 for c in clips)
    note = decode(encode_voice_note(polish(await voice.synthesize(REPLY))))
    heard = " ".join(s.text for s in multilingual.transcribe(note, "hi").segments)
    plain = str.maketrans(",।?.", "    ")
    assert (
        jiwer.cer(" ".join(REPLY.translate(plain).split()), " ".join(heard.translate(plain).split())) <= 0.6
    )


def test_a_voice_espeak_does_not_have_is_refused_at_load() -> None:
    with pytest.raises(TTSError, match="no voice"):
        EspeakSynthesizer.load("xx")
    with pytest.raises(TTSError, match="language code"):
        EspeakSynthesizer.load("--help")  # never an option smuggled into its command line
