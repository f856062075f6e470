"""Which engine hears which language, per tenant: settings give the defaults, `speech:` in tenant.yaml wins.

Every engine (a faster-whisper model or a hosted endpoint) is built once per process and shared by every
tenant and language that names it; a tenant's router is rebuilt only when its languages or engines change.
`leadclose transcribe` uses exactly this, so it hears a note the way a worker would.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from agent.settings import RuntimeConfigError
from pipelines import whisper_base
from pipelines.stt import MULTILINGUAL_MODEL, WhisperTranscriber, load_whisper
from pipelines.stt_routing import (
    Engine,
    EngineSpec,
    HostedEngine,
    LanguageRouter,
    RefusingEngine,
    WhisperEngine,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from openai import OpenAI

    from agent.settings import Settings
    from agent.tenants.registry import Tenant


class SpeechConfigError(RuntimeConfigError):
    """An engine this deployment cannot run (a hosted engine without an endpoint, a model that does not load)."""


def default_engines(settings: Settings) -> dict[str, EngineSpec]:
    """English: `LEADCLOSE_STT_MODEL`; Hindi: the bundled multilingual `base` once assembled; then
    `LEADCLOSE_STT_LANGUAGES` over both."""
    engines = {"en": EngineSpec.parse(settings.stt_model)}
    if whisper_base.assembled() is not None:
        engines["hi"] = EngineSpec(MULTILINGUAL_MODEL)
    engines |= {language: EngineSpec.parse(spec) for language, spec in settings.stt_languages.items()}
    return engines


def hosted_speech_client(settings: Settings) -> OpenAI | None:
    """The speech endpoint (`LEADCLOSE_SPEECH_BASE_URL`, else a hosted `LEADCLOSE_LLM_BASE_URL`), blocking
    client: transcription runs in the turn's worker thread."""
    base_url = settings.speech_base_url or settings.llm_base_url
    if base_url is None:
        return None
    from openai import OpenAI

    key = settings.speech_api_key or settings.llm_api_key
    return OpenAI(
        base_url=str(base_url),
        api_key=key.get_secret_value() if key else "not-needed",
        timeout=settings.speech_timeout_s,
        max_retries=settings.llm_max_retries,
    )


class SpeechEngines:
    """Engines by spec, loaded on first use (thread-safe: two turns never load one model twice)."""

    def __init__(
        self,
        settings: Settings,
        hosted: OpenAI | None,
        *,
        loader: Callable[[str], WhisperTranscriber] | None = None,
    ) -> None:
        self._settings = settings
        self._defaults = default_engines(settings)
        self._hosted = hosted
        self._loader = loader or self._load_whisper
        self._engines: dict[str, Engine] = {}
        self._routers: dict[tuple[object, ...], LanguageRouter] = {}
        self._lock = threading.Lock()

    @property
    def defaults(self) -> dict[str, EngineSpec]:
        return dict(self._defaults)

    def _load_whisper(self, model: str) -> WhisperTranscriber:
        s = self._settings
        loaded = load_whisper(
            model, device=s.stt_device, compute_type=s.stt_compute_type, cpu_threads=s.stt_threads
        )
        return WhisperTranscriber(loaded)

    def engine(self, spec: EngineSpec) -> Engine:
        """Blocking on first use of a local model (0.2-1 s): build routers at startup or in a thread."""
        key = str(spec)
        with self._lock:
            found = self._engines.get(key)
            if found is None:
                found = self._build(spec)
                self._engines[key] = found
            return found

    def _build(self, spec: EngineSpec) -> Engine:
        if spec.refuses:
            return RefusingEngine()
        if spec.hosted:
            if self._hosted is None:
                raise SpeechConfigError(
                    f"speech engine {spec} needs LEADCLOSE_SPEECH_BASE_URL or LEADCLOSE_LLM_BASE_URL"
                )
            return HostedEngine(self._hosted, spec.model)
        try:
            return WhisperEngine(spec.name, self._loader(spec.model))
        except Exception as exc:  # faster-whisper/ctranslate2 raise their own types for a missing model
            raise SpeechConfigError(f"speech engine {spec} does not load ({type(exc).__name__})") from None

    def detector(self) -> WhisperTranscriber | None:
        """The multilingual model that detects languages: the bundled `base` when assembled, else None."""
        if whisper_base.assembled() is None:
            return None
        engine = self.engine(EngineSpec(MULTILINGUAL_MODEL))
        return engine.transcriber if isinstance(engine, WhisperEngine) else None

    def router(
        self, languages: Sequence[str], default: str, overrides: Mapping[str, str] | None = None
    ) -> LanguageRouter:
        """A router for a business answering in `languages` (default first). A language without an engine
        is refused when detected; the default language falls back to the English engine."""
        overrides = overrides or {}
        specs: dict[str, EngineSpec] = {}
        for language in dict.fromkeys((default, *languages)):
            given = overrides.get(language)
            spec = EngineSpec.parse(given) if given else self._defaults.get(language)
            if spec is None and language == default:
                spec = self._defaults["en"]
            if spec is not None:
                specs[language] = spec
        key = (default, *sorted((k, str(v)) for k, v in specs.items()))
        with self._lock:
            found = self._routers.get(key)
        if found is not None:
            return found
        engines = {language: self.engine(spec) for language, spec in specs.items()}
        detector = self.detector() if len(engines) > 1 else None
        router = LanguageRouter(engines, default, detector)
        with self._lock:
            return self._routers.setdefault(key, router)

    def for_tenant(self, tenant: Tenant) -> LanguageRouter:
        return self.router(tenant.languages, tenant.language, tenant.speech)

    def for_settings(self) -> LanguageRouter:
        """Without a tenant (`leadclose transcribe`): every language the settings give an engine, English
        first."""
        return self.router(tuple(self._defaults), "en")
