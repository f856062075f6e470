"""A LiveKit TTS plugin on our synthesizers (the tenant's voice: Piper, hosted or espeak-ng), streaming a sentence
at a time.

The framework's generic adapter for non-streaming TTS holds a sentence back until the next one has begun
(its tokenizer cannot know a sentence is over before more text follows): on a call that makes the first
audio wait for the LLM's *second* sentence. The agent's `llm_node` only ever yields whole sentences, so this
plugin streams and synthesizes every complete sentence the moment it arrives.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from livekit.agents import tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from pipelines.sentences import split_at_sentence_end

if TYPE_CHECKING:
    from pipelines.tts import Synthesizer


class SynthesizerTTS(tts.TTS[None]):
    """`stream()` speaks each sentence as soon as it is complete; `synthesize()` speaks one whole text."""

    def __init__(self, synthesizer: Synthesizer) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=True),
            sample_rate=synthesizer.sample_rate,
            num_channels=1,
        )
        self._synthesizer = synthesizer

    @property
    def model(self) -> str:
        return self._synthesizer.engine

    @property
    def provider(self) -> str:
        return "leadclose"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _ChunkedStream(
            tts=self, input_text=text, conn_options=conn_options, synthesizer=self._synthesizer
        )

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.SynthesizeStream:
        return _SentenceStream(tts=self, conn_options=conn_options, synthesizer=self._synthesizer)


def _open(output_emitter: tts.AudioEmitter, synthesizer: Synthesizer, *, stream: bool) -> None:
    output_emitter.initialize(
        request_id=uuid.uuid4().hex,
        sample_rate=synthesizer.sample_rate,
        num_channels=1,
        mime_type="audio/pcm",
        stream=stream,
    )


async def _speak(synthesizer: Synthesizer, text: str, output_emitter: tts.AudioEmitter) -> None:
    async for clip in synthesizer.stream(text):
        output_emitter.push(clip.to_int16().tobytes())
    output_emitter.flush()


class _ChunkedStream(tts.ChunkedStream):
    def __init__(
        self,
        *,
        tts: SynthesizerTTS,
        input_text: str,
        conn_options: APIConnectOptions,
        synthesizer: Synthesizer,
    ) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._synthesizer = synthesizer

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        _open(output_emitter, self._synthesizer, stream=False)
        await _speak(self._synthesizer, self.input_text, output_emitter)


class _SentenceStream(tts.SynthesizeStream):
    """Text arrives in pieces that end where a sentence may end (the agent's `llm_node`, or one whole text
    from `session.say`); each complete sentence is spoken at once, the rest at a flush or the end of input."""

    def __init__(
        self, *, tts: SynthesizerTTS, conn_options: APIConnectOptions, synthesizer: Synthesizer
    ) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._synthesizer = synthesizer

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        _open(output_emitter, self._synthesizer, stream=True)
        output_emitter.start_segment(segment_id=uuid.uuid4().hex)
        pending = ""
        async for piece in self._input_ch:
            if isinstance(piece, self._FlushSentinel):
                ready, pending = pending, ""
            else:
                ready, pending = split_at_sentence_end(pending + piece, complete=True)
            if ready.strip():  # `end_input()` flushes, so the last piece is spoken here too
                self._mark_started()
                await _speak(self._synthesizer, ready, output_emitter)
