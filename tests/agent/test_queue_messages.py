"""Typed queue entries: a queued message and a call event round-trip through their fields, carry a version,
and an entry of an unknown version (or missing a field) is refused with a clear, content-free error. At rest
the personal fields stay sealed; the claimed batch reads back typed. Real redis-server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.messages.queue import (
    CallQueue,
    ConversationQueue,
    QueuedCall,
    QueuedMedia,
    QueuedMessage,
    QueueFormatError,
    open_batch,
    seal_payload,
)
from agent.storage.conversations import ConversationStore
from agent.storage.keyring import Keyring, master_secret
from tests.agent.stack import MASTER

if TYPE_CHECKING:
    from redis.asyncio import Redis

TEXT = "my number is 9876543210, I am Priya"
TO = "919876543210"


def _message(message_id: str = "wamid.1", *, text: str | None = TEXT, audio: bool = False) -> QueuedMessage:
    return QueuedMessage(
        tenant="default",
        phone_number_id="15550001111",
        message_id=message_id,
        to=TO,
        profile_name="Priya Sharma",
        timestamp=1_700_000_000,
        kind="audio" if audio else "text",
        original_type="voice" if audio else "text",
        text=None if audio else text,
        media=QueuedMedia("1234567890", "audio/ogg", "ab" * 32, True) if audio else None,
    )


def _call(version: int = 1) -> QueuedCall:
    return QueuedCall(
        tenant="default",
        subject="default:s1",
        call_id="wacid.1",
        event="connect",
        phone_number_id="15550001111",
        user_key=TO,
        timestamp=1_700_000_000,
        sdp="v=0",
        sdp_type="offer",
        version=version,
    )


@settings(max_examples=50, deadline=None)
@given(text=st.one_of(st.none(), st.text(max_size=200)), profile=st.one_of(st.none(), st.text(max_size=40)))
def test_a_queued_message_round_trips_through_json_fields(text: str | None, profile: str | None) -> None:
    message = QueuedMessage(**{**_fields_of(_message()), "text": text, "profile_name": profile})
    fields = json.loads(json.dumps(message.to_fields()))
    assert fields["version"] == 1
    assert QueuedMessage.from_fields(fields) == message
    note = _message(audio=True)
    assert QueuedMessage.from_fields(json.loads(json.dumps(note.to_fields()))) == note


def _fields_of(message: QueuedMessage) -> dict[str, object]:
    return {k: getattr(message, k) for k in QueuedMessage.__dataclass_fields__}


def test_an_entry_written_before_the_version_field_is_version_one() -> None:
    fields = _message().to_fields()
    del fields["version"]
    assert QueuedMessage.from_fields(fields) == _message()


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_an_unknown_version_is_refused_with_a_clear_error(version: object) -> None:
    fields = _message().to_fields() | {"version": version}
    with pytest.raises(QueueFormatError) as refused:
        QueuedMessage.from_fields(fields)
    assert refused.value.reason == "unknown_version"
    assert "queued message version" in str(refused.value)
    assert TEXT not in str(refused.value)
    assert TO not in str(refused.value)
    with pytest.raises(QueueFormatError, match="call event version") as call_refused:
        QueuedCall.from_fields(_call().to_fields() | {"version": version})
    assert call_refused.value.reason == "unknown_version"


@pytest.mark.parametrize(("field", "value"), [("message_id", None), ("timestamp", "soon"), ("to", 919)])
def test_a_field_missing_or_of_the_wrong_type_is_refused(field: str, value: object) -> None:
    with pytest.raises(QueueFormatError) as refused:
        QueuedMessage.from_fields(_message().to_fields() | {field: value})
    assert refused.value.reason == "malformed_message"
    assert TEXT not in str(refused.value)


def test_a_call_event_round_trips() -> None:
    call = _call()
    assert QueuedCall.from_fields(json.loads(json.dumps(call.to_fields()))) == call
    with pytest.raises(QueueFormatError) as refused:
        QueuedCall.from_fields({k: v for k, v in call.to_fields().items() if k != "subject"})
    assert refused.value.reason == "malformed_call_event"


async def test_a_claimed_batch_is_sealed_at_rest_and_reads_back_typed(redis: Redis) -> None:
    store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=8)
    queue = ConversationQueue(redis)
    conv = "default:s1"
    sent = [_message("wamid.1"), _message("wamid.2", audio=True)]
    for message in sent:
        fields = await seal_payload(store, conv, message.to_fields())
        assert await queue.enqueue(conv, message.message_id, message.kind, fields)
    claim = await queue.claim("w1")
    assert claim is not None
    at_rest = json.dumps([job.payload for job in claim.jobs])
    for secret in (TEXT, TO, "Priya", "1234567890"):
        assert secret not in at_rest
    assert claim.jobs[0].payload["version"] == 1  # in clear: readable before anything is opened
    batch = await open_batch(store, claim)
    assert batch.messages == tuple(sent)
    assert (batch.tenant, batch.first, batch.last, batch.has_audio) == ("default", sent[0], sent[1], True)
    assert len(batch.digest) == 16
    answered = batch.without({"wamid.1": "sent"})
    assert answered.messages == (sent[1],)
    assert answered.jobs == (claim.jobs[1],)
    assert not answered.without({"wamid.2": "sent"}).messages
    assert answered.digest != batch.digest


async def test_the_call_stream_reads_typed_events_and_reports_unreadable_ones(redis: Redis) -> None:
    store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=8)
    calls = CallQueue(redis, store)
    cursor = CallQueue.cursor_at(0)
    newer = QueuedCall(
        **{**{k: getattr(_call(), k) for k in QueuedCall.__dataclass_fields__}, "call_id": "wacid.2"}
    )
    assert await calls.enqueue_many([_call(), newer]) == [True, True]
    assert await calls.enqueue_many([_call()]) == [False]  # deduped on (call id, event)
    await redis.xadd(
        CallQueue.STREAM, {"event": json.dumps(_call(version=9).to_fields()), "call_id": "wacid.9"}
    )
    entries = await calls.read_after(cursor, block_ms=10)
    assert [e.event for e in entries[:2]] == [_call(), newer]
    assert (entries[2].call_id, entries[2].event, entries[2].unreadable) == (
        "wacid.9",
        None,
        "unknown_version",
    )
    assert await calls.read_after(entries[-1].entry_id, block_ms=10) == []
