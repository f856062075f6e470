"""A LiveKit STT plugin on our faster-whisper transcriber.

Whisper is not a streaming recognizer: the framework wraps this plugin with the session's VAD
(`stt.StreamAdapter`), so each utterance the VAD closes arrives here as one buffer. Audio comes at whatever
rate the call delivers (48 kHz from WhatsApp's Opus) and is resampled to whisper's 16 kHz here.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import numpy as np
from livekit import rtc
from livekit.agents import stt
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr

from pipelines.audio import Pcm

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from livekit.agents.utils import AudioBuffer

    from pipelines.stt import Transcript, WhisperTranscriber

WHISPER_RATE = 16_000


def to_whisper_pcm(buffer: AudioBuffer) -> Pcm:
    """Frames of any rate and channel count → 16 kHz mono float32."""
    frame = rtc.combine_audio_frames(buffer)
    if frame.sample_rate != WHISPER_RATE or frame.num_channels != 1:
        resampler = rtc.AudioResampler(frame.sample_rate, WHISPER_RATE, num_channels=frame.num_channels)
        parts = [*resampler.push(frame), *resampler.flush()]
        frame = rtc.combine_audio_frames(parts) if parts else frame
    samples = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
    mono = samples.mean(axis=1) if frame.num_channels > 1 else samples[:, 0]
    return Pcm((mono / 32768.0).astype(np.float32), WHISPER_RATE)


class WhisperSTT(stt.STT[None]):
    """Non-streaming recognition; the blocking transcription runs on the injected executor."""

    def __init__(self, transcriber: WhisperTranscriber, executor: Executor) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._transcriber = transcriber
        self._executor = executor

    @property
    def model(self) -> str:
        return "faster-whisper"

    @property
    def provider(self) -> str:
        return "leadclose"

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        pcm = to_whisper_pcm(buffer)
        loop = asyncio.get_running_loop()
        transcript: Transcript = await loop.run_in_executor(self._executor, self._transcriber.transcribe, pcm)
        # Not understood (silence, hallucination guard): an empty final transcript starts no turn.
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=uuid.uuid4().hex,
            alternatives=[
                stt.SpeechData(language=LanguageCode(transcript.language or "en"), text=transcript.text)
            ],
        )
