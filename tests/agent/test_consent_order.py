"""Consent in order, one subject per person, nothing shown before the gate (invariants 5 and 10), end to end:
the real app and worker on a real redis-server (tests/agent/stack.py) with the local Graph API and LLM peers on
127.0.0.1 (Meta and a hosted LLM cannot run here). Meta redelivers webhooks for days and out of order; these
tests deliver old signals late, twice, and racing each other."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from typing import TYPE_CHECKING, Any

import pytest

from agent.cli.operator import consent_command
from agent.messages.queue import CallQueue
from agent.privacy.ledger import SUPERSEDED, ConsentStore, Context, Signal
from agent.privacy.rights import Actor
from agent.storage.keys import conversation_key
from pipelines.consent import Intent, Method, Purpose, State, covered, transition
from tests.agent.stack import Stack, eventually, settings, stack_fixture
from tests.agent.whatsapp import webhooks as wh

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from tests.redis_server import RedisServer

ALICE = "919876543210"
BSUID = "IN.13491208655302741918"
OPERATOR = Actor("test-operator", "cli")
KEYWORD = Context(method=Method.KEYWORD, channel="whatsapp", actor="subject", config_version="t")


stack = stack_fixture()


def _body(field: str, value: dict[str, Any]) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": wh.PHONE_NUMBER_ID},
        **value,
    }
    entry = {"id": "200000000000002", "changes": [{"field": field, "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def _text(mid: str, text: str, ts: int, *, number: str | None = ALICE, bsuid: str | None = None) -> bytes:
    """A text message from Alice as Meta sends it: with her number, her BSUID, or both."""
    message: dict[str, Any] = {"id": mid, "timestamp": str(ts), "type": "text", "text": {"body": text}}
    contact: dict[str, Any] = {"profile": {"name": "Alice"}}
    if number is not None:
        message["from"] = contact["wa_id"] = number
    if bsuid is not None:
        message["from_user_id"] = contact["user_id"] = bsuid
    return _body("messages", {"contacts": [contact], "messages": [message]})


def _preference(value: str, ts: int) -> bytes:
    preference = {"wa_id": ALICE, "category": "marketing_messages", "value": value, "timestamp": ts}
    return _body("user_preferences", {"user_preferences": [preference]})


def _permission(mid: str, response: str, ts: int) -> bytes:
    reply = {"response": response, "is_permanent": True}
    message = {"from": ALICE, "id": mid, "timestamp": str(ts), "type": "interactive",
               "interactive": {"type": "call_permission_reply", "call_permission_reply": reply}}  # fmt: skip
    return _body("messages", {"contacts": [{"wa_id": ALICE}], "messages": [message]})


async def _events(stack: Stack, subject: str, purpose: str) -> list[tuple[str, str | None, float]]:
    events = await stack.privacy.consent.events_of(subject)
    return [(e["state"], e["evidence"], e["given_at"]) for e in events if e["purpose"] == purpose]


async def _outcomes(stack: Stack, subject: str) -> list[str]:
    rows = await stack.privacy.processing.records("default", subject)
    return [r["outcome"] for r in rows if r["event"] == "turn"]


async def test_start_after_stop_then_the_old_stop_redelivered_leaves_the_person_opted_in(
    stack: Stack,
) -> None:
    t = int(time.time()) - 60
    alice = stack.privacy.subject("default", ALICE)
    stop = _text("wamid.o1", "STOP", t)
    await stack.post(stop)
    await eventually(lambda: len(stack.graph.messages) == 1)
    await stack.post(_text("wamid.o2", "START", t + 10))
    await eventually(lambda: len(stack.graph.messages) == 2)
    redelivered = await stack.post(stop)  # Meta redelivers the old STOP as it was
    assert redelivered.json()["duplicates"] == 1
    late = await stack.post(_text("wamid.o3", "stop", t + 5))  # an older STOP that arrives last
    assert late.json()["messages"] == 1
    await eventually(lambda: _has_outcome(stack, alice, "superseded"))
    assert (await stack.privacy.guard.may("default", alice, Purpose.REPLY)).allowed
    assert await _events(stack, alice, "reply") == [
        ("withdrawn", "wamid.o1", t),
        ("granted", "wamid.o2", t + 10),
        (SUPERSEDED, "wamid.o3", t + 5),
    ]
    assert (
        len(stack.graph.messages) == 2
    )  # no "you will get no more messages" for a STOP that changed nothing
    await stack.post(_text("wamid.o4", "what are your hours?", t + 20))
    await eventually(lambda: len(stack.graph.messages) == 3)  # still answered


async def _has_outcome(stack: Stack, subject: str, outcome: str) -> bool:
    return outcome in await _outcomes(stack, subject)


async def test_meta_marketing_and_call_permission_signals_apply_in_the_order_given(stack: Stack) -> None:
    t = int(time.time()) - 60
    alice = stack.privacy.subject("default", ALICE)
    await stack.post(_preference("resume", t + 20))
    await stack.post(_preference("stop", t + 10))  # given earlier, delivered later
    await stack.post(_preference("stop", t + 10))  # and redelivered
    assert (await stack.privacy.guard.may("default", alice, Purpose.MARKETING)).allowed
    assert await _events(stack, alice, "marketing") == [
        ("granted", None, t + 20),
        (SUPERSEDED, None, t + 10),
    ]
    await stack.post(_permission("wamid.cp2", "accept", t + 30))
    await stack.post(_permission("wamid.cp1", "reject", t + 15))
    await stack.post(_permission("wamid.cp1", "reject", t + 15))
    assert (await stack.privacy.guard.may("default", alice, Purpose.CALLS)).allowed
    assert await _events(stack, alice, "calls") == [
        ("granted", "wamid.cp2", t + 30),
        (SUPERSEDED, "wamid.cp1", t + 15),
    ]
    newer = await stack.post(_preference("stop", t + 40))  # a newer stop does apply
    assert newer.status_code == 200
    assert not (await stack.privacy.guard.may("default", alice, Purpose.MARKETING)).allowed
    await asyncio.sleep(0.1)
    assert stack.graph.messages == []


async def test_racing_deliveries_end_in_the_state_of_the_newest_signal(redis: Redis) -> None:
    """STOPs and STARTs given a second apart, each delivered twice, all at once in random order (a webhook
    delivery and its retry racing, and the worker beside them): one outcome, the newest signal's."""
    store = ConsentStore(redis, shards=8)
    subject = "default:race"
    t = int(time.time())
    signals = [(Intent.OPT_OUT if i % 2 == 0 else Intent.OPT_IN, t + i, f"wamid.r{i}") for i in range(12)]
    deliveries = signals * 2
    random.Random(7).shuffle(deliveries)

    async def deliver(intent: Intent, given_at: int, mid: str) -> None:
        await store.apply(
            subject,
            lambda consent: transition(consent, intent),
            dataclasses.replace(KEYWORD, evidence=mid),
            signal=Signal(given_at, mid),
            covers=covered(intent),
        )

    await asyncio.gather(*(deliver(*d) for d in deliveries))
    consent = await store.current(subject)
    assert consent.state(Purpose.REPLY) is State.GRANTED  # the newest (t + 11) was a START
    events = [e for e in await store.events_of(subject) if e["purpose"] == "reply"]
    assert len({e["evidence"] for e in events}) == len(events)  # each signal recorded once, however delivered
    assert {e["evidence"] for e in events} <= {mid for _, _, mid in signals}
    assert not await redis.exists(conversation_key(subject, "consent", 8) + ":outbox")  # all in the ledger
    for intent, given_at, mid in signals:
        await deliver(intent, given_at, mid)  # redelivered once more, after the race: nothing changes
    assert len([e for e in await store.events_of(subject) if e["purpose"] == "reply"]) == len(events)


