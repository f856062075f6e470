"""Per-tenant voices with the real bundled Piper voice; the hosted voice needs no call to be built."""

from __future__ import annotations

import asyncio
import shutil
from typing import TYPE_CHECKING

import pytest
from openai import AsyncOpenAI
from structlog.testing import capture_logs

from agent.engines.voices import VoiceError, Voices, build_voice
from agent.tenants.automation import Voice
from agent.tenants.registry import TenantRegistry
from agent.tenants.reload import watch_tenants
from pipelines.tts import BUNDLED_VOICE, EspeakSynthesizer, OpenAISynthesizer
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

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


def test_a_voice_chosen_by_a_hot_reload_is_loaded_by_the_reload(synthesizer: PiperSynthesizer) -> None:
    hosted = AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    voices = Voices(synthesizer, PIPER, hosted=hosted, tts_model="tts-1")
    nova = Voice(engine="openai", voice="nova")
    assert voices.get(nova) is synthesizer
    voices.ensure(nova)
    assert isinstance(voices.get(nova), OpenAISynthesizer)
    with pytest.raises(VoiceError):
        voices.ensure(Voice(engine="piper", voice="nobody"))
    assert voices.get(Voice(engine="piper", voice="nobody")) is synthesizer


async def test_the_tenant_watcher_runs_the_reload_hook_for_applied_changes_only(tmp_path: Path) -> None:
    """A valid change runs the hook (which loads the new voice); a hook that fails is logged, the watcher
    goes on; an invalid change runs nothing."""
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", prompts / "default")
    registry = TenantRegistry.load(prompts)
    path = prompts / "default" / "tenant.yaml"
    good = path.read_text()
    seen: list[str] = []

    def hook(tenant_id: str) -> None:
        seen.append(registry.get(tenant_id).config.tone)
        raise VoiceError("voice piper/nobody does not load (TTSError)")

    stop = asyncio.Event()
    with capture_logs() as logs:
        watcher = asyncio.create_task(watch_tenants(registry, stop, every_s=0.05, on_applied=hook))
        path.write_text(good.replace("tone: warm", "tone: cheerful"))
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
        path.write_text(good.replace("business:", "busines:"))
        await asyncio.sleep(0.3)
        stop.set()
        await watcher
    assert len(seen) == 1
    assert seen[0].startswith("cheerful")
    events = [e["event"] for e in logs]
    assert "tenants.reload_incomplete" in events
    assert "tenants.reload_rejected" in events


def test_a_reply_is_spoken_by_the_voice_of_its_language_or_goes_as_text(
    synthesizer: PiperSynthesizer,
) -> None:
    english = Voice()
    hindi = Voice(engine="espeak", voice="hi")
    voices = Voices.load(synthesizer, PIPER, [{"en": english, "hi": hindi}], hosted=None, tts_model="tts-1")
    both = {"en": english, "hi": hindi}
    assert voices.for_reply(both, "en", "Yes, we install on weekends.") is synthesizer
    assert isinstance(voices.for_reply(both, "en", "जी हाँ, हम रविवार को भी आते हैं।"), EspeakSynthesizer)
    # One voice is the default language's: an English voice never reads Devanagari, that reply is text.
    assert voices.for_reply(english, "en", "जी हाँ, हम रविवार को भी आते हैं।") is None
    # Hinglish in Latin letters without a Hindi voice: the English voice can read it.
    assert (
        voices.for_reply(english, "en", "Haan ji, hum kal aa sakte hain, aapko kab chahiye?") is synthesizer
    )
    assert voices.for_reply({"hi": hindi}, "hi", "12345") is not None  # nothing to detect: default language
    with pytest.raises(VoiceError, match="voice espeak/xx does not load"):
        build_voice("espeak", "xx", hosted=None, tts_model="tts-1")
