"""Has the speaker finished their turn? Pipecat's Smart Turn v3 hears it in the audio, not only in the silence.

The model (BSD-2, ~8.7 MB ONNX, 23 languages including Hindi) takes the last 8 s of 16 kHz speech as
Whisper-style log-mel features (80 bins, 10 ms hop, the waveform normalized to zero mean and unit variance
first, shorter audio zero-padded in front) and gives the probability that the turn is complete. faster-whisper's
`FeatureExtractor` computes exactly those features (checked against the reference to 2e-7), so only the model
file is taken from the `pipecat-ai` wheel, never the framework: `./run` extracts it into the venv's
`share/leadclose/` and this module checks its sha256 before loading it.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.audio import STT_SAMPLE_RATE

if TYPE_CHECKING:
    import onnxruntime
    from faster_whisper.feature_extractor import FeatureExtractor

    from pipelines.audio import Float32Array

SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
SMART_TURN_WHEEL = "pipecat-ai==1.14.0"  # where ./run takes it from (pipecat/audio/turn/smart_turn/data/)
WINDOW_S = 8
_NORM_EPS = 1e-7


class TurnModelError(Exception):
    """The turn model is missing or is not the file we checked; callers fall back to silence detection.
    `reason` ("missing" or "checksum") is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"turn model {reason}")
        self.reason = reason


def installed_model_path() -> Path:
    """Where `./run` installs the model: inside the environment, beside the packages that use it."""
    return Path(sys.prefix) / "share" / "leadclose" / SMART_TURN_FILE


@dataclass(frozen=True, slots=True)
class SmartTurn:
    """Sync and CPU-bound (~40 ms per prediction on one thread): call it from a worker thread."""

    session: onnxruntime.InferenceSession
    features: FeatureExtractor

    @classmethod
    def load(cls, path: Path | None = None, *, threads: int = 1) -> SmartTurn:
        """Read, check (sha256) and load the model; raises `TurnModelError` if it is absent or altered."""
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        path = path or installed_model_path()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TurnModelError("missing") from exc
        if hashlib.sha256(data).hexdigest() != SMART_TURN_SHA256:
            raise TurnModelError("checksum")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # one call's predictions must not fight STT and TTS for cores
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        return cls(session, FeatureExtractor(feature_size=80, chunk_length=WINDOW_S))

    def finished(self, samples: Float32Array) -> float:
        """Probability that the speech in `samples` (16 kHz mono, the turn so far) is a complete turn."""
        n = WINDOW_S * STT_SAMPLE_RATE
        window = np.zeros(n, np.float32)
        tail = np.asarray(samples, np.float32)[-n:]
        window[n - len(tail) :] = tail
        window = (window - window.mean()) / np.sqrt(window.var() + _NORM_EPS)
        mel = self.features(window, padding=0)[:, : n // 160]
        (out,) = self.session.run(None, {"input_features": mel[np.newaxis].astype(np.float32)})
        return float(np.asarray(out).reshape(-1)[0])


# Words an English sentence does not end on: articles, conjunctions, possessives, a few prepositions ("I'd
# like a table for two and |" is unfinished however final it sounds). Not auxiliaries or phrasal particles: "Yes,
# I do." and "Hold on." are whole. A question may end on a preposition ("who is it with?"), so a transcript
# ending in "?" is never judged by its last word.
_OPEN_ENDINGS = frozenset(
    "a an the and or but nor because if than whether unless my your our their its of from with very into onto".split()  # noqa: SIM905
)
_OPEN_MARKS = (",", ";", ":", "-", "–", "—", "...", "…")
_WORD = re.compile(r"[a-z']+")


def reads_unfinished(text: str) -> bool:
    """Whether a transcript stops where a sentence cannot: on a comma, dash or ellipsis (the recognizer heard
    the sentence go on) or on one of `_OPEN_ENDINGS`. Conservative: a text it does not flag may still be
    unfinished (the turn model judges the audio); what it flags never is a whole English sentence."""
    text = text.strip()
    if not text or text.endswith("?"):
        return False
    if text.endswith(_OPEN_MARKS):
        return True
    words = _WORD.findall(text.lower())
    return bool(words) and words[-1] in _OPEN_ENDINGS
