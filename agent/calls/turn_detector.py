"""Smart Turn as livekit-agents' streaming (audio) turn detector: the session pushes every caller frame, asks
for a prediction once the caller has been quiet for 200 ms, and waits for it when the VAD closes the utterance.
Below the threshold the turn stays open until the session's maximum delay (or the caller speaks again); at or
above it the agent answers after the VAD's silence, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
import structlog
from livekit import rtc
from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.agents.voice.turn import TurnDetectionEvent

from pipelines.audio import STT_SAMPLE_RATE
from pipelines.turn_end import WINDOW_S

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from livekit.agents.language import LanguageCode

    from pipelines.turn_end import SmartTurn

log = structlog.get_logger()

PREDICTION_TIMEOUT_S = 1.0  # past this the session commits without a prediction (as with silence alone)


class SmartTurnDetector:
    """Shared by all calls of a process (the model is loaded once); each session opens its own `stream()`."""

    def __init__(self, model: SmartTurn, executor: Executor, *, threshold: float) -> None:
        self._model = model
        self._executor = executor
        self._threshold = threshold

    @property
    def model(self) -> str:
        return "smart-turn-v3"

    @property
    def provider(self) -> str:
        return "pipecat-ai (local onnx)"

    def stream(self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> SmartTurnStream:
        return SmartTurnStream(self, self._model, self._executor, self._threshold)


class SmartTurnStream:
    """One session's last 8 s of caller audio at 16 kHz, and at most one prediction in flight."""

    def __init__(self, detector: SmartTurnDetector, model: SmartTurn, executor: Executor, threshold: float):
        self._detector = detector
        self._model = model
        self._executor = executor
        self._threshold = threshold
        self._chunks: deque[np.ndarray] = deque()
        self._held = 0
        self._resampler: rtc.AudioResampler | None = None
        self._rate = 0
        self._pending: asyncio.Future[TurnDetectionEvent] | None = None
        self._closed = False

    @property
    def model(self) -> str:
        return self._detector.model

    @property
    def provider(self) -> str:
        return self._detector.provider

    @property
    def is_fallback(self) -> bool:
        return False

    @property
    def prediction_timeout(self) -> float:
        return PREDICTION_TIMEOUT_S

    async def unlikely_threshold(self, language: LanguageCode | None) -> float | None:
        return self._threshold

    async def backchannel_threshold(self, language: LanguageCode | None) -> float | None:
        return None  # the agent does not backchannel

    async def supports_language(self, language: LanguageCode | None) -> bool:
        return True  # 23 languages, Hindi and English among them; unknown ones are judged by the audio alone

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        if self._closed:
            return
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

    def predict(self) -> asyncio.Future[TurnDetectionEvent]:
        """Runs the model on what was heard so far, off the event loop; a newer request supersedes it."""
        self.cancel_inference()
        loop = asyncio.get_running_loop()
        asked = time.time()
        result: asyncio.Future[TurnDetectionEvent] = loop.create_future()
        as_silence = TurnDetectionEvent("eot_prediction", 1.0, asked)  # what silence alone would decide
        if self._closed or not self._chunks:
            result.set_result(as_silence)
            return result
        audio = np.concatenate(self._chunks)
        started = time.perf_counter()
        try:
            work = loop.run_in_executor(self._executor, self._model.finished, audio)
        except RuntimeError:  # the executor was shut down with the process
            result.set_result(as_silence)
            return result

        def settle(job: asyncio.Future[float]) -> None:
            if job.cancelled() or job.exception() is not None:
                result.cancel()  # the session commits without a prediction, as after a timeout
                return
            took = time.perf_counter() - started
            log.debug(
                "calls.turn_predicted",
                finished=round(job.result(), 3),
                ms=round(took * 1000),
                late=result.done(),
            )
            if result.done():  # superseded: the caller spoke again
                return
            result.set_result(
                TurnDetectionEvent(
                    "eot_prediction", job.result(), asked, detection_delay=took, inference_duration=took
                )
            )

        work.add_done_callback(settle)
        self._pending = result
        return result

    def cancel_inference(self, *, timed_out: bool = False) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        self._pending = None

    def flush(self, reason: str | None = None) -> None:
        """The turn was committed or cleared: the next prediction hears only the next turn."""
        self.cancel_inference()
        self._chunks.clear()
        self._held = 0

    def end_input(self) -> None:
        self._closed = True

    async def aclose(self) -> None:
        self._closed = True
        self.flush()
