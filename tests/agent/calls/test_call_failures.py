"""Each way a call can go wrong has a defined outcome, the caller hears why where there is someone to hear it,
and the call ends with `terminate` (or `reject` when it was never answered). Same loopback set-up as
test_call.py: real webhook ingress, call worker, Redis, models; local Graph and LLM peers; aiortc caller."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from typing import TYPE_CHECKING

from agent.calls.agent import CallTexts
from agent.calls.call import CallConfig
from agent.worker import install_stop_signals
from tests.agent.calls.caller import Caller, to_whisper
from tests.agent.calls.conftest import speech
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import call_event, call_stack
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agent.calls.models import CallModels
    from pipelines.stt import WhisperTranscriber
    from tests.conftest import Clip
    from tests.redis_server import RedisServer


def _short_clip(corpus: list[Clip]) -> Clip:
    return next(c for c in corpus if c.path.name == "1089-134686-0001.flac")


async def test_an_offer_without_a_sha256_fingerprint_is_rejected_and_never_answered(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack:
        caller = Caller()
        offer = await caller.offer()
        sha1_only = re.sub(
            r"a=fingerprint:sha-256 \S+", "a=fingerprint:sha-1 " + ":".join(["AB"] * 20), offer
        )
        assert "sha-256" not in sha1_only
        await stack.post(call_event("wacid.sdp", "connect", session={"sdp_type": "offer", "sdp": sha1_only}))
        await eventually(lambda: stack.outcomes().get("bad_sdp") == 1, 10)
        assert stack.graph.actions_of("wacid.sdp") == ["reject"]
        await caller.hang_up()


async def test_a_terminate_that_arrives_before_the_connect_leaves_the_call_unanswered(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack:
        caller = Caller()
        offer = await caller.offer()
        await stack.post(call_event("wacid.gone", "terminate", status="COMPLETED"))
        await stack.post(call_event("wacid.gone", "connect", session={"sdp_type": "offer", "sdp": offer}))
        await eventually(lambda: stack.outcomes().get("ended_before_accept") == 1, 10)
        assert stack.graph.actions_of("wacid.gone") == []
        await caller.hang_up()


async def test_graph_refusing_pre_accept_with_a_calling_error_still_terminates(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack:
        caller = Caller()
        offer = await caller.offer()
        stack.graph.fail_next(138006, 400)  # a 138xxx calling error on pre_accept: final, not retried
        await stack.post(call_event("wacid.refused", "connect", session={"sdp_type": "offer", "sdp": offer}))
        await eventually(lambda: stack.outcomes().get("graph_refused") == 1, 10)
        assert stack.graph.actions_of("wacid.refused") == [
            "terminate"
        ]  # the refused pre_accept is not recorded
        assert [r.path.rsplit("/", 1)[-1] for r in stack.graph.requests] == ["calls", "calls"]
        await caller.hang_up()


async def test_a_silent_caller_is_told_goodbye_and_the_call_is_ended(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, transcriber: WhisperTranscriber
) -> None:
    config = CallConfig(silence_timeout_s=2.0)
    async with call_stack(redis, redis_server.url, call_models, config=config) as stack:
        caller = Caller()
        await stack.ring(caller, "wacid.silent")
        await eventually(lambda: stack.outcomes().get("caller_silent") == 1, 30)
        heard = transcriber.transcribe(to_whisper(caller.audio_between(0))).text.lower()
        assert "goodbye" in heard or "good bye" in heard
        assert stack.graph.actions_of("wacid.silent") == ["pre_accept", "accept", "terminate"]
        assert stack.llm.bodies == []  # nothing was said, nothing was asked
        await caller.hang_up()


async def test_an_llm_timeout_mid_call_gets_an_apology_and_a_callback_offer(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    corpus: list[Clip],
    transcriber: WhisperTranscriber,
) -> None:
    async with call_stack(redis, redis_server.url, call_models, llm_timeout_s=0.5) as stack:
        stack.llm.delay_s = 3.0
        caller = Caller()
        await stack.ring(caller, "wacid.slow")
        await caller.wait_quiet()
        spoke_until = await caller.say(speech(_short_clip(corpus)))
        await eventually(lambda: caller.first_speech_after(spoke_until) is not None, 20)
        await caller.wait_quiet()
        heard = transcriber.transcribe(to_whisper(caller.audio_between(spoke_until))).text.lower()
        assert sounds_like(heard, CallTexts().apology)
        assert len(stack.llm.bodies) == 1  # asked once, no retry storm while the caller waits
        await stack.hang_up(caller, "wacid.slow")
        await eventually(lambda: stack.outcomes().get("caller_hung_up") == 1, 20)


async def test_sigterm_during_a_call_ends_it_with_a_message_and_terminate(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, transcriber: WhisperTranscriber
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack:
        install_stop_signals(stack.stop)  # the handler `leadclose calls` installs
        try:
            caller = Caller()
            await stack.ring(caller, "wacid.drain")
            await caller.wait_quiet()
            heard_before = len(caller.heard)
            os.kill(os.getpid(), signal.SIGTERM)
            await eventually(lambda: stack.outcomes().get("drained") == 1, 30)
        finally:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        assert len(caller.heard) > heard_before
        heard = transcriber.transcribe(to_whisper(caller.audio_between(caller.heard[heard_before].at))).text
        assert sounds_like(heard, "call again")
        assert stack.graph.actions_of("wacid.drain") == ["pre_accept", "accept", "terminate"]
        await caller.hang_up()


async def test_a_call_over_capacity_is_rejected_instead_of_left_ringing(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models, capacity=1) as stack:
        first, second = Caller(), Caller()
        await stack.ring(first, "wacid.first")
        offer = await second.offer()
        await stack.post(call_event("wacid.second", "connect", session={"sdp_type": "offer", "sdp": offer}))
        await eventually(lambda: stack.outcomes().get("over_capacity") == 1, 10)
        assert stack.graph.actions_of("wacid.second") == ["reject"]
        assert stack.graph.actions_of("wacid.first") == ["pre_accept", "accept"]  # the first call goes on
        await stack.hang_up(first, "wacid.first")
        await eventually(lambda: stack.outcomes().get("caller_hung_up") == 1, 20)
        await second.hang_up()
