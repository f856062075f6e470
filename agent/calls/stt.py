"""A LiveKit STT plugin on our faster-whisper transcriber, streaming so that it can decide *when* words go out.

Whisper is not a streaming recognizer, so the stream cuts the caller's audio into utterances with the
session's VAD (as livekit's `StreamAdapter` would) and transcribes each whole. It also decides when the words
go out, which is when the session ends the caller's turn (the session's own turn detection is plain "vad": it
commits as soon as a final transcript arrives after the end of speech):

- **Start early.** At 200 ms of silence the turn model is asked (`TurnJudge`) and whisper starts on the
  utterance at the same moment, on the two cores side by side, instead of after the VAD's end of speech. If the
  caller goes on, both are dropped.
- **Hold an unfinished sentence.** When the turn model hears the pause as mid-sentence, the words are held.
  Handing them to the session would make them the whole turn at the next end of speech, before the rest of
  the sentence is transcribed. The held audio is transcribed again together with what the caller says next
  (one sentence, one transcript). A pause that goes on is judged again at the later asks; after the last, the
  held words go out when the maximum wait is over.

Audio comes at whatever rate the call delivers (48 kHz from WhatsApp's Opus) and is resampled to 16 kHz here.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

import numpy as np
import structlog
from livekit import rtc
from livekit.agents import stt, utils, vad
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from agent.calls.turn_detector import RecentAudio
from pipelines.audio import Pcm
from pipelines.stt import Transcript, TranscriptStatus
from pipelines.turn_end import reads_unfinished

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from livekit.agents.utils import AudioBuffer

    from agent.calls.turn_detector import TurnJudge
    from pipelines.stt import WhisperTranscriber

log = structlog.get_logger()

WHISPER_RATE = 16_000
HELD_MAX_S = 20.0  # a sentence held longer than this goes out as it is (bounds what one transcription costs)
# What is kept of one utterance, as Silero's VAD keeps (its `max_buffered_speech`): a caller who talks for ten
# minutes without a pause costs one transcription of a minute, not of ten, on the executor all calls share.
UTTERANCE_MAX_S = 60.0


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


def _final(transcript: Transcript, *, speech_end: float | None = None) -> stt.SpeechEvent:
    return stt.SpeechEvent(
        type=stt.SpeechEventType.FINAL_TRANSCRIPT,
        request_id=uuid.uuid4().hex,
        alternatives=[
            stt.SpeechData(language=LanguageCode(transcript.language or "en"), text=transcript.text)
        ],
        speech_end_time=speech_end,
    )


class WhisperSTT(stt.STT[None]):
    """One per call session. The blocking transcription runs on the injected executor; without a `judge`
    (no turn model) every end of speech ends the turn, as silence alone decides."""

    def __init__(
        self,
        transcriber: WhisperTranscriber,
        executor: Executor,
        vad_: vad.VAD,
        *,
        judge: TurnJudge | None,
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self._transcriber = transcriber
        self._executor = executor
        self._vad = vad_
        self.judge = judge

    @property
    def model(self) -> str:
        return "faster-whisper"

    @property
    def provider(self) -> str:
        return "leadclose"

    async def transcribe(self, frames: list[rtc.AudioFrame]) -> Transcript:
        pcm = to_whisper_pcm(frames)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transcriber.transcribe, pcm)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        frames = buffer if isinstance(buffer, list) else [buffer]
        # Not understood (silence, hallucination guard): an empty final transcript starts no turn.
        return _final(await self.transcribe(frames))

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> WhisperStream:
        return WhisperStream(self, self._vad, conn_options)


class WhisperStream(stt.RecognizeStream):
    """One session's utterances: the frames of the one being spoken, what was started in its pause, and the
    sentence held back while the caller may still go on. At most one utterance is being decided at a time
    (`_pending`); the next waits for it, so a held sentence is always joined in order."""

    def __init__(self, owner: WhisperSTT, vad_: vad.VAD, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=owner, conn_options=conn_options)
        self._owner = owner
        self._vad = vad_
        self._judge = owner.judge
        self._recent = RecentAudio()
        self._speaking = False
        self._frames: list[rtc.AudioFrame] = []  # the utterance so far (the VAD's prefix padding included)
        self._frames_s = 0.0  # their length, never past UTTERANCE_MAX_S
        self._guess: asyncio.Future[Transcript] | None = None  # whisper, started at the first ask
        self._verdict: asyncio.Future[bool] | None = None  # the turn model at the first ask
        self._held: list[
            rtc.AudioFrame
        ] = []  # an unfinished sentence's audio, transcribed again with the rest
        self._held_words: Transcript | None = None
        self._waiting: asyncio.Task[None] | None = None  # the later asks and the maximum wait of a held pause
        self._pending: asyncio.Task[None] | None = None  # the last utterance being decided

    async def _run(self) -> None:
        vad_stream = self._vad.stream()

        async def forward() -> None:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    vad_stream.flush()
                    continue
                vad_stream.push_frame(item)
                if self._judge is not None:
                    self._recent.push(item)
            vad_stream.end_input()

        tasks = [asyncio.create_task(forward()), asyncio.create_task(self._listen(vad_stream))]
        try:
            await asyncio.gather(*tasks)
        finally:
            self._stop_waiting()
            self._drop_early()
            pending = [self._pending] if self._pending is not None else []
            await utils.aio.cancel_and_wait(*tasks, *pending)
            await vad_stream.aclose()

    async def _listen(self, vad_stream: vad.VADStream) -> None:
        async for ev in vad_stream:
            if ev.type == vad.VADEventType.START_OF_SPEECH:
                self._stop_waiting()  # the caller goes on: a held sentence waits for the rest
                self._drop_early()
                self._speaking = True
                self._frames, self._frames_s = [], 0.0
                self._keep(ev.frames)
                self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.START_OF_SPEECH))
            elif ev.type == vad.VADEventType.INFERENCE_DONE and self._speaking:
                self._keep(ev.frames)
                if ev.raw_accumulated_silence == 0:
                    self._drop_early()  # still talking
                elif self._verdict is None and ev.raw_accumulated_silence >= self._first_ask_s():
                    self._start_early()
            elif ev.type == vad.VADEventType.END_OF_SPEECH:
                self._speaking = False
                speech_end = time.time() - ev.silence_duration - ev.inference_duration
                self._event_ch.send_nowait(
                    stt.SpeechEvent(stt.SpeechEventType.END_OF_SPEECH, speech_end_time=speech_end)
                )
                guess, verdict = self._guess, self._verdict
                self._guess = self._verdict = None
                self._pending = asyncio.create_task(
                    self._utterance_ended(self._pending, list(ev.frames), speech_end, guess, verdict)
                )
        if self._pending is not None:
            await self._pending

    def _keep(self, frames: list[rtc.AudioFrame]) -> None:
        """The utterance's first UTTERANCE_MAX_S, the part the VAD hands over at its end too."""
        for frame in frames:
            if self._frames_s >= UTTERANCE_MAX_S:
                return
            self._frames.append(frame)
            self._frames_s += frame.duration

    def _first_ask_s(self) -> float:
        return self._judge.asks[0][0] if self._judge is not None else float("inf")

    def _start_early(self) -> None:
        """The first ask: the turn model and whisper side by side (whisper only when nothing is being
        decided: a guess must start from what is held)."""
        assert self._judge is not None
        self._verdict = asyncio.ensure_future(self._judge.finished(self._recent, self._judge.asks[0][1]))
        if self._pending is None or self._pending.done():
            self._guess = asyncio.ensure_future(self._owner.transcribe([*self._held, *self._frames]))

    def _drop_early(self) -> None:
        for job in (self._guess, self._verdict):
            if job is not None:
                job.cancel()  # a transcription runs on in the executor; its result is not wanted
        self._guess = self._verdict = None

    async def _utterance_ended(
        self,
        before: asyncio.Task[None] | None,
        frames: list[rtc.AudioFrame],
        speech_end: float,
        guess: asyncio.Future[Transcript] | None,
        verdict: asyncio.Future[bool] | None,
    ) -> None:
        """Runs beside the VAD (the caller may go on meanwhile), after the utterance before it was decided. An
        utterance that cannot be heard (its transcription or verdict failed) is not answered, with a warning;
        words held before it go out, and the call goes on hearing the next one."""
        if before is not None:
            await asyncio.wait([before])  # decided, or failed and logged: this one is decided on its own
        try:
            await self._decide(frames, speech_end, guess, verdict)
        except Exception as exc:  # any failure of the models: the caller is still heard after it
            log.warning("calls.utterance_unheard", error=type(exc).__name__)
            if self._held_words is not None and not self._speaking:
                self._let_go(self._held_words, speech_end, "unheard after it")

    async def _decide(
        self,
        frames: list[rtc.AudioFrame],
        speech_end: float,
        guess: asyncio.Future[Transcript] | None,
        verdict: asyncio.Future[bool] | None,
    ) -> None:
        audio = [*self._held, *frames]
        words = await (guess if guess is not None else self._owner.transcribe(audio))
        if words.status is not TranscriptStatus.OK and self._held_words is not None:
            audio, words = self._held, self._held_words  # a cough after a held sentence changes nothing
        if not words.text:
            return  # nothing understood: no turn
        finished = True if verdict is None else await verdict and not reads_unfinished(words.text)
        if finished and self._judge is not None:  # a breath between clauses: the caller may still go on
            await asyncio.sleep(max(0.0, speech_end + self._judge.answer_after_s - time.time()))
        if (finished and not self._speaking) or sum(f.duration for f in audio) >= HELD_MAX_S:
            self._let_go(words, speech_end, "first ask" if verdict is not None else "silence")
            return
        self._held, self._held_words = audio, words
        if not self._speaking and self._judge is not None:
            self._waiting = asyncio.create_task(self._wait_out(self._judge, words, speech_end))

    async def _wait_out(self, judge: TurnJudge, words: Transcript, speech_end: float) -> None:
        """A held pause: asked again at the later asks; the words go out at the first "finished", or when the
        maximum wait is over. Cancelled when the caller speaks again."""
        reason = "wait"
        for after_s, threshold in judge.asks[1:]:
            await asyncio.sleep(max(0.0, speech_end + after_s - time.time()))
            if await judge.finished(self._recent, threshold) and not reads_unfinished(words.text):
                reason = f"ask at {after_s:.1f} s"
                break
        else:
            await asyncio.sleep(max(0.0, speech_end + judge.max_wait_s - time.time()))
        self._waiting = None
        self._let_go(words, speech_end, reason)

    def _let_go(self, words: Transcript, speech_end: float, reason: str) -> None:
        """The words are the turn: the session commits it. The turn model starts afresh on the next one."""
        log.debug("calls.turn_ended", by=reason, after_speech_ms=round((time.time() - speech_end) * 1000))
        self._held, self._held_words = [], None
        self._recent.clear()
        self._event_ch.send_nowait(_final(words, speech_end=speech_end))

    def _stop_waiting(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None
