"""Speech recognition per language: detect the language of a note, then hear it with that language's engine.

An engine is the bundled English `tiny.en`, the bundled multilingual `base`, any faster-whisper model, or a
hosted OpenAI-compatible `POST /v1/audio/transcriptions` (OpenAI, or a self-hosted faster-whisper / vLLM
serving `large-v3`). Which engine hears which language is configuration (`EngineSpec`), per tenant language.
Every engine's text passes the same per-language guard, so no engine's invention reaches the LLM.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from pipelines.stt import (
    PROFILES,
    HallucinationGuard,
    Transcript,
    TranscriptStatus,
    WhisperTranscriber,
    refused_words,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from openai import OpenAI

    from pipelines.audio import Pcm

HOSTED_PREFIX = "hosted:"
REFUSE = "refuse"
# The multilingual model writes Hindi speech as Urdu now and then (15 % of the Hindi corpus is detected `ur`):
# a note detected in a language the business does not serve is heard in the one it does.
ALIASES: dict[str, str] = {"ur": "hi"}
# A language the business does not serve, detected at least this sure, is refused; below it, the detection is a
# guess and the served language the detector finds most likely gets the note (its guard refuses what it can't hear).
MIN_DETECTION_PROBABILITY = 0.5


class SpeechError(Exception):
    """A hosted engine failed (network, status, timeout); retryable. Never carries the audio or the text."""


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """`tiny.en`, `base`, `large-v3-turbo`, a model folder, `hosted:<model>` (e.g. `hosted:whisper-1`), or
    `refuse`."""

    model: str
    hosted: bool = False

    @classmethod
    def parse(cls, text: str) -> EngineSpec:
        """`refuse` is an engine too: the language is detected and politely asked to be typed."""
        text = text.strip()
        if text.startswith(HOSTED_PREFIX):
            model = text.removeprefix(HOSTED_PREFIX).strip()
            if not model:
                raise ValueError("hosted: needs a model name, e.g. hosted:whisper-1")
            return cls(model, hosted=True)
        if not text:
            raise ValueError("an engine needs a model name")
        return cls(text)

    def __str__(self) -> str:
        return f"{HOSTED_PREFIX}{self.model}" if self.hosted else self.model

    @property
    def name(self) -> str:
        """As reported in `Transcript.engine`."""
        return str(self) if self.hosted or self.refuses else f"whisper:{self.model}"

    @property
    def refuses(self) -> bool:
        return not self.hosted and self.model == REFUSE


class Engine(Protocol):
    name: str

    def transcribe(self, pcm: Pcm, language: str) -> Transcript: ...


class WhisperEngine:
    """A loaded faster-whisper model (shared by every tenant and language that names it)."""

    def __init__(self, name: str, transcriber: WhisperTranscriber) -> None:
        self.name = name
        self.transcriber = transcriber

    def transcribe(self, pcm: Pcm, language: str) -> Transcript:
        heard = self.transcriber.transcribe(pcm, language if self.transcriber.multilingual else None)
        return replace(heard, engine=self.name, language=language)


class HostedEngine:
    """OpenAI-compatible `audio.transcriptions.create` with the language set (blocking client: it runs in the
    turn's worker thread like the local models). The response is text only, so the guard judges the text."""

    def __init__(
        self, client: OpenAI, model: str, *, guards: Mapping[str, HallucinationGuard] | None = None
    ) -> None:
        self.name = f"{HOSTED_PREFIX}{model}"
        self._client = client
        self._model = model
        self._guards = guards if guards is not None else {k: p.guard for k, p in PROFILES.items()}

    def transcribe(self, pcm: Pcm, language: str) -> Transcript:
        import openai

        try:
            response = self._client.audio.transcriptions.create(
                model=self._model, file=("note.wav", wav_bytes(pcm), "audio/wav"), language=language
            )
        except openai.OpenAIError as exc:
            raise SpeechError(f"{self.name}: {type(exc).__name__}") from None
        text = (response.text or "").strip()
        reason = self._guards.get(language, HallucinationGuard()).text_verdict(text)
        return Transcript(
            text="" if reason else text,
            language=language,
            duration_s=pcm.duration_s,
            segments=(),
            status=TranscriptStatus.NOT_UNDERSTOOD if reason else TranscriptStatus.OK,
            reason=reason,
            engine=self.name,
            refused_words=refused_words(text, reason),
        )


class RefusingEngine:
    """For a language the business serves but no engine here hears well enough to answer from (say, Hindi
    with only the bundled base): the note is detected, not transcribed, and the person is asked, in their
    language, to type it or call."""

    name = REFUSE

    def transcribe(self, pcm: Pcm, language: str) -> Transcript:
        return not_understood(pcm, language, reason="no_engine", engine=self.name)


def not_understood(pcm: Pcm, language: str, *, reason: str, engine: str) -> Transcript:
    """A note heard as `language` but not transcribed: the person is asked to type it or call."""
    return Transcript(
        text="",
        language=language,
        duration_s=pcm.duration_s,
        segments=(),
        status=TranscriptStatus.NOT_UNDERSTOOD,
        reason=reason,
        engine=engine,
    )


def wav_bytes(pcm: Pcm) -> bytes:
    """16-bit mono WAV, the format every transcription server accepts."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(pcm.sample_rate)
        wav.writeframes(pcm.to_int16().tobytes())
    return out.getvalue()


class LanguageRouter:
    """A `Transcriber` for one business: its languages, each with an engine, and its default language.

    With one language, or no multilingual detector, every note goes to the default language's engine (an
    English-only business pays nothing for detection and keeps tiny.en's guard against foreign speech). Else
    the detector ranks the languages of the first 30 s: a confidently detected language the business does not
    serve is refused as `unsupported_language` (reported in that language); otherwise the served language with
    the most probability (an alias's counted with it: Urdu's with Hindi) gets the note."""

    def __init__(
        self,
        engines: Mapping[str, Engine],
        default_language: str,
        detector: WhisperTranscriber | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        min_probability: float = MIN_DETECTION_PROBABILITY,
    ) -> None:
        if default_language not in engines:
            raise ValueError(f"no engine for the default language {default_language}")
        self._engines = dict(engines)
        self._default = default_language
        self._detector = detector if detector is not None and detector.multilingual else None
        self._aliases = ALIASES if aliases is None else aliases
        self._min_probability = min_probability

    @property
    def engines(self) -> dict[str, Engine]:
        return dict(self._engines)

    def route(self, pcm: Pcm) -> tuple[str, Engine | None]:
        """The language to hear `pcm` in and its engine (None: refuse, a language the business lacks)."""
        if self._detector is None or len(self._engines) == 1:
            return self._default, self._engines[self._default]
        return self.choose(self._detector.detect_language(pcm))

    def choose(self, ranked: list[tuple[str, float]]) -> tuple[str, Engine | None]:
        """The routing decision for the detector's ranking (most probable first)."""
        served: dict[str, float] = {}
        for language, probability in ranked:
            target = language if language in self._engines else self._aliases.get(language, language)
            if target in self._engines:
                served[target] = served.get(target, 0.0) + probability
        top, probability = ranked[0] if ranked else (self._default, 0.0)
        if (
            top not in served
            and self._aliases.get(top) not in served
            and probability >= self._min_probability
        ):
            return top, None
        if not served:
            return self._default, self._engines[self._default]
        language = max(served, key=served.__getitem__)  # Hindi heard as 0.3 Tamil, 0.25 Hindi, 0.2 Urdu: hi
        return language, self._engines[language]

    def transcribe(self, pcm: Pcm) -> Transcript:
        language, engine = self.route(pcm)
        if engine is None:
            return not_understood(pcm, language, reason="unsupported_language", engine="")
        return engine.transcribe(pcm, language)