async def test_number_and_bsuid_are_one_person_for_stop_erase_and_status(
    stack: Stack, redis: Redis, redis_server: RedisServer
) -> None:
    t = int(time.time()) - 60
    await stack.post(_text("wamid.i1", "hi, my email is alice@example.com", t, bsuid=BSUID))  # both ids
    await eventually(lambda: len(stack.graph.messages) == 1)
    person = await stack.privacy.person("default", ALICE)
    assert await stack.privacy.person("default", BSUID) == person
    assert await stack.privacy.person("default", "+91 98765 43210") == person
    await stack.post(_text("wamid.i2", "STOP", t + 5))  # by number only
    await eventually(lambda: len(stack.graph.messages) == 2)
    await stack.post(_text("wamid.i3", "hello again", t + 10, number=None, bsuid=BSUID))  # by BSUID only
    await eventually(lambda: _has_outcome(stack, person, "withdrawn"))
    assert len(stack.graph.messages) == 2  # the STOP recorded under the number holds under the BSUID
    # ... and the opted-out person sees no ticks and no "typing…" (only the first message, allowed, had them)
    assert {r["message_id"] for r in stack.graph.read_receipts} == {"wamid.i1"}  # (a receipt may repeat)
    config = settings(redis_server.url)
    status = await consent_command(config, "status", "default", BSUID)
    assert status["known"] is True
    assert status["states"]["reply"] == "withdrawn"
    erased = await consent_command(config, "erase", "default", ALICE)
    assert erased["subject"] == person
    assert erased["keys_deleted"] > 0
    after = await consent_command(config, "status", "default", BSUID)
    assert after["suppressed"] is True
    assert not await redis.exists(conversation_key(person, "state", 8))


