"""The Piper TTS plugin on its own, with the real Piper voice."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from agent.calls.tts import SynthesizerTTS

if TYPE_CHECKING:
    from livekit.agents import tts

    from pipelines.tts import PiperSynthesizer


async def _seconds_until_audio(stream: tts.SynthesizeStream, within_s: float = 10.0) -> float:
    frame = await asyncio.wait_for(stream.__anext__(), within_s)
    return frame.frame.duration


async def test_a_complete_sentence_is_spoken_before_the_next_one_arrives(
    synthesizer: PiperSynthesizer,
) -> None:
    """The first sentence must not wait for more text (the framework's generic adapter holds it back until
    the next sentence begins): audio comes while the stream is still open and nothing else was pushed."""
    plugin = SynthesizerTTS(synthesizer)
    async with plugin.stream() as stream:
        stream.push_text("Sure.")
        assert await _seconds_until_audio(stream) > 0
        stream.push_text(" We are open from nine to six.")
        stream.end_input()
        total = sum([e.frame.duration async for e in stream])
    assert total > 1.0  # the second sentence was spoken too


async def test_an_unfinished_sentence_waits_for_its_end_or_the_end_of_input(
    synthesizer: PiperSynthesizer,
) -> None:
    plugin = SynthesizerTTS(synthesizer)
    async with plugin.stream() as stream:
        stream.push_text("We deliver every")
        waited = asyncio.ensure_future(_seconds_until_audio(stream))
        await asyncio.sleep(0.5)
        assert not waited.done()  # half a sentence is not spoken
        stream.push_text(" afternoon")
        stream.end_input()
        assert await waited > 0


async def test_synthesize_speaks_a_whole_text(synthesizer: PiperSynthesizer) -> None:
    plugin = SynthesizerTTS(synthesizer)
    async with plugin.synthesize("Hello there. Goodbye.") as chunked:
        total = sum([e.frame.duration async for e in chunked])
    assert total > 1.0
