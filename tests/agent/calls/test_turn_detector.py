"""The turn model as the recognizer asks it: 48 kHz caller frames in, the last 8 s kept at 16 kHz, a verdict
off the event loop at the ask's threshold; silence decides when the model cannot be run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pytest
from livekit import rtc

from agent.calls.loaded import ANSWER_AFTER_S, MAX_TURN_WAIT_S, TURN_ASKS, load_turn_model
from agent.calls.turn_detector import RecentAudio, TurnJudge
from bench.pauses import ASKED_AFTER_S, speech_of
from pipelines.audio import STT_SAMPLE_RATE, Pcm, decode
from tests.agent.calls.caller import RATE, to_call_rate

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipelines.turn_end import SmartTurn
    from tests.conftest import Clip


@pytest.fixture(scope="module")
def model() -> SmartTurn:
    loaded = load_turn_model()
    assert loaded is not None
    return loaded


@pytest.fixture(scope="module")
def judge(model: SmartTurn) -> Iterator[TurnJudge]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield TurnJudge(
            model, executor, asks=TURN_ASKS, answer_after_s=ANSWER_AFTER_S, max_wait_s=MAX_TURN_WAIT_S
        )


def _heard(samples: np.ndarray) -> RecentAudio:
    recent = RecentAudio()
    for i in range(0, len(samples) - 959, 960):  # 20 ms frames at 48 kHz, as the WebRTC bridge sends
        recent.push(rtc.AudioFrame(samples[i : i + 960].tobytes(), RATE, 1, 960))
    return recent


async def test_a_pause_mid_sentence_is_unfinished_and_the_end_is_finished(
    judge: TurnJudge, corpus: list[Clip]
) -> None:
    clip = next(c for c in corpus if c.path.name == "1089-134686-0013.flac")
    pcm = decode(clip.path.read_bytes())
    speech = speech_of(pcm.samples)
    pause = speech.pauses[0][0] if speech.pauses[0][0] > STT_SAMPLE_RATE else speech.pauses[1][0]
    heard = int(ASKED_AFTER_S * STT_SAMPLE_RATE)
    first_threshold = TURN_ASKS[0][1]
    mid = _heard(to_call_rate(Pcm(pcm.samples[: pause + heard], pcm.sample_rate)))
    end = _heard(to_call_rate(Pcm(pcm.samples[: speech.end + heard], pcm.sample_rate)))
    assert not await judge.finished(mid, first_threshold)
    assert not await judge.finished(mid, TURN_ASKS[-1][1])
    assert await judge.finished(end, first_threshold)


async def test_only_the_last_eight_seconds_are_kept() -> None:
    recent = _heard((np.random.default_rng(1).standard_normal(20 * RATE) * 1000).astype(np.int16))
    assert 8.0 <= recent.seconds < 8.0 + 1000 / STT_SAMPLE_RATE
    assert len(recent.samples()) == round(recent.seconds * STT_SAMPLE_RATE)
    recent.clear()
    assert recent.seconds == 0
    assert len(recent.samples()) == 0


async def test_silence_decides_when_the_model_cannot_be_asked(model: SmartTurn, corpus: list[Clip]) -> None:
    clip = next(c for c in corpus if c.path.name == "1089-134686-0013.flac")
    pcm = decode(clip.path.read_bytes())
    pause = _heard(to_call_rate(Pcm(pcm.samples[: 2 * STT_SAMPLE_RATE], pcm.sample_rate)))
    executor = ThreadPoolExecutor(max_workers=1)
    stopped = TurnJudge(
        model, executor, asks=TURN_ASKS, answer_after_s=ANSWER_AFTER_S, max_wait_s=MAX_TURN_WAIT_S
    )
    executor.shutdown()  # the process is shutting down
    assert await stopped.finished(pause, 0.99)
    assert await stopped.finished(RecentAudio(), 0.99)  # nothing heard: nothing to wait for
