"""A reply spoken while it is being written: text pieces in (an LLM stream cut at sentence ends, or a whole
text), each synthesized as soon as it arrives and encoded into the OGG/Opus voice note as soon as it is
synthesized. The note is only sent once complete, so what it says is decided at the end: a caller that changes
the text afterwards (a refusal, a fallback) speaks the new text instead.

Each sentence is peak-normalized on its own (a whole reply cannot be measured before its end); the note is
padded at both ends as `audio.polish` pads a whole reply.

A note may start with a preface known before the reply (the AI disclosure of a first contact): a fixed text,
so `PhraseCache` speaks it once per voice and process, and every note that starts with it only encodes it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.audio import VoiceNoteEncoder, VoiceNoteFormat, join, normalize, quiet
from pipelines.consent import prefaced
from pipelines.tts import TTSError

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator

    from pipelines.audio import Pcm
    from pipelines.tts import Synthesizer

PAD_MS = 120
PREFACE_GAP_MS = 250  # between the preface and the reply, as `audio.join` pauses between clips
PHRASE_CACHE_BYTES = 32 * 1024 * 1024  # about 6 minutes of Piper's 22.05 kHz float32 speech
_DONE = None


@dataclass(frozen=True, slots=True)
class Spoken:
    """A voice note and the text it says, with when its text ended and when its audio was ready
    (`time.perf_counter()`), so a caller can tell what of the speaking outlasted the writing."""

    text: str
    audio: bytes
    text_done_at: float
    audio_done_at: float
    preface: str = ""  # said before `text` (the AI disclosure), "" when nothing was

    @property
    def says(self) -> str:
        """All the note says, as a text: the preface before the reply, joined as the text message joins them."""
        return prefaced(self.preface, self.text)

    @property
    def tail_ms(self) -> float:
        """Time from the last piece of text to the finished voice note: the speaking on the critical path."""
        return round((self.audio_done_at - self.text_done_at) * 1000, 2)


class PhraseCache:
    """Fixed texts (a tenant's AI disclosure in one language) spoken once per voice in a process: their audio,
    each sentence peak-normalized as a reply's are, kept least recently used first out within `max_bytes`.
    Turns asking for a phrase while it is being synthesized wait for that synthesis instead of repeating it;
    a failed synthesis is not kept (the next turn tries again)."""

    def __init__(self, max_bytes: int = PHRASE_CACHE_BYTES) -> None:
        self._max_bytes = max_bytes
        self._kept: OrderedDict[tuple[Synthesizer, str], Pcm] = OrderedDict()
        self._bytes = 0
        self._pending: dict[tuple[Synthesizer, str], asyncio.Task[Pcm]] = {}

    @property
    def size_bytes(self) -> int:
        return self._bytes

    async def spoken(self, voice: Synthesizer, text: str) -> Pcm:
        key = (voice, text)
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            return kept
        # A turn cancelled while waiting (a takeover, a shutdown) leaves the synthesis to the others.
        return await asyncio.shield(self._synthesis(key))

    def prefetch(self, voice: Synthesizer, text: str) -> None:
        """Starts synthesizing `text` (unless kept or under way) and returns at once: a turn that knows it will
        say the phrase asks before it needs it. A failure is left to whoever asks next (`spoken` tries again)."""
        if (voice, text) not in self._kept:
            self._synthesis((voice, text))

    def _synthesis(self, key: tuple[Synthesizer, str]) -> asyncio.Task[Pcm]:
        task = self._pending.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = self._pending[key] = asyncio.ensure_future(self._synthesize(key))
            task.add_done_callback(_retrieved)
        return task

    async def _synthesize(self, key: tuple[Synthesizer, str]) -> Pcm:
        voice, text = key
        try:
            clips = [clip async for clip in voice.stream(text)]
            if not clips:
                raise TTSError(f"{voice.engine}: no audio produced")
            pcm = await asyncio.to_thread(_normalized, clips)
        finally:
            if self._pending.get(key) is asyncio.current_task():
                del self._pending[key]
        self._keep(key, pcm)
        return pcm

    def _keep(self, key: tuple[Synthesizer, str], pcm: Pcm) -> None:
        size = pcm.samples.nbytes
        if size > self._max_bytes:
            return
        old = self._kept.pop(key, None)
        self._bytes -= old.samples.nbytes if old is not None else 0
        while self._kept and self._bytes + size > self._max_bytes:
            _, evicted = self._kept.popitem(last=False)
            self._bytes -= evicted.samples.nbytes
        self._kept[key] = pcm
        self._bytes += size


class Speaker:
    """Synthesis and encoding overlap each other and the text's producer: the producer is read by its own task
    while sentences are synthesized (in a worker thread) and encoded (in another)."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        voice_format: VoiceNoteFormat | None = None,
        phrases: PhraseCache | None = None,
    ) -> None:
        self._synthesizer = synthesizer
        self._format = voice_format or VoiceNoteFormat()
        self._phrases = phrases or PhraseCache()

    def prefetch(self, text: str, synthesizer: Synthesizer | None = None) -> None:
        """Starts synthesizing a preface a note will say (`PhraseCache.prefetch`)."""
        self._phrases.prefetch(synthesizer or self._synthesizer, text)

    async def speak(self, text: str, synthesizer: Synthesizer | None = None, *, preface: str = "") -> Spoken:
        """A whole text: its sentences are still encoded while the next ones are synthesized."""
        return await self.speak_stream(_once(text), synthesizer, preface=preface)

    async def speak_stream(
        self, pieces: AsyncIterable[str], synthesizer: Synthesizer | None = None, *, preface: str = ""
    ) -> Spoken:
        """Speaks each piece as it arrives; returns once `pieces` is exhausted and the note is complete.
        A `preface` is said first, from the phrase cache (synthesized there only the first time), while the
        pieces are already being read. An exception of `pieces` (an LLM failure mid-stream) propagates, and
        nothing is kept."""
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
        rate, replied = 0, False
        try:
            if preface:
                opening = await self._phrases.spoken(voice, preface)
                rate = opening.sample_rate
                parts = (quiet(PAD_MS, rate), opening, quiet(PREFACE_GAP_MS, rate))
                encoding = asyncio.ensure_future(asyncio.to_thread(_add, encoder, *parts))
            while (piece := await queue.get()) is not _DONE:
                async for clip in voice.stream(piece):
                    # One encode in flight (the encoder takes clips in order) while TTS goes on.
                    if encoding is not None:
                        await encoding
                    lead = quiet(0 if rate else PAD_MS, clip.sample_rate)
                    rate, replied = clip.sample_rate, True
                    encoding = asyncio.ensure_future(asyncio.to_thread(_encode, encoder, lead, clip))
            await reader  # raises what the producer raised
            if encoding is not None:
                await encoding
            if not replied:
                raise TTSError(f"{voice.engine}: no audio produced")
            audio = await asyncio.to_thread(_finish, encoder, quiet(PAD_MS, rate))
        except BaseException:
            reader.cancel()
            if encoding is not None:
                await asyncio.gather(encoding, return_exceptions=True)
            encoder.close()
            raise
        return Spoken("".join(said).strip(), audio, text_done[0], time.perf_counter(), preface)


async def _once(text: str) -> AsyncIterator[str]:
    yield text


def _encode(encoder: VoiceNoteEncoder, lead: Pcm, clip: Pcm) -> None:
    if len(lead.samples):
        encoder.add(lead)
    encoder.add(normalize(clip))


def _add(encoder: VoiceNoteEncoder, *parts: Pcm) -> None:
    for part in parts:
        encoder.add(part)


def _normalized(clips: list[Pcm]) -> Pcm:
    """One phrase from its sentences' clips, each peak-normalized on its own (as `_encode` does a reply's)."""
    return join([normalize(clip) for clip in clips], gap_ms=0)


def _retrieved(task: asyncio.Task[Pcm]) -> None:
    """Its waiters see a failure; this keeps asyncio from also logging it when none was left to wait."""
    if not task.cancelled():
        task.exception()


def _finish(encoder: VoiceNoteEncoder, tail: Pcm) -> bytes:
    encoder.add(tail)
    return encoder.finish()
