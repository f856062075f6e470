"""The call's recognizer on its own, as the session feeds it: real Silero VAD, tiny.en and Smart Turn, the
caller's audio pushed at real-time pace as 20 ms frames at 48 kHz, then the room's own quiet (the turn model
hears digital silence as far less finished than a real pause). The transcriber is the real one, wrapped to
record when each transcription starts."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import numpy as np
from livekit import rtc
from livekit.agents import stt
from structlog.testing import capture_logs

from agent.calls.loaded import MAX_TURN_WAIT_S
from agent.calls.stt import UTTERANCE_MAX_S, WhisperSTT
from bench.pauses import speech_of
from pipelines.audio import STT_SAMPLE_RATE, Pcm, decode
from tests.agent.calls.caller import RATE, to_call_rate
from tests.agent.calls.hearing import words

if TYPE_CHECKING:
    from agent.calls.loaded import CallModels
    from pipelines.stt import Transcript, WhisperTranscriber
    from tests.conftest import Clip

FRAME = RATE // 50


class Recorded:
    """The real transcriber; `started` holds when each transcription began (monotonic clock), `seconds` how
    much audio each was given."""

    def __init__(self, inner: WhisperTranscriber) -> None:
        self._inner = inner
        self.started: list[float] = []
        self.seconds: list[float] = []

    def transcribe(self, pcm: Pcm) -> Transcript:
        self.started.append(time.monotonic())
        self.seconds.append(pcm.duration_s)
        return self._inner.transcribe(pcm)


def _recognizer(models: CallModels, transcriber: Recorded) -> WhisperSTT:
    judge = models.turn_judge()
    assert judge is not None
    return WhisperSTT(transcriber, models.executor, models.vad, judge=judge)  # type: ignore[arg-type]


def _with_room(clip: Clip, *, until_s: float | None, quiet_s: float) -> np.ndarray:
    """The clip (up to `until_s` of it), then `quiet_s` of its own quietest stretch, looped."""
    samples = decode(clip.path.read_bytes()).samples
    speech = speech_of(samples)
    cut = len(samples) if until_s is None else int(until_s * STT_SAMPLE_RATE)
    start, end = speech.pauses[0] if speech.pauses else (speech.end, len(samples))
    room = np.resize(samples[start:end], int(quiet_s * STT_SAMPLE_RATE))
    return to_call_rate(Pcm(np.concatenate([samples[:cut], room]), STT_SAMPLE_RATE))


async def _hear(
    recognizer: WhisperSTT, samples: np.ndarray, *, real_time: bool = True
) -> list[tuple[float, stt.SpeechEvent]]:
    """Every event of the stream with when it arrived, the audio pushed at the pace a call delivers it (or as
    fast as the VAD takes it)."""
    stream = recognizer.stream()
    events: list[tuple[float, stt.SpeechEvent]] = []

    async def collect() -> None:
        async for ev in stream:
            events.append((time.monotonic(), ev))

    collector = asyncio.create_task(collect())
    pace = time.monotonic()
    for i in range(0, len(samples) - FRAME + 1, FRAME):
        stream.push_frame(rtc.AudioFrame(samples[i : i + FRAME].tobytes(), RATE, 1, FRAME))
        pace += 0.02
        await asyncio.sleep(max(0.0, pace - time.monotonic()) if real_time else 0)
    stream.end_input()
    await asyncio.wait_for(collector, 60)
    await stream.aclose()
    return events


def _finals(events: list[tuple[float, stt.SpeechEvent]]) -> list[tuple[float, str]]:
    return [
        (at, ev.alternatives[0].text) for at, ev in events if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    ]


def _ends(events: list[tuple[float, stt.SpeechEvent]]) -> list[float]:
    return [at for at, ev in events if ev.type == stt.SpeechEventType.END_OF_SPEECH]


async def test_whisper_starts_in_the_pause_before_the_end_of_speech_and_runs_once(
    call_models: CallModels, corpus: list[Clip]
) -> None:
    clip = next(c for c in corpus if c.path.name == "6930-75918-0000.flac")  # one short sentence
    recorded = Recorded(call_models.transcriber)
    events = await _hear(_recognizer(call_models, recorded), _with_room(clip, until_s=None, quiet_s=1.0))
    (end,) = _ends(events)
    ((_, text),) = _finals(events)
    assert "returned to its place" in words(text)
    assert len(recorded.started) == 1  # the guess started in the pause was the transcript
    assert recorded.started[0] < end  # started at the first ask, before the VAD closed the utterance


async def test_an_unfinished_sentence_is_held_until_the_wait_is_over(
    call_models: CallModels, corpus: list[Clip]
) -> None:
    """The caller stops mid-sentence ("…and to repent, |") and says no more: the words go out once, when the
    maximum wait is over, not at the VAD's end of speech (the turn model hears 0.02-0.06 "finished" there)."""
    clip = next(c for c in corpus if c.path.name == "1089-134686-0013.flac")
    samples = decode(clip.path.read_bytes()).samples
    speech = speech_of(samples)
    pause = next(p for p in speech.pauses if p[0] - speech.start >= STT_SAMPLE_RATE)
    events = await _hear(
        _recognizer(call_models, Recorded(call_models.transcriber)),
        _with_room(clip, until_s=pause[0] / STT_SAMPLE_RATE, quiet_s=MAX_TURN_WAIT_S + 1.0),
    )
    end = _ends(events)[-1]  # (a reader's breath before it may end an utterance too: held as well)
    ((at, text),) = _finals(events)
    assert "cast sin" in words(text)
    assert "repent" in words(text)
    assert "wish" not in words(text)
    # The VAD ends the utterance 0.3 s into the pause; the words wait for the rest of the 2 s.
    assert at - end >= MAX_TURN_WAIT_S - 0.5


