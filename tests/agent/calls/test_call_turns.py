"""End of turn on a call: a caller who pauses mid-sentence is heard out (Smart Turn hears the sentence is not
finished), and without the turn model the session falls back to silence alone, with a warning.

Loopback as in test_call.py: aiortc caller, the real call worker, the local Graph and LLM peers. The clip is
LibriSpeech's "If ever he was impelled to cast sin from him and to repent, [pause] the impulse that moved
him was the wish to be her knight.", its natural 0.5 s pause stretched to 1.5 s with the pause's own background
(Smart Turn hears 0.02-0.06 "finished" there, whatever part of the pause it is asked at; silence alone ends the
turn after 0.3 s, and 1.2 s leave the STT time to finish inside the pause even on a busy machine)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from structlog.testing import capture_logs

from agent.calls.loaded import load_turn_model
from agent.calls.session import voice_session
from agent.calls.stt import WhisperSTT
from bench.pauses import paused_clip
from pipelines.audio import STT_SAMPLE_RATE, Pcm
from tests.agent.calls.caller import to_call_rate
from tests.agent.calls.hearing import words
from tests.agent.calls.stack import call_stack, llm_user_texts

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from tests.conftest import Clip
    from tests.redis_server import RedisServer


PAUSE_S = 1.5  # < the 2 s Smart Turn waits for a caller it hears unfinished


def _paused(corpus: list[Clip]) -> np.ndarray:
    clip = next(c for c in corpus if c.path.name == "1089-134686-0013.flac")
    samples, _ = paused_clip(clip.path, PAUSE_S)
    return to_call_rate(Pcm(samples, STT_SAMPLE_RATE))


async def _asked(redis: Redis, url: str, models: CallModels, clip: np.ndarray, call_id: str) -> list[str]:
    """What the LLM was asked during one turn of a call in which the caller says `clip`, and whether the
    agent spoke before the caller had finished."""
    async with call_stack(redis, url, models) as stack, stack.call(call_id) as caller:
        await caller.wait_quiet()  # the greeting
        greeted = len(stack.llm.bodies)
        started = caller.last_speech() or 0.0
        answer = await caller.turn(clip)
        early = caller.first_speech_after(started)
        asked = [words(t) for t in llm_user_texts(stack.llm)[greeted:]]
        return [*asked, "interrupted" if early is not None and early < answer.said_until else "heard out"]


async def test_a_caller_pausing_mid_sentence_is_not_interrupted(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, corpus: list[Clip]
) -> None:
    *asked, verdict = await _asked(redis, redis_server.url, call_models, _paused(corpus), "wacid.pause")
    assert verdict == "heard out"
    # One question, the whole sentence: both sides of the pause in it.
    assert len(asked) == 1, asked
    assert "repent" in asked[0]
    assert "wish to be her" in asked[0]  # ("knight" is heard as "night" at times)


async def test_without_the_turn_model_turns_end_on_silence_with_a_warning(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, corpus: list[Clip], tmp_path: Path
) -> None:
    with capture_logs() as logs:
        assert load_turn_model(tmp_path / "absent.onnx") is None
        (tmp_path / "altered.onnx").write_bytes(b"not the model")
        assert load_turn_model(tmp_path / "altered.onnx") is None
    assert [(e["event"], e["log_level"], e["reason"]) for e in logs] == [
        ("calls.turn_model_unavailable", "warning", "missing"),
        ("calls.turn_model_unavailable", "warning", "checksum"),
    ]
    silence_only = dataclasses.replace(call_models, turn_model=None, turn_executor=None)
    no_llm = None  # the session's turn detection is decided before any LLM is involved
    with_model = voice_session(call_models, no_llm, call_models.synthesizer, silence_timeout_s=5).stt  # type: ignore[arg-type]
    without = voice_session(silence_only, no_llm, call_models.synthesizer, silence_timeout_s=5).stt  # type: ignore[arg-type]
    assert isinstance(with_model, WhisperSTT)
    assert with_model.judge is not None
    assert isinstance(without, WhisperSTT)
    assert without.judge is None
    # The call still works, and the same pause now ends the caller's turn: the first question is the half.
    *asked, _ = await _asked(redis, redis_server.url, silence_only, _paused(corpus), "wacid.silence")
    assert asked
    assert "repent" in asked[0]
    assert "wish" not in asked[0]
