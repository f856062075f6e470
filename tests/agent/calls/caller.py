"""The caller's phone, written with aiortc: offers Opus audio, speaks clips at real-time pace and records what
it hears with arrival times. It stands in for WhatsApp's side of the WebRTC call (which cannot exist here)."""

from __future__ import annotations

import asyncio
import fractions
import functools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from pipelines.audio import Pcm
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from types import TracebackType

    from tests.agent.calls.hearing import Ears

RATE = 48_000
FRAME = RATE // 50
_SPEECH_RMS = 300  # int16 RMS above which a 20 ms frame counts as the agent speaking


def to_call_rate(pcm: Pcm) -> np.ndarray:
    """Any-rate float PCM → 48 kHz int16 (linear interpolation is enough for a test's speech)."""
    n = int(len(pcm.samples) * RATE / pcm.sample_rate)
    x = np.interp(np.arange(n) * pcm.sample_rate / RATE, np.arange(len(pcm.samples)), pcm.samples)
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


def to_whisper(samples: np.ndarray) -> Pcm:
    usable = samples[: len(samples) // 3 * 3].astype(np.float32) / 32768.0
    return Pcm(usable.reshape(-1, 3).mean(axis=1).astype(np.float32), 16_000)


class _Mic(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.queue = np.zeros(0, dtype=np.int16)
        self.drained = asyncio.Event()
        self._start = 0.0
        self._pts = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._pts == 0:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.monotonic()))
        chunk, self.queue = self.queue[:FRAME], self.queue[FRAME:]
        if len(chunk) and not len(self.queue):
            self.drained.set()
        samples = np.zeros(FRAME, dtype=np.int16)
        samples[: len(chunk)] = chunk
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self._pts, fractions.Fraction(1, RATE)
        self._pts += FRAME
        return frame


@dataclass
class Heard:
    at: float  # time.monotonic() of arrival
    samples: np.ndarray

    @property
    def speech(self) -> bool:
        return float(np.sqrt(np.mean(self.samples.astype(np.float64) ** 2))) > _SPEECH_RMS


def _ears_of(ears: Ears | None) -> Ears:
    if ears is None:
        raise RuntimeError("this caller only measures: hearing words needs Caller(ears=...)")
    return ears


@dataclass(frozen=True)
class Answer:
    """The agent's answer to one thing the caller said, as the caller's phone received it."""

    said_until: float  # monotonic time the caller's last sample went out
    start: float  # the first audible agent frame after that
    end: float  # when the agent had then been quiet long enough to count as done
    samples: np.ndarray = field(repr=False)
    ears: Ears | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def text(self) -> str:
        """What the caller understood of it (lowercase words)."""
        return _ears_of(self.ears).hear(self.samples)


@dataclass
class Caller:
    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[])))
    mic: _Mic = field(default_factory=_Mic)
    heard: list[Heard] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    ears: Ears | None = None  # without them the caller measures timing only (bench)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.hang_up()

    async def offer(self) -> str:
        self.pc.addTrack(self.mic)
        self.pc.on("track", lambda track: asyncio.ensure_future(self._listen(track)))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer_with(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def _listen(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self.ended.set()
                return
            assert isinstance(frame, AudioFrame)
            data = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0].copy()
            self.heard.append(Heard(time.monotonic(), data))

    async def say(self, samples: np.ndarray) -> float:
        """Speak at real-time pace; returns when the last sample went out (monotonic time)."""
        self.mic.drained.clear()
        self.mic.queue = np.concatenate([self.mic.queue, samples])
        await self.mic.drained.wait()
        return time.monotonic()

    async def answer_starts(self, after: float, within_s: float = 20.0) -> float:
        """When the agent's first audible frame after `after` arrived; TimeoutError if none within `within_s`."""
        await eventually(lambda: self.first_speech_after(after) is not None, within_s)
        first = self.first_speech_after(after)
        assert first is not None
        return first

    async def turn(self, samples: np.ndarray, *, quiet_s: float = 1.2, within_s: float = 20.0) -> Answer:
        """One turn of the conversation: say `samples`, wait for the agent to answer and then fall quiet."""
        said_until = await self.say(samples)
        await self.answer_starts(said_until, within_s)
        await self.wait_quiet(quiet_s)
        return self.answer_since(said_until)

    def answer_since(self, said_until: float) -> Answer:
        """Everything that has arrived since the caller stopped talking at `said_until`, as the answer."""
        start = self.first_speech_after(said_until)
        assert start is not None, "the agent said nothing after the caller"
        end = time.monotonic()
        return Answer(said_until, start, end, self.audio_between(said_until, end), self.ears)

    def hear(self, start: float = 0.0, end: float = float("inf")) -> str:
        """What the caller understood of everything that arrived between `start` and `end` (lowercase words)."""
        return _ears_of(self.ears).hear(self.audio_between(start, end))

    def first_speech_after(self, t: float) -> float | None:
        return next((h.at for h in self.heard if h.at > t and h.speech), None)

    def last_speech(self) -> float | None:
        return next((h.at for h in reversed(self.heard) if h.speech), None)

    async def wait_quiet(self, quiet_s: float = 1.2, within_s: float = 40.0) -> None:
        """Until the agent has spoken and then been silent for `quiet_s`."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            last = self.last_speech()
            if last is not None and time.monotonic() - last > quiet_s:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the agent did not finish speaking")

    def audio_between(self, start: float, end: float = float("inf")) -> np.ndarray:
        parts = [h.samples for h in self.heard if start <= h.at <= end]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    async def hang_up(self) -> None:
        await self.pc.close()