async def test_a_caller_who_never_pauses_costs_one_minute_of_transcription(
    call_models: CallModels, corpus: list[Clip]
) -> None:
    """Hostile or not, 75 s of speech without a pause the VAD would end it on: what the pause after it
    starts transcribing is the utterance's first minute (as the VAD keeps it), not all of it."""
    parts, total = [], 0
    for clip in (c for c in corpus if c.language == "en"):
        samples = decode(clip.path.read_bytes()).samples
        speech = speech_of(samples)
        edges = [speech.start, *(x for pause in speech.pauses for x in pause), speech.end]
        for start, end in zip(edges[::2], edges[1::2], strict=True):  # the clip without its pauses
            parts.append(samples[start:end])
            total += end - start
        if total >= 75 * STT_SAMPLE_RATE:
            break
    talk = np.concatenate(parts)
    quiet = np.zeros(STT_SAMPLE_RATE * 3, np.float32)
    recorded = Recorded(call_models.transcriber)
    events = await _hear(
        _recognizer(call_models, recorded),
        to_call_rate(Pcm(np.concatenate([talk, quiet]), STT_SAMPLE_RATE)),
        real_time=False,
    )
    assert len(_ends(events)) == 1  # one utterance of 75 s
    assert recorded.seconds
    assert max(recorded.seconds) <= UTTERANCE_MAX_S + 0.5
    ((_, text),) = _finals(events)
    assert len(words(text).split()) > 50  # the minute was heard


class FailsFirst(Recorded):
    """The real transcriber, but its first transcription fails (a fault in the model's run)."""

    def transcribe(self, pcm: Pcm) -> Transcript:
        if not self.started:
            self.started.append(time.monotonic())
            raise RuntimeError("injected: the first transcription fails")
        return super().transcribe(pcm)


async def test_an_utterance_that_cannot_be_heard_does_not_deafen_the_call(
    call_models: CallModels, corpus: list[Clip]
) -> None:
    """The first sentence's transcription fails: it is not answered, with a warning, and the next sentence
    is heard and handed over as usual (a failed utterance once made every later one fail with it)."""
    first, second = (
        next(c for c in corpus if c.path.name == name)
        for name in ("1089-134686-0003.flac", "6930-75918-0000.flac")
    )
    audio = np.concatenate(
        [
            _with_room(first, until_s=None, quiet_s=MAX_TURN_WAIT_S + 1.0),
            _with_room(second, until_s=None, quiet_s=1.5),
        ]
    )
    transcriber = FailsFirst(call_models.transcriber)
    with capture_logs() as logs:
        events = await _hear(_recognizer(call_models, transcriber), audio)
    assert len(_ends(events)) >= 2
    ((_, text),) = _finals(events)
    assert "returned to its place" in words(text)
    assert "bertie" not in words(text)
    assert [e["error"] for e in logs if e["event"] == "calls.utterance_unheard"] == ["RuntimeError"]
