"""Turns that no attempt can ever answer end in the dead-letter stream with a reason, never in retries forever
(invariant 1): the real worker on a real redis-server (tests/agent/stack.py), Graph and LLM peers on 127.0.0.1."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.agent.stack import Stack, eventually, stack_fixture
from tests.agent.whatsapp import webhooks as wh

MAX_ATTEMPTS = 3
DROP = object()  # a field left out of the queued job


stack = stack_fixture(max_attempts=MAX_ATTEMPTS)


def _job(tenant: str) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "phone_number_id": wh.PHONE_NUMBER_ID,
        "message_id": "wamid.d1",
        "to": "919876543210",
        "profile_name": None,
        "timestamp": int(time.time()),
        "kind": "text",
        "original_type": "text",
        "text": "hello",
        "media": None,
    }


@pytest.mark.parametrize(
    ("tenant", "change", "reason"),
    [
        ("removed-tenant", {}, "tenant_removed"),  # queued, then its folder was deleted
        ("default", {"timestamp": DROP}, "malformed_message"),  # a job no attempt can read: at once
        ("default", {"version": 2}, "unknown_version"),  # written by a newer release: never guessed at
    ],
)
async def test_a_turn_no_attempt_can_answer_is_dead_lettered(
    stack: Stack, tenant: str, change: dict[str, Any], reason: str
) -> None:
    job = {k: v for k, v in (_job(tenant) | change).items() if v is not DROP}
    assert await stack.queue.enqueue(f"{tenant}:d1", "wamid.d1", "text", job)
    await eventually(stack.has_dead_letters, 30)
    (letter,) = await stack.queue.dead_letters()
    assert letter["reason"] == reason
    assert letter["jobs"] == [{"id": "wamid.d1", "kind": "text"}]
    assert (await stack.queue.backlog()).pending_messages == 0
    assert stack.graph.messages == []
