"""A call speaks with the tenant's voice for the tenant's language (`voice:` in tenant.yaml, the voices its
voice notes use): a Hindi business's greeting and replies by its Hindi voice (Debian's espeak-ng here), never
by the English Piper voice; a language the tenant has no voice for is spoken by the call worker's own voice.
Real models and voices; no LLM request is made (the session is assembled, not run)."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import yaml
from openai import AsyncOpenAI
from structlog.testing import capture_logs

from agent.calls.agent import speech_frames
from agent.calls.assembly import CallAssembly, call_context
from agent.engines.voices import Voices
from agent.metrics import Metrics
from agent.tenants.registry import TenantRegistry
from pipelines.llm import Responder
from pipelines.stt import in_scripts
from pipelines.tts import BUNDLED_VOICE, EspeakSynthesizer
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from livekit import rtc

    from agent.calls.loaded import CallModels
    from pipelines.tts import PiperSynthesizer, Synthesizer

HINDI_VOICE: dict[str, Any] = {"hi": {"engine": "espeak", "voice": "hi"}, "en": {"engine": "piper"}}


def _tenants(tmp_path: Path, **changes: Any) -> TenantRegistry:
    """The default tenant as a Hindi business, with `changes` to its tenant.yaml."""
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", prompts / "default")
    path = prompts / "default" / "tenant.yaml"
    config = yaml.safe_load(path.read_text()) | {"language": "hi", "languages": ["hi", "en"]} | changes
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return TenantRegistry.load(prompts)


@pytest.fixture(scope="module")
def espeak_hi() -> EspeakSynthesizer:
    return EspeakSynthesizer.load("hi")


def _assembly(models: CallModels, voices: Voices | None) -> CallAssembly:
    responder = Responder(AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="t", max_retries=0), "m")
    return CallAssembly(
        models, responder, "m", Metrics(), silence_timeout_s=5, max_duration_s=60, voices=voices
    )


def _pcm_bytes(frames: list[rtc.AudioFrame]) -> bytes:
    return b"".join(bytes(f.data) for f in frames)


async def test_a_hindi_business_greets_and_answers_callers_in_its_hindi_voice(
    tmp_path: Path, call_models: CallModels, synthesizer: PiperSynthesizer, espeak_hi: EspeakSynthesizer
) -> None:
    voices = Voices(synthesizer, ("piper", BUNDLED_VOICE), {("espeak", "hi"): espeak_hi})
    assembly = _assembly(call_models, voices)
    call = call_context(_tenants(tmp_path, voice=HINDI_VOICE), None, "default", "", "call-hi")
    greeting = call.brain.texts.greeting
    assert in_scripts(greeting, frozenset({"DEVANAGARI"}), share=0.8)  # the built-in Hindi call greeting
    agent, session = await assembly.session(call, None)
    # The greeting the caller hears first is espeak-ng's Hindi (deterministic: the same samples), not Piper.
    said = _pcm_bytes(agent._greeting)  # what the agent replays on entering the call
    assert said == _pcm_bytes(speech_frames(await espeak_hi.synthesize(greeting)))
    assert said != _pcm_bytes(speech_frames(await synthesizer.synthesize(greeting)))
    # Every reply of the call goes through the session's TTS: the same Hindi voice.
    assert session.tts is not None
    assert session.tts.model == "espeak"
    replied = [e.frame async for e in session.tts.synthesize("जी हाँ, कल सुबह।")]
    spoken = await espeak_hi.synthesize("जी हाँ, कल सुबह।")
    heard = np.frombuffer(b"".join(bytes(f.data) for f in replied), dtype=np.int16)
    samples = spoken.to_int16()
    assert np.array_equal(heard[: len(samples)], samples)  # then the last frame's silent padding
    assert not heard[len(samples) :].any()


async def test_an_english_business_keeps_the_english_voice_and_one_without_a_voice_the_workers(
    tmp_path: Path, call_models: CallModels, synthesizer: PiperSynthesizer, espeak_hi: EspeakSynthesizer
) -> None:
    """Chat sends a reply in a voiceless language as text; a call cannot, so the call worker's voice
    (`LEADCLOSE_TTS_VOICE`) speaks, and the operator is told once per tenant."""
    voices = Voices(synthesizer, ("piper", BUNDLED_VOICE), {("espeak", "hi"): espeak_hi})
    assembly = _assembly(call_models, voices)
    english = call_context(TenantRegistry.load(ROOT / "prompts"), None, "default", "", "call-en")
    assert assembly.voice(english) is synthesizer
    voiceless = call_context(
        _tenants(tmp_path, voice={"en": {"engine": "piper"}}), None, "default", "", "call-hi"
    )
    assert voiceless.brain.voice is None
    with capture_logs() as logs:
        first: Synthesizer = assembly.voice(voiceless)
        assembly.voice(voiceless)
    assert first is call_models.synthesizer
    assert [e["event"] for e in logs] == ["calls.worker_voice"]
