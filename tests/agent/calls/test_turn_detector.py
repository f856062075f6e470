"""The Smart Turn stream as the session drives it: 48 kHz caller frames in, the last 8 s kept at 16 kHz, a
prediction off the event loop that agrees with the model on the same audio; flushed between turns."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pytest
from livekit import rtc

from agent.calls.loaded import load_turn_model
from agent.calls.turn_detector import SmartTurnDetector
from bench.pauses import ASKED_AFTER_S, speech_of
from pipelines.audio import STT_SAMPLE_RATE, Pcm, decode
from tests.agent.calls.caller import RATE, to_call_rate

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import Clip


@pytest.fixture(scope="module")
def detector() -> Iterator[SmartTurnDetector]:
    model = load_turn_model()
    assert model is not None
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield SmartTurnDetector(model, executor, threshold=0.5)


def _push(stream: object, samples: np.ndarray) -> None:
    for i in range(0, len(samples) - 959, 960):  # 20 ms frames at 48 kHz, as the WebRTC bridge sends
        frame = rtc.AudioFrame(samples[i : i + 960].tobytes(), RATE, 1, 960)
        stream.push_audio(frame)  # type: ignore[attr-defined]


async def test_a_pause_mid_sentence_is_unfinished_and_the_end_is_finished(
    detector: SmartTurnDetector, corpus: list[Clip]
) -> None:
    clip = next(c for c in corpus if c.path.name == "1089-134686-0013.flac")
    pcm = decode(clip.path.read_bytes())
    speech = speech_of(pcm.samples)
    pause = speech.pauses[0][0] if speech.pauses[0][0] > STT_SAMPLE_RATE else speech.pauses[1][0]
    heard = int(ASKED_AFTER_S * STT_SAMPLE_RATE)
    stream = detector.stream()
    _push(stream, to_call_rate(Pcm(pcm.samples[: pause + heard], pcm.sample_rate)))
    mid = (await stream.predict()).end_of_turn_probability
    stream.flush()
    _push(stream, to_call_rate(Pcm(pcm.samples[: speech.end + heard], pcm.sample_rate)))
    end = (await stream.predict()).end_of_turn_probability
    assert mid < 0.5 <= end
    await stream.aclose()
    assert (await stream.predict()).end_of_turn_probability == 1.0  # closed: as silence alone decides


async def test_only_the_last_eight_seconds_are_kept(detector: SmartTurnDetector) -> None:
    stream = detector.stream()
    _push(stream, (np.random.default_rng(1).standard_normal(20 * RATE) * 1000).astype(np.int16))
    held = sum(len(c) for c in stream._chunks)
    assert 8 * STT_SAMPLE_RATE <= held < 8 * STT_SAMPLE_RATE + 1000
    stream.flush()
    assert not stream._chunks
