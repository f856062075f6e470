"""Each way a call can go wrong has a defined outcome, the caller hears why where there is someone to hear it,
and the call ends with `terminate` (or `reject` when it was never answered). Same loopback set-up as
test_call.py: real webhook ingress, call worker, Redis, models; local Graph and LLM peers; aiortc caller."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from typing import TYPE_CHECKING

from agent.calls.call import CallConfig
from agent.messages.worker import install_stop_signals
from pipelines.texts import ENGLISH
from tests.agent.calls.caller import Caller
from tests.agent.calls.conftest import speech
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import call_event, call_stack
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from tests.conftest import Clip
    from tests.redis_server import RedisServer


def _short_clip(corpus: list[Clip]) -> Clip:
    return next(c for c in corpus if c.path.name == "1089-134686-0001.flac")


async def test_an_offer_without_a_sha256_fingerprint_is_rejected_and_never_answered(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack, Caller() as caller:
        sha1_only = re.sub(
            r"a=fingerprint:sha-256 \S+", "a=fingerprint:sha-1 " + ":".join(["AB"] * 20), await caller.offer()
        )
        assert "sha-256" not in sha1_only
        await stack.connect("wacid.sdp", sha1_only)
        await eventually(lambda: stack.outcomes().get("bad_sdp") == 1, 10)
        assert stack.graph.actions_of("wacid.sdp") == ["reject"]


async def test_a_terminate_that_arrives_before_the_connect_leaves_the_call_unanswered(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack, Caller() as caller:
        offer = await caller.offer()
        await stack.post(call_event("wacid.gone", "terminate", status="COMPLETED"))
        await stack.connect("wacid.gone", offer)
        await eventually(lambda: stack.outcomes().get("ended_before_accept") == 1, 10)
        assert stack.graph.actions_of("wacid.gone") == []


async def test_graph_refusing_pre_accept_with_a_calling_error_still_terminates(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack, Caller() as caller:
        stack.graph.fail_next(138006, 400)  # a 138xxx calling error on pre_accept: final, not retried
        await stack.connect("wacid.refused", await caller.offer())
        await eventually(lambda: stack.outcomes().get("graph_refused") == 1, 10)
        # The refused pre_accept is not recorded as an action, but it was requested.
        assert stack.graph.actions_of("wacid.refused") == ["terminate"]
        assert [r.path.rsplit("/", 1)[-1] for r in stack.graph.requests] == ["calls", "calls"]


async def test_a_silent_caller_is_told_goodbye_and_the_call_is_ended(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    config = CallConfig(silence_timeout_s=2.0)
    async with (
        call_stack(redis, redis_server.url, call_models, config=config) as stack,
        stack.call("wacid.silent") as caller,
    ):
        await eventually(lambda: stack.outcomes().get("caller_silent") == 1, 30)
        heard = caller.hear()
        assert "goodbye" in heard or "good bye" in heard
        assert stack.graph.actions_of("wacid.silent") == ["pre_accept", "accept", "terminate"]
        assert stack.llm.bodies == []  # nothing was said, nothing was asked


async def test_an_llm_timeout_mid_call_gets_an_apology_and_a_callback_offer(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, corpus: list[Clip]
) -> None:
    async with call_stack(redis, redis_server.url, call_models, llm_timeout_s=0.5) as stack:
        stack.llm.delay_s = 3.0
        async with stack.call("wacid.slow") as caller:
            await caller.wait_quiet()
            answer = await caller.turn(speech(_short_clip(corpus)))
            assert sounds_like(answer.text, ENGLISH.call.for_business("Suryoday Solar").apology)
            assert len(stack.llm.bodies) == 1  # asked once, no retry storm while the caller waits
        await eventually(lambda: stack.outcomes().get("caller_hung_up") == 1, 20)


async def test_sigterm_during_a_call_ends_it_with_a_message_and_terminate(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models) as stack, stack.call("wacid.drain") as caller:
        install_stop_signals(stack.stop)  # the handler `leadclose calls` installs
        try:
            await caller.wait_quiet()
            heard_before = len(caller.heard)
            os.kill(os.getpid(), signal.SIGTERM)
            await eventually(lambda: stack.outcomes().get("drained") == 1, 30)
        finally:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        assert len(caller.heard) > heard_before
        assert sounds_like(caller.hear(caller.heard[heard_before].at), "call again")
        assert stack.graph.actions_of("wacid.drain") == ["pre_accept", "accept", "terminate"]


async def test_a_call_over_capacity_is_rejected_instead_of_left_ringing(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    async with call_stack(redis, redis_server.url, call_models, capacity=1) as stack:
        async with stack.call("wacid.first"), Caller() as second:
            await stack.connect("wacid.second", await second.offer())
            await eventually(lambda: stack.outcomes().get("over_capacity") == 1, 10)
            assert stack.graph.actions_of("wacid.second") == ["reject"]
            assert stack.graph.actions_of("wacid.first") == ["pre_accept", "accept"]  # the first call goes on
        await eventually(lambda: stack.outcomes().get("caller_hung_up") == 1, 20)
