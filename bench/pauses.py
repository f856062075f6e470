"""A labelled set of turn ends for end-of-turn detection, cut from the shared corpus (English and Hindi read speech).

Each clip is one read sentence. Its pauses are runs of ≥ 150 ms whose 20 ms frames are quiet relative to the
clip's loud frames (word boundaries a reader breathes at). Cutting the clip at an inner pause gives a turn that
is *not* finished (a caller pausing mid-sentence); the clip up to its last speech is a finished one. Each sample
keeps the pause that follows its cut, as the detector hears it on a call: the recording's own background, not
digital silence (the model hears a zero-filled pause as far less finished: on JFK's "…my fellow Americans, |
ask not" 0.37 against 0.84 with the room's own 200 ms). A mid-sentence pause is as long as the reader made it
(then the sentence goes on); a finished turn's pause goes on, its quiet looped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.audio import STT_SAMPLE_RATE, decode

if TYPE_CHECKING:
    from pipelines.audio import Float32Array

AUDIO = Path(__file__).resolve().parent.parent.parent / "shared" / "audio"
FRAME = STT_SAMPLE_RATE // 50  # 20 ms
MIN_PAUSE_FRAMES = 15  # 300 ms: a shorter pause never ends a turn (the VAD waits 0.3 s)
MIN_SPEECH_BEFORE_S = 1.0  # a cut leaves at least this much speech (a pause after one word is not a turn)
MIN_SPEECH_AFTER_S = 0.8  # and at least this much is still to come
ASKED_AFTER_S = 0.2  # silence the detector hears before it is asked (livekit's MIN_SILENCE_DURATION_MS)


@dataclass(frozen=True, slots=True)
class TurnSample:
    clip: str
    language: str
    finished: bool
    speech: Float32Array  # 16 kHz, up to the cut
    pause: (
        Float32Array  # what follows the cut: the whole pause (mid-sentence), or 3 s of the quiet (finished)
    )

    @property
    def samples(self) -> Float32Array:
        """What the detector hears when livekit asks it (`ASKED_AFTER_S` into the pause)."""
        return self.heard_at(ASKED_AFTER_S)  # type: ignore[return-value]

    def heard_at(self, silence_s: float) -> Float32Array | None:
        """The speech and `silence_s` of the pause after it; None if the speaker went on before then."""
        n = int(silence_s * STT_SAMPLE_RATE)
        return None if n > len(self.pause) else np.concatenate([self.speech, self.pause[:n]])


@dataclass(frozen=True, slots=True)
class Speech:
    """A clip's quiet runs between its first and last loud frame, as (start, end) sample indexes."""

    start: int
    end: int
    pauses: tuple[tuple[int, int], ...]


def speech_of(samples: Float32Array) -> Speech:
    frames = samples[: len(samples) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    rms = np.sqrt((frames**2).mean(axis=1))
    loud = rms > max(np.percentile(rms, 90) * 0.1, 1e-4)
    idx = np.flatnonzero(loud)
    if not len(idx):
        return Speech(0, 0, ())
    first, last = int(idx[0]), int(idx[-1])
    pauses, run_start = [], None
    for i in range(first, last + 1):
        if not loud[i] and run_start is None:
            run_start = i
        elif loud[i] and run_start is not None:
            if i - run_start >= MIN_PAUSE_FRAMES:
                pauses.append((run_start * FRAME, i * FRAME))
            run_start = None
    return Speech(first * FRAME, (last + 1) * FRAME, tuple(pauses))


def _quiet_after(samples: Float32Array, end: int, speech: Speech) -> Float32Array:
    """3 s of the recording's quiet after `end`: its own tail, looped, or (a clip cut tight) its first pause."""
    tail = samples[end:]
    if len(tail) < STT_SAMPLE_RATE // 10 and speech.pauses:
        tail = samples[speech.pauses[0][0] : speech.pauses[0][1]]
    if len(tail) < STT_SAMPLE_RATE // 10:
        tail = np.zeros(STT_SAMPLE_RATE // 10, np.float32)
    return np.resize(tail, 3 * STT_SAMPLE_RATE)


def turn_samples(per_language: int = 30) -> list[TurnSample]:
    """Up to `per_language` clips each of English and Hindi: one finished sample per clip and one unfinished
    sample per usable inner pause (at most two per clip, the ones nearest the middle)."""
    rows = [json.loads(line) for line in (AUDIO / "manifest.jsonl").read_text().splitlines()]
    out: list[TurnSample] = []
    for language in ("en", "hi"):
        picked = [r for r in rows if r["language"] == language and 2.5 <= float(r["duration_s"]) <= 15.0]
        for row in picked[:per_language]:
            samples = decode((AUDIO / row["file"]).read_bytes()).samples
            speech = speech_of(samples)
            quiet = _quiet_after(samples, speech.end, speech)
            out.append(TurnSample(row["file"], language, True, samples[: speech.end], quiet))
            rate = STT_SAMPLE_RATE
            inner = [
                p
                for p in speech.pauses
                if p[0] - speech.start >= MIN_SPEECH_BEFORE_S * rate
                and speech.end - p[1] >= MIN_SPEECH_AFTER_S * rate
            ]
            middle = (speech.start + speech.end) / 2
            for start, end in sorted(inner, key=lambda p: abs(p[0] - middle))[:2]:
                out.append(TurnSample(row["file"], language, False, samples[:start], samples[start:end]))
    return out


def paused_clip(path: Path, pause_s: float) -> tuple[Float32Array, float]:
    """A clip with its first inner pause (≥ 1 s into the speech) stretched to `pause_s` with the pause's own
    background (a caller stopping to think mid-sentence), and where that pause starts (seconds)."""
    samples = decode(path.read_bytes()).samples
    speech = speech_of(samples)
    start, end = next(
        p for p in speech.pauses if p[0] - speech.start >= MIN_SPEECH_BEFORE_S * STT_SAMPLE_RATE
    )
    gap = np.resize(samples[start:end], int(pause_s * STT_SAMPLE_RATE))
    return np.concatenate([samples[:start], gap, samples[end:]]), start / STT_SAMPLE_RATE