@pytest.mark.parametrize("who", ["stopped", "objected", "handed_off"])
async def test_nothing_is_shown_or_downloaded_before_the_gate(stack: Stack, who: str) -> None:
    """An opted-out, objecting or handed-off person gets no read receipt, no typing indicator, and their voice
    note is neither downloaded nor transcribed."""
    t = int(time.time()) - 60
    alice = stack.privacy.subject("default", ALICE)
    if who == "stopped":
        await stack.post(_text("wamid.g1", "STOP", t))
        await eventually(lambda: len(stack.graph.messages) == 1)
    elif who == "objected":
        await stack.privacy.rights.object(await stack.privacy.enrol("default", ALICE), OPERATOR)
    else:
        await stack.post(_text("wamid.g1", "talk to a human", t))
        await eventually(lambda: len(stack.graph.messages) == 1)
    sent = len(stack.graph.messages)
    sha = stack.add_voice_note("3000000077", b"OggS-never-fetched")
    await stack.post(wh.payload(messages=[wh.voice(ALICE, "wamid.g2", "3000000077", sha, ts=t + 5)]))
    await stack.post(_text("wamid.g3", "are you there?", t + 6))
    await eventually(lambda: _drained_and_withheld(stack, alice))
    assert stack.graph.read_receipts == []
    assert [r for r in stack.graph.requests if r.method == "GET"] == []  # no media looked up or downloaded
    assert len(stack.graph.messages) == sent
    assert stack.llm.requests == []


async def _drained_and_withheld(stack: Stack, subject: str) -> bool:
    if (await stack.queue.backlog()).pending_messages:
        return False
    return any(o != "replied" for o in await _outcomes(stack, subject))


async def test_a_call_from_the_bsuid_alone_reaches_the_persons_subject(stack: Stack, redis: Redis) -> None:
    """The call worker's consent and tools use the subject the webhook resolved (agent/calls/worker.py)."""
    t = int(time.time()) - 60
    await stack.post(_text("wamid.c1", "hi", t))  # first seen by number only
    await stack.post(_text("wamid.c2", "hi again", t + 1, bsuid=BSUID))  # then number and BSUID together
    person = stack.privacy.subject("default", ALICE)
    assert await stack.privacy.person("default", BSUID) == person
    call = {"id": "wacid.c1", "from_user_id": BSUID, "to": "15550001111", "event": "connect",
            "timestamp": str(t + 2), "direction": "USER_INITIATED",
            "session": {"sdp_type": "offer", "sdp": "v=0"}}  # fmt: skip
    assert (await stack.post(wh.payload(calls=[call]))).json()["calls"] == 1
    ((_, fields),) = await redis.xrange("lc:{calls}:events")
    assert fields[b"subject"].decode() == person  # in clear: the event is sealed with this person's key
    assert (await CallQueue(redis, stack.privacy.store).read(fields)).subject == person
