"""A LiveKit TTS plugin on our synthesizer (Piper offline): one clip per sentence, pushed as it is ready."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from livekit.agents import tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

if TYPE_CHECKING:
    from pipelines.tts import PiperSynthesizer


class PiperTTS(tts.TTS[None]):
    """Not a streaming TTS: the framework's sentence tokenizer feeds it sentence by sentence
    (`tts.StreamAdapter`), and a multi-sentence text is still spoken as each sentence is synthesized."""

    def __init__(self, synthesizer: PiperSynthesizer) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=synthesizer.sample_rate,
            num_channels=1,
        )
        self._synthesizer = synthesizer

    @property
    def model(self) -> str:
        return "piper"

    @property
    def provider(self) -> str:
        return "leadclose"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _PiperStream(
            tts=self, input_text=text, conn_options=conn_options, synthesizer=self._synthesizer
        )


class _PiperStream(tts.ChunkedStream):
    def __init__(
        self,
        *,
        tts: PiperTTS,
        input_text: str,
        conn_options: APIConnectOptions,
        synthesizer: PiperSynthesizer,
    ) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._synthesizer = synthesizer

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=uuid.uuid4().hex,
            sample_rate=self._synthesizer.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        async for clip in self._synthesizer.stream(self.input_text):
            output_emitter.push(clip.to_int16().tobytes())
        output_emitter.flush()
