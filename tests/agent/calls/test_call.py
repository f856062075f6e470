"""A WhatsApp call end to end on loopback: signed `connect` webhook with an aiortc caller's offer → call worker →
pre_accept/accept on the local Graph peer → the caller speaks a corpus clip at real-time pace → the agent's
answer comes back over WebRTC, and the caller transcribes it → `terminate`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jiwer

from tests.agent.calls.caller import Caller, to_whisper
from tests.agent.calls.conftest import speech
from tests.agent.calls.stack import call_stack, llm_user_texts
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agent.calls.models import CallModels
    from pipelines.stt import WhisperTranscriber
    from tests.conftest import Clip
    from tests.redis_server import RedisServer


def _words(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


async def test_the_agent_answers_what_the_caller_said_and_the_call_ends_with_terminate(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    corpus: list[Clip],
    transcriber: WhisperTranscriber,
) -> None:
    clip = next(c for c in corpus if c.path.name == "1089-134686-0001.flac")  # "stuff it into you ..."
    async with call_stack(redis, redis_server.url, call_models) as stack:
        caller = Caller()
        await stack.ring(caller, "wacid.e2e")
        await caller.wait_quiet()  # the greeting with the AI disclosure comes first
        greeting = transcriber.transcribe(to_whisper(caller.audio_between(0)))
        assert "assistant" in greeting.text.lower()

        spoke_until = await caller.say(speech(clip))
        await eventually(lambda: caller.first_speech_after(spoke_until) is not None, 20)
        await caller.wait_quiet()
        heard = transcriber.transcribe(to_whisper(caller.audio_between(spoke_until)))

        # The local LLM echoes the caller ("You said: …"): what comes back is the answer to these words.
        said = _words(llm_user_texts(stack.llm)[-1])
        assert jiwer.wer(_words(clip.reference), said) < 0.3
        assert "you said" in _words(heard.text)
        assert jiwer.wer(said, _words(heard.text).split("you said", 1)[1]) < 0.4

        await stack.hang_up(caller, "wacid.e2e")
        await eventually(lambda: stack.outcomes().get("caller_hung_up") == 1, 20)
        assert stack.graph.actions_of("wacid.e2e") == ["pre_accept", "accept", "terminate"]
        response = stack.metrics.call_response_seconds.collect()[0]
        assert any(s.name.endswith("_count") and s.value >= 1 for s in response.samples)
