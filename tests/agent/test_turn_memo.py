"""The queue is the turn's memo (`ClaimMemo`): with real redis, a redelivered claim (a crash after the answer,
before the send) does not ask the LLM again; what the memo keeps is sealed at rest, and what one attempt
kept is never read back from Redis. The LLM is the local OpenAI-compatible peer on 127.0.0.1."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from openai import AsyncOpenAI

from agent.messages.queue import ConversationQueue, QueueConfig
from agent.storage.conversations import ConversationStore
from agent.storage.erasure import Fence
from agent.storage.keyring import Keyring, master_secret
from agent.storage.keys import conversation_key
from pipelines.llm import Responder
from pipelines.turn import Message, Outcome, Turn, TurnConfig, TurnPorts, TurnRunner
from tests.agent.stack import MASTER
from tests.llm_peer import ChatPeer, serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import Iterator

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

REPLY = "Our 3 kW system costs about 1.9 lakh rupees."
CONV = "default:memo1"


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def peer() -> Iterator[ChatPeer]:
    with serve_chat_peer(lambda _messages: REPLY) as p:
        yield p


async def test_a_redelivered_claim_does_not_ask_the_llm_again(
    redis: Redis, peer: ChatPeer, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> None:
    client = AsyncOpenAI(base_url=peer.base_url, api_key="test-key", max_retries=0)
    runner = TurnRunner(transcriber, pii_guard(), Responder(client, "test-model", timeout_s=2.0), synthesizer)
    clock = Clock()
    queue = ConversationQueue(redis, QueueConfig(), clock=clock, rng=random.Random(1))
    store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=queue.config.shards)
    await queue.enqueue(CONV, "wamid.m1", "text", {"tenant": "default"})
    turn = Turn("batch1", (Message("wamid.m1", text="How much is a 3 kW system?"),), TurnConfig("Be brief."))

    claim = await queue.claim("w1")
    assert claim is not None
    first = await runner.run(
        turn, TurnPorts(memo=queue.memo_of(claim, store, Fence(claim.conv, claim.epoch)))
    )
    assert (first.outcome, first.reply_text) == (Outcome.ANSWERED, REPLY)
    memo_key = conversation_key(CONV, "memo", queue.config.shards)
    sealed = await redis.hget(memo_key, "answer:batch1")
    assert sealed is not None
    assert REPLY.encode() not in (sealed if isinstance(sealed, bytes) else sealed.encode())

    clock.now += await queue.retry(claim) + 1  # the worker died before the send: redelivered
    again = await queue.claim("w2")
    assert again is not None
    assert again.attempts == 2
    second = await runner.run(
        turn, TurnPorts(memo=queue.memo_of(again, store, Fence(again.conv, again.epoch)))
    )
    assert (second.outcome, second.reply_text) == (Outcome.RECALLED, REPLY)
    assert len(peer.requests) == 1
    await client.close()


async def test_what_an_attempt_kept_is_not_read_back(redis: Redis) -> None:
    queue = ConversationQueue(redis)
    store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=queue.config.shards)
    await queue.enqueue(CONV, "wamid.m2", "text", {"tenant": "default"})
    claim = await queue.claim("w1")
    assert claim is not None
    memo = queue.memo_of(claim, store, Fence(claim.conv, claim.epoch))
    await memo.keep("stt:wamid.m2", b'{"text": "hello"}')
    await redis.delete(conversation_key(CONV, "memo", queue.config.shards))
    assert await memo.recall("stt:wamid.m2") == b'{"text": "hello"}'  # served from this attempt's memory
    fresh = queue.memo_of(claim, store, Fence(claim.conv, claim.epoch))
    assert await fresh.recall("stt:wamid.m2") is None  # another attempt reads Redis
