"""A real synthesizer with a tally: every text it was asked to speak, in order. It wraps the voice (Piper in the
tests) and changes nothing of what it says, so a test can count how often a text was synthesized without
replacing any code under test."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pipelines.tts import Synthesizer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pipelines.audio import Pcm


class CountingVoice(Synthesizer):
    def __init__(self, voice: Synthesizer) -> None:
        self.voice = voice
        self.engine = voice.engine
        self.texts: list[str] = []
        self.asked = asyncio.Event()  # set once a first text was asked for

    @property
    def sample_rate(self) -> int:
        return self.voice.sample_rate

    def times(self, text: str) -> int:
        """How often `text` was synthesized (as one piece: a phrase, a sentence of a streamed reply)."""
        return sum(said.strip() == text.strip() for said in self.texts)

    async def stream(self, text: str) -> AsyncIterator[Pcm]:
        self.texts.append(text)
        self.asked.set()
        async for clip in self.voice.stream(text):
            yield clip
