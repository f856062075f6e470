"""The Redis transport against a real redis-server, with an injected clock for leases and backoff."""

from __future__ import annotations

import asyncio
import json
import random
from typing import TYPE_CHECKING

import pytest

from agent.messages.queue import ConversationQueue, QueueConfig, ReplyState
from agent.storage.erasure import StaleLeaseError
from tests.conftest import ON_SERVER_AND_CLUSTER

if TYPE_CHECKING:
    from redis.asyncio import Redis


pytestmark = ON_SERVER_AND_CLUSTER  # every script, transaction and scan here holds on a cluster too


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(redis: Redis, clock: Clock) -> ConversationQueue:
    return ConversationQueue(redis, QueueConfig(shards=4, lease_ms=10_000), clock=clock, rng=random.Random(1))


def _msg(i: int, text: str = "hello") -> dict[str, object]:
    return {"text": f"{text} {i}"}


async def test_duplicates_are_dropped_also_when_concurrent(queue: ConversationQueue) -> None:
    results = await asyncio.gather(*(queue.enqueue("t:u1", "wamid.1", "text", _msg(1)) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    claim = await queue.claim("w1")
    assert claim is not None
    assert [j.message_id for j in claim.jobs] == ["wamid.1"]


async def test_a_burst_is_claimed_as_one_turn_in_order(queue: ConversationQueue) -> None:
    for i in range(3):
        await queue.enqueue("t:u1", f"wamid.{i}", "text", _msg(i))
    claim = await queue.claim("w1")
    assert claim is not None
    assert [j.payload["text"] for j in claim.jobs] == ["hello 0", "hello 1", "hello 2"]
    assert claim.attempts == 1
    assert await queue.claim("w2") is None  # the only conversation is leased


async def test_conversations_run_in_parallel_but_each_one_in_order(queue: ConversationQueue) -> None:
    await queue.enqueue("t:u1", "a1", "text", _msg(1))
    await queue.enqueue("t:u2", "b1", "text", _msg(1))
    first, second = await queue.claim("w1"), await queue.claim("w2")
    assert first is not None
    assert second is not None
    assert {first.conv, second.conv} == {"t:u1", "t:u2"}
    await queue.enqueue(first.conv, "late", "text", _msg(2))
    assert await queue.claim("w3") is None  # arrived during the lease: waits for it
    await queue.ack(first)
    follow_up = await queue.claim("w3")
    assert follow_up is not None
    assert [j.message_id for j in follow_up.jobs] == ["late"]


async def test_expired_lease_is_reclaimed_and_the_old_holder_is_fenced_off(
    queue: ConversationQueue, clock: Clock
) -> None:
    await queue.enqueue("t:u1", "m1", "audio", _msg(1))
    stale = await queue.claim("w1")
    assert stale is not None
    clock.now += 11
    assert await queue.reclaim_expired() == 1
    fresh = await queue.claim("w2")
    assert fresh is not None
    assert fresh.fence > stale.fence
    assert fresh.attempts == 2
    with pytest.raises(StaleLeaseError):
        await queue.ack(stale)
    with pytest.raises(StaleLeaseError):
        await queue.begin_send(stale, stale.jobs)
    with pytest.raises(StaleLeaseError):
        await queue.extend(stale)
    await queue.ack(fresh)
    assert (await queue.backlog()).pending_messages == 0


async def test_retry_waits_for_the_backoff(queue: ConversationQueue, clock: Clock) -> None:
    await queue.enqueue("t:u1", "m1", "text", _msg(1))
    claim = await queue.claim("w1")
    assert claim is not None
    delay = await queue.retry(claim)
    assert 0.5 <= delay <= 1.0
    assert await queue.claim("w1") is None
    clock.now += delay + 0.01
    again = await queue.claim("w1")
    assert again is not None
    assert again.attempts == 2
    assert 1.0 <= await queue.retry(again) <= 2.0


async def test_dead_letters_carry_no_content(queue: ConversationQueue, redis: Redis) -> None:
    await queue.enqueue("t:u1", "m1", "text", _msg(1, "my number is 9876543210"))
    claim = await queue.claim("w1")
    assert claim is not None
    await queue.dead_letter(claim, "media_too_large")
    (letter,) = await queue.dead_letters()
    assert letter["reason"] == "media_too_large"
    assert letter["jobs"] == [{"id": "m1", "kind": "text"}]
    assert "9876543210" not in json.dumps(letter)
    backlog = await queue.backlog()
    assert (backlog.pending_messages, backlog.dead, backlog.in_flight) == (0, 1, 0)


async def test_reply_ledger_allows_one_reply_per_message(queue: ConversationQueue, clock: Clock) -> None:
    await queue.enqueue("t:u1", "m1", "text", _msg(1))
    claim = await queue.claim("w1")
    assert claim is not None
    assert await queue.begin_send(claim, claim.jobs) is True
    assert await queue.reply_states(claim) == {"m1": ReplyState.SENDING}
    await queue.mark_sent(claim, claim.jobs)
    assert await queue.begin_send(claim, claim.jobs) is False
    clock.now += 11  # crash after sending, before the ack
    await queue.reclaim_expired()
    retry = await queue.claim("w2")
    assert retry is not None
    assert await queue.reply_states(retry) == {"m1": ReplyState.SENT}


async def test_begin_send_retried_by_the_client_stays_with_its_claim(
    queue: ConversationQueue, clock: Clock
) -> None:
    """redis-py retries a command whose reply was lost (Redis went away after running it): the same claim
    asking again still owns the send; any later claim finds the outcome unknown and must not send."""
    await queue.enqueue("t:u1", "m1", "text", _msg(1))
    claim = await queue.claim("w1")
    assert claim is not None
    assert await queue.begin_send(claim, claim.jobs) is True
    assert await queue.begin_send(claim, claim.jobs) is True
    clock.now += 11  # the worker died inside the send
    await queue.reclaim_expired()
    retry = await queue.claim("w2")
    assert retry is not None
    assert await queue.reply_states(retry) == {"m1": ReplyState.SENDING}
    assert await queue.begin_send(retry, retry.jobs) is False


async def test_a_refused_send_can_be_sent_again(queue: ConversationQueue) -> None:
    await queue.enqueue("t:u1", "m1", "text", _msg(1))
    claim = await queue.claim("w1")
    assert claim is not None
    assert await queue.begin_send(claim, claim.jobs) is True
    await queue.abort_send(claim, claim.jobs)
    assert await queue.reply_states(claim) == {}
    assert await queue.begin_send(claim, claim.jobs) is True


async def test_memo_survives_a_retry(queue: ConversationQueue) -> None:
    await queue.enqueue("t:u1", "m1", "audio", _msg(1))
    claim = await queue.claim("w1")
    assert claim is not None
    await queue.remember(claim, "stt:m1", b"transcript")
    await queue.retry(claim)
    assert await queue.memo(claim, "stt:m1") == b"transcript"


async def test_backlog_counts_ready_in_flight_and_pending(queue: ConversationQueue) -> None:
    for user in range(6):
        for i in range(2):
            await queue.enqueue(f"t:u{user}", f"m{user}.{i}", "text", _msg(i))
    await queue.claim("w1")
    backlog = await queue.backlog()
    assert (backlog.ready, backlog.in_flight, backlog.pending_messages) == (5, 1, 12)
