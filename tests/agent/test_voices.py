"""Per-tenant voices with the real bundled Piper voice; the hosted voice needs no call to be built."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from openai import AsyncOpenAI
from structlog.testing import capture_logs

from agent.automation_config import Voice
from agent.voices import VoiceError, Voices, build_voice
from pipelines.tts import BUNDLED_VOICE, OpenAISynthesizer

if TYPE_CHECKING:
    from pipelines.tts import PiperSynthesizer

PIPER = ("piper", BUNDLED_VOICE)


def test_each_distinct_voice_is_built_once_and_unknown_ones_fall_back(synthesizer: PiperSynthesizer) -> None:
    hosted = AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    wanted = [Voice(), Voice(engine="openai", voice="alloy"), Voice(engine="openai", voice="alloy")]
    voices = Voices.load(synthesizer, PIPER, wanted, hosted=hosted, tts_model="tts-1")
    assert voices.get(Voice()) is synthesizer
    alloy = voices.get(Voice(engine="openai", voice="alloy"))
    assert isinstance(alloy, OpenAISynthesizer)
    assert voices.get(Voice(engine="openai", voice="alloy")) is alloy
    with capture_logs() as logs:
        assert voices.get(Voice(engine="openai", voice="nova")) is synthesizer  # changed by a hot reload
        assert voices.get(Voice(engine="openai", voice="nova")) is synthesizer
    assert [e["event"] for e in logs] == ["voices.not_loaded"]  # said once


def test_voices_the_deployment_cannot_speak_stop_the_worker() -> None:
    with pytest.raises(VoiceError, match="needs LEADCLOSE_LLM_BASE_URL"):
        build_voice("openai", "alloy", hosted=None, tts_model="tts-1")
    with pytest.raises(VoiceError, match=r"voice piper/nobody does not load \(TTSError\)"):
        build_voice("piper", "nobody", hosted=None, tts_model="tts-1")
