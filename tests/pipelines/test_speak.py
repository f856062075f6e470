"""The streaming speaker: sentences synthesized as they arrive and encoded into one voice note as they are
synthesized, with the real Piper voice, PyAV's Opus and tiny.en as the listener."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import av
import jiwer
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.audio import decode
from pipelines.speak import PAD_MS, Speaker
from pipelines.tts import Synthesizer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pipelines.audio import Pcm
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

SENTENCES = [
    "Thank you for your message. ",
    "Installation takes two to three days after the free site survey. ",
    "Would you like us to call you back tomorrow morning?",
]


class _Observed(Synthesizer):
    """Piper, telling the test when each sentence's synthesis begins."""

    engine = "piper"

    def __init__(self, piper: PiperSynthesizer) -> None:
        self.piper = piper
        self.started: list[asyncio.Event] = [asyncio.Event() for _ in SENTENCES]
        self.calls = 0

    async def stream(self, text: str) -> AsyncIterator[Pcm]:
        self.started[self.calls].set()
        self.calls += 1
        async for clip in self.piper.stream(text):
            yield clip


async def test_each_sentence_is_spoken_while_the_next_is_still_being_written(
    synthesizer: PiperSynthesizer, transcriber: WhisperTranscriber
) -> None:
    voice = _Observed(synthesizer)

    async def written_slowly() -> AsyncIterator[str]:
        for i, sentence in enumerate(SENTENCES):
            if i:  # the writer goes on only once the speaker is already speaking what it wrote before
                await asyncio.wait_for(voice.started[i - 1].wait(), 10)
            yield sentence

    spoken = await Speaker(synthesizer).speak_stream(written_slowly(), voice)
    assert spoken.text == "".join(SENTENCES).strip()
    with av.open(io.BytesIO(spoken.audio)) as container:
        assert container.format.name == "ogg"
        assert container.streams.audio[0].codec_context.name == "opus"
    pcm = decode(spoken.audio)
    whole = await synthesizer.synthesize(spoken.text)
    assert (
        abs(pcm.duration_s - (whole.duration_s + 2 * PAD_MS / 1000)) < 0.6
    )  # Piper's timing varies a little
    norm = EnglishTextNormalizer()
    assert jiwer.wer(norm(spoken.text), norm(transcriber.transcribe(pcm).text)) < 0.15
    assert spoken.audio_done_at >= spoken.text_done_at


async def test_a_failure_of_the_writer_mid_reply_propagates_and_nothing_is_kept(
    synthesizer: PiperSynthesizer,
) -> None:
    class BrokenError(Exception):
        pass

    async def failing() -> AsyncIterator[str]:
        yield SENTENCES[0]
        raise BrokenError

    with pytest.raises(BrokenError):
        await Speaker(synthesizer).speak_stream(failing())
