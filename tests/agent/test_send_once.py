"""A reply whose send may have reached Meta is never sent again (invariant 2), end to end: the real app and
worker on a real redis-server (tests/agent/stack.py), the local Graph API peer on 127.0.0.1 standing in for
Meta (which has no idempotency key for sends: every POST that reached it is a message the person receives).
Worker restarts as real processes are in tests/agent/test_crashes.py."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from agent.messages.queue import ReplyState
from agent.privacy.records import hashed_id
from agent.storage.keys import conversation_key
from tests.agent.stack import Stack, eventually, stack_fixture
from tests.agent.whatsapp import webhooks as wh

if TYPE_CHECKING:
    from redis.asyncio import Redis


ALICE = "919876543210"


# The Graph client gives up on an answer after 0.5 s; retries and backoff are the stack's (3 attempts).
stack = stack_fixture(graph_timeout_s=0.5, max_attempts=3)


def _unknown(stack: Stack, kind: str) -> float:
    value = stack.metrics.registry.get_sample_value(
        "leadclose_send_outcome_unknown_total", {"tenant": "default", "kind": kind}
    )
    return value or 0.0


async def _ledger(redis: Redis, stack: Stack, mid: str) -> str | None:
    conv = stack.privacy.subject("default", ALICE)
    raw = await redis.hget(conversation_key(conv, "replied", stack.queue.config.shards), mid)
    return raw.decode() if isinstance(raw, bytes) else raw


@pytest.mark.parametrize("fault", ["delivered_then_stalled", "delivered_then_500"])
async def test_a_send_without_a_usable_answer_reaches_the_peer_at_most_once(
    stack: Stack, redis: Redis, fault: str
) -> None:
    if fault == "delivered_then_stalled":
        stack.graph.hold_accepted_sends_s = 1.5  # Meta has the message; the answer comes after the timeout
    else:
        stack.graph.fail_accepted_sends_next(500)  # Meta processed it and still answered 500
    kind = "http_5xx" if fault == "delivered_then_500" else "timeout"
    body = wh.payload(messages=[wh.text(ALICE, "wamid.u1", "hello?", ts=int(time.time()))])
    with capture_logs() as logs:
        await stack.post(body)
        await eventually(lambda: _unknown(stack, kind) == 1)
        await eventually(lambda: _drained(stack))
    assert await _ledger(redis, stack, "wamid.u1") == ReplyState.UNKNOWN.value
    unknown = [e for e in logs if e["event"] == "turn.send_outcome_unknown"]
    assert [(e["kind"], e["messages"]) for e in unknown] == [(kind, [hashed_id("wamid.u1")])]
    assert "conv" in unknown[0]
    assert ALICE not in str(logs)
    # Meta redelivers the webhook, and time passes (any stall ends): still no second send.
    assert (await stack.post(body)).json()["duplicates"] == 1
    stack.graph.hold_accepted_sends_s = 0.0
    sends = [r for r in stack.graph.requests if r.path.endswith("/messages") and "status" not in r.json()]
    assert len(sends) == 1  # one POST, never repeated by the client, the worker or a later attempt
    assert len(stack.graph.messages) == 1
    assert [s for m in stack.metrics.retries.collect() for s in m.samples] == []  # nor the turn retried
    # The conversation goes on: the next message is answered.
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.u2", "still there?", ts=int(time.time()))]))
    await eventually(lambda: _answered(stack, "still there?"), 30)


async def test_a_throttled_send_is_retried_and_sent_once(stack: Stack, redis: Redis) -> None:
    """Meta refused it (130429 with its error body): nothing was delivered, so the client sends again."""
    stack.graph.fail_next(code=130429, status=429, times=1)
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.u3", "hi", ts=int(time.time()))]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    await eventually(lambda: _drained(stack))
    assert await _ledger(redis, stack, "wamid.u3") == ReplyState.SENT.value
    assert _unknown(stack, "timeout") == _unknown(stack, "http_5xx") == 0


async def _drained(stack: Stack) -> bool:
    return (await stack.queue.backlog()).pending_messages == 0


def _answered(stack: Stack, said: str) -> bool:
    return any(said in m.get("text", {}).get("body", "") for m in stack.graph.messages)
