"""Each tenant's reply voices (`voice:` in `tenant.yaml`, one per language), every distinct one loaded once per
process. A reply is spoken by the voice of its own language, or goes out as text: an English voice never
reads Devanagari."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from agent.settings import RuntimeConfigError
from agent.tenants.automation import voices_by_language
from pipelines.language import detect
from pipelines.tts import (
    EspeakSynthesizer,
    OpenAISynthesizer,
    PiperSynthesizer,
    Synthesizer,
    TTSError,
    load_piper,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from openai import AsyncOpenAI

    from agent.settings import Settings
    from agent.tenants.automation import Voice, VoiceConfig
    from agent.tenants.registry import TenantRegistry

log = structlog.get_logger()

VoiceKey = tuple[str, str]  # (engine, voice)


class VoiceError(RuntimeConfigError):
    """A tenant asks for a voice this deployment cannot speak (the worker does not start); names the voice."""


def build_voice(
    engine: str, voice: str, *, hosted: AsyncOpenAI | None, tts_model: str, threads: int = 0
) -> Synthesizer:
    """Blocking (a Piper voice loads in about 0.3 s): call it at startup, off the event loop. `threads`: a
    Piper voice's inference threads (`LEADCLOSE_TTS_THREADS`)."""
    if engine == "openai":
        if hosted is None:
            raise VoiceError(f"voice openai/{voice} needs LEADCLOSE_LLM_BASE_URL (a hosted endpoint)")
        return OpenAISynthesizer(hosted, model=tts_model, voice=voice)
    if engine == "espeak":
        try:
            return EspeakSynthesizer.load(voice)
        except TTSError as exc:
            raise VoiceError(f"voice espeak/{voice} does not load ({exc})") from None
    try:
        return PiperSynthesizer(load_piper(voice, threads=threads))
    except Exception as exc:  # piper and onnxruntime raise their own types for a bad file
        raise VoiceError(f"voice piper/{voice} does not load ({type(exc).__name__})") from None


class Voices:
    """The deployment's voice plus each tenant's own. A voice a hot reload asks for is loaded by the reload
    (`ensure`, off the event loop); until then, or if it cannot load, the deployment's voice answers and
    that is logged once."""

    def __init__(
        self,
        default: Synthesizer,
        default_key: VoiceKey,
        extra: dict[VoiceKey, Synthesizer] | None = None,
        *,
        hosted: AsyncOpenAI | None = None,
        tts_model: str = "",
        tts_threads: int = 0,
    ) -> None:
        self._default = default
        self._default_key = default_key
        self._extra = extra or {}
        self._hosted = hosted
        self._tts_model = tts_model
        self._tts_threads = tts_threads
        self._missing_logged: set[VoiceKey] = set()

    @classmethod
    def load(
        cls,
        default: Synthesizer,
        default_key: VoiceKey,
        wanted: Iterable[VoiceConfig],
        *,
        hosted: AsyncOpenAI | None,
        tts_model: str,
        tts_threads: int = 0,
    ) -> Voices:
        extra: dict[VoiceKey, Synthesizer] = {}
        for voice in (v for config in wanted for v in _each(config)):
            key = (voice.engine, voice.voice)
            if key != default_key and key not in extra:
                extra[key] = build_voice(*key, hosted=hosted, tts_model=tts_model, threads=tts_threads)
        return cls(default, default_key, extra, hosted=hosted, tts_model=tts_model, tts_threads=tts_threads)

    def ensure(self, config: VoiceConfig) -> None:
        """Load every voice of `config` not loaded yet (blocking; raises `VoiceError`). The dict assignment is
        atomic, so turns on the event loop see a voice either missing or ready."""
        for voice in _each(config):
            key = (voice.engine, voice.voice)
            if key != self._default_key and key not in self._extra:
                self._extra[key] = build_voice(
                    *key, hosted=self._hosted, tts_model=self._tts_model, threads=self._tts_threads
                )

    def for_reply(self, config: VoiceConfig, default_language: str, text: str) -> Synthesizer | None:
        """The voice for `text` in the language it is written in, None when the tenant has none for it (the
        reply goes as text). Hinglish in Latin letters without a Hindi voice is read by the English one."""
        by_language = voices_by_language(config, default_language)
        found = detect(text)
        language = found.code if found is not None else default_language
        voice = by_language.get(language)
        if voice is None and found is not None and found.romanized:
            voice = by_language.get("en")
        return self.get(voice) if voice is not None else None

    def get(self, voice: Voice) -> Synthesizer:
        key = (voice.engine, voice.voice)
        if key == self._default_key:
            return self._default
        found = self._extra.get(key)
        if found is None:
            if key not in self._missing_logged:
                self._missing_logged.add(key)
                log.warning("voices.not_loaded", engine=key[0], voice=key[1])
            return self._default
        return found


def _each(config: VoiceConfig) -> list[Voice]:
    return list(config.values()) if isinstance(config, dict) else [config]


def tenant_voices(
    settings: Settings, default: Synthesizer, tenants: TenantRegistry, *, hosted: AsyncOpenAI | None
) -> Voices:
    """Every voice the tenants name, each loaded once beside the process's `default` (blocking: run it off the
    event loop). Voice notes and calls load them the same way, so a tenant sounds the same on both."""
    return Voices.load(
        default,
        (settings.tts_engine, settings.tts_voice),
        [tenants.get(t).config.voice for t in tenants.ids()],
        hosted=hosted,
        tts_model=settings.tts_model,
        tts_threads=settings.tts_threads,
    )
