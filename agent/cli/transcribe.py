"""`leadclose transcribe FILE…`: hear audio files exactly as a worker would (same settings, same routing).

One JSON object per file, `{"file", "language", "text", "duration_s", "engine"}` (a stable interface);
a note the guard refuses has empty `text` and a `reason`, a file that cannot be decoded an `error`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.audio import AudioError, DecodeLimits, decode
from pipelines.stt_routing import SpeechError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from agent.settings import Settings
    from pipelines.stt_routing import LanguageRouter


def transcribe_files(
    settings: Settings, files: Iterable[Path], *, tenant: str | None = None
) -> Iterator[dict[str, Any]]:
    """Routes by `tenant`'s languages and engines when given, else by every language the settings serve."""
    from agent.engines.speech import SpeechEngines, hosted_speech_client
    from agent.tenants.registry import TenantError, TenantRegistry

    hosted = hosted_speech_client(settings)  # blocking (transcription is): not the services' async client
    try:
        speech = SpeechEngines(settings, hosted)
        if tenant is None:
            router = speech.for_settings()
        else:
            registry = TenantRegistry.load(settings.prompts_dir)
            if tenant not in registry.ids():
                raise TenantError(f"no tenant folder {tenant!r} under {settings.prompts_dir}")
            router = speech.for_tenant(registry.get(tenant).config)
        yield from _transcribed(settings, files, router)
    finally:
        if hosted is not None:
            hosted.close()


def _transcribed(
    settings: Settings, files: Iterable[Path], router: LanguageRouter
) -> Iterator[dict[str, Any]]:
    limits = DecodeLimits(max_duration_s=settings.max_audio_s)
    for path in files:
        row: dict[str, Any] = {"file": str(path)}
        try:
            pcm = decode(path.read_bytes(), limits)
        except AudioError as exc:
            yield row | {"error": exc.problem.value}
            continue
        except OSError as exc:
            yield row | {"error": exc.strerror or "unreadable"}
            continue
        try:
            heard = router.transcribe(pcm)
        except SpeechError as exc:  # a hosted engine failed; the message names the engine, never content
            yield row | {"error": str(exc)}
            continue
        row |= {
            "language": heard.language,
            "text": heard.text,
            "duration_s": round(heard.duration_s, 3),
            "engine": heard.engine,
        }
        if not heard.understood:
            row["reason"] = heard.reason
        yield row
