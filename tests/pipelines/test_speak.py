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
from pipelines.speak import PAD_MS, PhraseCache, Speaker
from pipelines.tts import Synthesizer, TTSError
from tests.counting_voice import CountingVoice

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


PREFACE = "You are talking to an AI assistant."


async def test_a_preface_is_said_first_and_synthesized_once_for_turns_at_the_same_time(
    synthesizer: PiperSynthesizer, transcriber: WhisperTranscriber
) -> None:
    """Two notes starting with the same preface at once (two first contacts): the preface is synthesized
    once, both notes say it before their reply."""
    voice = CountingVoice(synthesizer)
    speaker = Speaker(synthesizer)
    notes = await asyncio.gather(
        speaker.speak(SENTENCES[0], voice, preface=PREFACE),
        speaker.speak(SENTENCES[1], voice, preface=PREFACE),
    )
    assert voice.times(PREFACE) == 1
    norm = EnglishTextNormalizer()
    for note, reply in zip(notes, SENTENCES[:2], strict=True):
        assert (note.preface, note.text) == (PREFACE, reply.strip())
        assert note.says == f"{PREFACE}\n\n{reply.strip()}"
        heard = norm(transcriber.transcribe(decode(note.audio)).text)
        assert jiwer.wer(norm(note.says), heard) < 0.15
        assert heard.startswith(norm(PREFACE))


class _FailingOnce(CountingVoice):
    """The real voice, except that its first synthesis fails (an engine error)."""

    async def stream(self, text: str) -> AsyncIterator[Pcm]:
        if not self.texts:
            self.texts.append(text)
            raise TTSError("piper: injected")
        async for clip in super().stream(text):
            yield clip


async def test_the_phrase_cache_keeps_no_failure_and_stays_within_its_bound(
    synthesizer: PiperSynthesizer,
) -> None:
    other = "Your call is important to us, please hold on."
    sizes = [(await PhraseCache().spoken(synthesizer, t)).samples.nbytes for t in (PREFACE, other)]
    bound = int(max(sizes) * 1.3)  # room for one of them, never both (Piper's lengths vary a little)
    assert sum(sizes) > bound
    phrases, voice = PhraseCache(max_bytes=bound), _FailingOnce(synthesizer)
    with pytest.raises(TTSError):
        await phrases.spoken(voice, PREFACE)
    assert phrases.size_bytes == 0  # a failure is not kept: the next turn tries again
    kept = await phrases.spoken(voice, PREFACE)
    assert await phrases.spoken(voice, PREFACE) is kept
    assert voice.times(PREFACE) == 2
    assert phrases.size_bytes == kept.samples.nbytes
    newer = await phrases.spoken(voice, other)
    assert phrases.size_bytes == newer.samples.nbytes  # the least recently used went
    await phrases.spoken(voice, PREFACE)
    assert voice.times(PREFACE) == 3
    assert phrases.size_bytes <= bound
    too_small = PhraseCache(max_bytes=1000)
    assert (await too_small.spoken(voice, PREFACE)).duration_s > 1  # said, but not kept
    assert too_small.size_bytes == 0


async def test_a_turn_cancelled_while_waiting_for_a_phrase_leaves_it_to_the_others(
    synthesizer: PiperSynthesizer,
) -> None:
    """A takeover cancels one turn while the phrase it asked for is being synthesized: the other turn
    waiting for it still gets it, and it was synthesized once."""
    voice, phrases = CountingVoice(synthesizer), PhraseCache()
    first = asyncio.create_task(phrases.spoken(voice, PREFACE))
    second = asyncio.create_task(phrases.spoken(voice, PREFACE))
    await asyncio.wait_for(voice.asked.wait(), 10)  # both are waiting once the synthesis began
    first.cancel()
    pcm = await asyncio.wait_for(second, 10)
    assert first.cancelled()
    assert pcm.duration_s > 1
    assert voice.times(PREFACE) == 1
    assert await phrases.spoken(voice, PREFACE) is pcm
