"""Has the caller finished? Smart Turn hears it in the audio of the pause, asked more than once.

A pause is judged at each of `TURN_ASKS` (as soon as the caller falls quiet, and again if the pause goes on),
the answer waits at least `ANSWER_AFTER_S` after the speech (a caller who goes on within it is heard out), and
past the last ask the turn ends after the maximum wait. Read speech's mid-sentence pauses are mostly over by
0.8 s (0.3-0.8 s), so the later ask costs few cut-offs and saves much of the maximum wait on ends the model is
unsure of at first (bench/turn_detect.py has the table). The call's recognizer does the asking (see
`agent.calls.stt`): it knows where the pauses are and holds the words until the verdict.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
import structlog
from livekit import rtc

from pipelines.audio import STT_SAMPLE_RATE
from pipelines.turn_end import WINDOW_S

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from pipelines.turn_end import SmartTurn

log = structlog.get_logger()

# A verdict later than this is not waited for: silence decides, as without the model.
PREDICTION_TIMEOUT_S = 1.0


class RecentAudio:
    """The caller's last 8 s at 16 kHz mono: what the turn model hears when asked."""

    def __init__(self) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self._held = 0
        self._resampler: rtc.AudioResampler | None = None
        self._rate = 0

    @property
    def seconds(self) -> float:
        return self._held / STT_SAMPLE_RATE

    def push(self, frame: rtc.AudioFrame) -> None:
        if frame.sample_rate != STT_SAMPLE_RATE and (
            self._resampler is None or self._rate != frame.sample_rate
        ):
            self._resampler = rtc.AudioResampler(frame.sample_rate, STT_SAMPLE_RATE, num_channels=1)
            self._rate = frame.sample_rate
        frames = [frame] if frame.sample_rate == STT_SAMPLE_RATE else self._resampler.push(frame)  # type: ignore[union-attr]
        for f in frames:
            pcm = np.frombuffer(f.data, dtype=np.int16)
            if f.num_channels > 1:
                pcm = pcm.reshape(-1, f.num_channels)[:, 0]
            self._chunks.append(pcm.astype(np.float32) / 32768.0)
            self._held += len(pcm)
        limit = WINDOW_S * STT_SAMPLE_RATE
        while self._chunks and self._held - len(self._chunks[0]) >= limit:
            self._held -= len(self._chunks.popleft())

    def clear(self) -> None:
        self._chunks.clear()
        self._held = 0

    def samples(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)


class TurnJudge:
    """The process's turn model on its own thread (it never waits behind STT), with how a pause is judged:
    `asks` (seconds of silence, threshold "finished" must reach then, in order), no answer sooner than
    `answer_after_s` after the speech (a caller who goes on within it is heard out), and none later than
    `max_wait_s` (the caller said no more)."""

    def __init__(
        self,
        model: SmartTurn,
        executor: Executor,
        *,
        asks: tuple[tuple[float, float], ...],
        answer_after_s: float,
        max_wait_s: float,
    ) -> None:
        self._model = model
        self._executor = executor
        self.asks = asks
        self.answer_after_s = answer_after_s
        self.max_wait_s = max_wait_s

    async def finished(self, audio: RecentAudio, threshold: float) -> bool:
        """Whether what the caller has said so far sounds like a complete turn (at least `threshold`)."""
        if not audio.seconds:
            return True
        samples = audio.samples()
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(PREDICTION_TIMEOUT_S):
                probability = await loop.run_in_executor(self._executor, self._model.finished, samples)
        except Exception as exc:  # too slow, shut down with the process, or failed: silence decides
            log.warning(
                "calls.turn_unjudged",
                error=type(exc).__name__,
                ms=round((time.perf_counter() - started) * 1000),
            )
            return True
        log.debug(
            "calls.turn_predicted",
            finished=round(probability, 3),
            threshold=threshold,
            ms=round((time.perf_counter() - started) * 1000),
        )
        return probability >= threshold
