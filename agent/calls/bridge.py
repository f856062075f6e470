"""The audio bridge between a WebRTC peer connection (aiortc) and a LiveKit `AgentSession`.

In: aiortc decodes WhatsApp's Opus to 48 kHz s16 frames; `CallAudioInput` hands them to the session as mono
`rtc.AudioFrame`s (the VAD and the STT plugin resample to what their models want). Out: the session writes
48 kHz mono frames (it resamples the TTS output to the sink's rate) into `CallAudioOutput`'s buffer;
`AgentAudioTrack` is the track the peer connection sends, pulling 20 ms at real-time pace and playing
silence between replies. Nothing is sent before the call is accepted (`AgentAudioTrack.open()`).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import TYPE_CHECKING

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from livekit import rtc
from livekit.agents.voice import io

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.calls.recording import CallRecorder

CALL_RATE = 48_000
FRAME_SAMPLES = CALL_RATE // 50  # 20 ms, WhatsApp's Opus packet time
_BYTES_PER_SAMPLE = 2


def to_rtc_frame(frame: AudioFrame) -> rtc.AudioFrame:
    """An aiortc (PyAV) s16 frame, mono or interleaved stereo, → a mono LiveKit frame at its own rate."""
    samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
    mono = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1).astype(np.int16)
    return rtc.AudioFrame(mono.astype(np.int16).tobytes(), frame.sample_rate, 1, len(mono))


class CallAudioInput(io.AudioInput):
    """The caller's voice, frame by frame, until the remote track ends (hang-up or connection lost)."""

    def __init__(self, track: MediaStreamTrack, recorder: CallRecorder | None = None) -> None:
        super().__init__(label="whatsapp-call")
        self._track = track
        self._recorder = recorder

    async def __anext__(self) -> rtc.AudioFrame:
        try:
            frame = await self._track.recv()
        except MediaStreamError:
            raise StopAsyncIteration from None
        assert isinstance(frame, AudioFrame)
        out = to_rtc_frame(frame)
        if self._recorder is not None:
            self._recorder.add("caller", np.frombuffer(out.data, dtype=np.int16), out.sample_rate)
        return out


class CallAudioOutput(io.AudioOutput):
    """The agent's speech, buffered for `AgentAudioTrack`. A segment ends when the session flushes and
    the track has played it out, or at once when the session clears it (barge-in)."""

    def __init__(self, on_first_audio: Callable[[float], None] | None = None) -> None:
        super().__init__(
            label="whatsapp-call",
            capabilities=io.AudioOutputCapabilities(pause=False),
            sample_rate=CALL_RATE,
        )
        self._buffer = bytearray()
        self._segment_open = False  # frames captured, playback not yet finished
        self._flushed = False
        self._played = 0  # samples of the current segment sent
        self._on_first_audio = on_first_audio

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if not self._segment_open:
            self._segment_open, self._flushed, self._played = True, False, 0
        self._buffer.extend(bytes(frame.data))

    def flush(self) -> None:
        super().flush()
        if self._segment_open:
            self._flushed = True
            if not self._buffer:
                self._finish(interrupted=False)

    def clear_buffer(self) -> None:
        self._buffer.clear()
        if self._segment_open:
            self._finish(interrupted=True)

    def pull(self) -> bytes:
        """Up to 20 ms of agent speech (empty when there is none); ends a played-out segment."""
        chunk = bytes(self._buffer[: FRAME_SAMPLES * _BYTES_PER_SAMPLE])
        del self._buffer[: len(chunk)]
        if chunk and self._played == 0:
            self.on_playback_started(created_at=time.time())
            if self._on_first_audio is not None:
                self._on_first_audio(time.time())
        self._played += len(chunk) // _BYTES_PER_SAMPLE
        if self._segment_open and self._flushed and not self._buffer:
            self._finish(interrupted=False)
        return chunk

    def _finish(self, *, interrupted: bool) -> None:
        self._segment_open, self._flushed = False, False
        self.on_playback_finished(playback_position=self._played / CALL_RATE, interrupted=interrupted)
        self._played = 0


class AgentAudioTrack(MediaStreamTrack):
    """The outbound audio track: 20 ms frames at real-time pace, silence when the agent is not speaking."""

    kind = "audio"

    def __init__(self, output: CallAudioOutput, recorder: CallRecorder | None = None) -> None:
        super().__init__()
        self._output = output
        self._recorder = recorder
        self._opened = asyncio.Event()
        self._start = 0.0
        self._pts = 0

    def open(self) -> None:
        """Start sending (after `accept` returned 200)."""
        self._opened.set()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._opened.wait()
        if self._pts == 0:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._pts / CALL_RATE - time.monotonic()))
        chunk = self._output.pull()
        samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        samples[: len(chunk) // _BYTES_PER_SAMPLE] = np.frombuffer(chunk, dtype=np.int16)
        if self._recorder is not None:
            self._recorder.add("agent", samples, CALL_RATE)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = CALL_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, CALL_RATE)
        self._pts += FRAME_SAMPLES
        return frame
