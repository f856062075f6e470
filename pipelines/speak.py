"""A reply spoken while it is being written: text pieces in (an LLM stream cut at sentence ends, or a whole
text), each synthesized as soon as it arrives and encoded into the OGG/Opus voice note as soon as it is
synthesized. The note is only sent once complete, so what it says is decided at the end: a caller that changes
the text afterwards (a refusal, a fallback) speaks the new text instead.

Each sentence is peak-normalized on its own (a whole reply cannot be measured before its end); the note is
padded at both ends as `audio.polish` pads a whole reply.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.audio import VoiceNoteEncoder, VoiceNoteFormat, normalize, quiet
from pipelines.tts import TTSError

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator

    from pipelines.audio import Pcm
    from pipelines.tts import Synthesizer

PAD_MS = 120
_DONE = None


@dataclass(frozen=True, slots=True)
class Spoken:
    """A voice note and the text it says, with when its text ended and when its audio was ready
    (`time.perf_counter()`), so a caller can tell what of the speaking outlasted the writing."""

    text: str
    audio: bytes
    text_done_at: float
    audio_done_at: float

    @property
    def tail_ms(self) -> float:
        """Time from the last piece of text to the finished voice note: the speaking on the critical path."""
        return round((self.audio_done_at - self.text_done_at) * 1000, 2)


class Speaker:
    """Synthesis and encoding overlap each other and the text's producer: the producer is read by its own task
    while sentences are synthesized (in a worker thread) and encoded (in another)."""

    def __init__(self, synthesizer: Synthesizer, voice_format: VoiceNoteFormat | None = None) -> None:
        self._synthesizer = synthesizer
        self._format = voice_format or VoiceNoteFormat()

    async def speak(self, text: str, synthesizer: Synthesizer | None = None) -> Spoken:
        """A whole text: its sentences are still encoded while the next ones are synthesized."""
        return await self.speak_stream(_once(text), synthesizer)

    async def speak_stream(
        self, pieces: AsyncIterable[str], synthesizer: Synthesizer | None = None
    ) -> Spoken:
        """Speaks each piece as it arrives; returns once `pieces` is exhausted and the note is complete.
        An exception of `pieces` (an LLM failure mid-stream) propagates, and nothing is kept."""
        voice = synthesizer or self._synthesizer
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        said: list[str] = []
        text_done = [0.0]

        async def read() -> None:
            try:
                async for piece in pieces:
                    said.append(piece)
                    queue.put_nowait(piece)
            finally:
                text_done[0] = time.perf_counter()
                queue.put_nowait(_DONE)

        encoder = VoiceNoteEncoder(self._format)
        reader = asyncio.create_task(read())
        encoding: asyncio.Future[None] | None = None
        rate = 0
        try:
            while (piece := await queue.get()) is not _DONE:
                async for clip in voice.stream(piece):
                    # One encode in flight (the encoder takes clips in order) while TTS goes on.
                    if encoding is not None:
                        await encoding
                    lead = quiet(0 if rate else PAD_MS, clip.sample_rate)
                    rate = clip.sample_rate
                    encoding = asyncio.ensure_future(asyncio.to_thread(_encode, encoder, lead, clip))
            await reader  # raises what the producer raised
            if encoding is not None:
                await encoding
            if not rate:
                raise TTSError(f"{voice.engine}: no audio produced")
            audio = await asyncio.to_thread(_finish, encoder, quiet(PAD_MS, rate))
        except BaseException:
            reader.cancel()
            if encoding is not None:
                await asyncio.gather(encoding, return_exceptions=True)
            encoder.close()
            raise
        return Spoken("".join(said).strip(), audio, text_done[0], time.perf_counter())


async def _once(text: str) -> AsyncIterator[str]:
    yield text


def _encode(encoder: VoiceNoteEncoder, lead: Pcm, clip: Pcm) -> None:
    if len(lead.samples):
        encoder.add(lead)
    encoder.add(normalize(clip))


def _finish(encoder: VoiceNoteEncoder, tail: Pcm) -> bytes:
    encoder.add(tail)
    return encoder.finish()
