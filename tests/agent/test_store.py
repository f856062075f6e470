"""Encrypted conversation state in a real redis-server: round trip, nothing readable at rest, erasure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from agent.storage.conversations import ConversationStore
from agent.storage.erasure import Fence
from agent.storage.handoff import HandoffFlags
from agent.storage.keyring import Keyring, SealError, master_secret
from pipelines.llm import ChatTurn
from pipelines.pii import Minimizer
from pipelines.turn import Conversation

if TYPE_CHECKING:
    from redis.asyncio import Redis

KEYRING = Keyring(master_secret("a-long-test-master-passphrase"))


def _store(redis: Redis, keyring: Keyring = KEYRING, history_limit: int = 4) -> ConversationStore:
    return ConversationStore(redis, keyring, shards=4, history_limit=history_limit)


async def test_state_round_trips_and_is_unreadable_at_rest(redis: Redis) -> None:
    store = _store(redis)
    conv = KEYRING.conversation_ref("default", "919876543210")
    assert "9876543210" not in conv
    conversation = Conversation()
    minimized = Minimizer().minimize("call 9876543210", conversation.vault)
    conversation.history.append(ChatTurn("user", minimized.text))
    await store.save(conv, conversation, fence=Fence(conv, 0))
    loaded = await store.load(conv)
    assert loaded.history == [ChatTurn("user", "call <PHONE_1>")]
    assert loaded.vault.entry("<PHONE_1>") is not None
    for key in await redis.keys("*"):
        value = await redis.get(key)
        assert b"9876543210" not in value
        assert b"PHONE" not in value


async def test_history_is_capped(redis: Redis) -> None:
    store = _store(redis, history_limit=4)
    conversation = Conversation(history=[ChatTurn("user", f"m{i}") for i in range(10)])
    await store.save("t:c", conversation, fence=Fence("t:c", 0))
    assert [t.content for t in (await store.load("t:c")).history] == ["m6", "m7", "m8", "m9"]


async def test_erasure_shreds_every_sealed_copy(redis: Redis) -> None:
    store = _store(redis)
    sealed = await store.seal("t:c", b"transcript")
    assert await store.open("t:c", sealed) == b"transcript"
    await store.erase("t:c")
    assert (await store.load("t:c")).history == []
    with pytest.raises(SealError):
        await store.open("t:c", sealed)


async def test_another_master_key_cannot_read(redis: Redis) -> None:
    await _store(redis).save("t:c", Conversation(history=[ChatTurn("user", "hi")]), fence=Fence("t:c", 0))
    with pytest.raises(SealError):
        await _store(redis, Keyring(b"another-master-key-of-the-wrong-deployment")).load("t:c")


def test_conversation_refs_differ_per_tenant_and_user() -> None:
    refs = {KEYRING.conversation_ref(t, u) for t in ("a", "b") for u in ("1", "2")}
    assert len(refs) == 4


async def test_handoff_flag_holds_until_released(redis: Redis) -> None:
    """A handed-off conversation stays with the human until released; other conversations are unaffected."""
    flags = HandoffFlags(redis, shards=4)
    await flags.hand_off("t:a", "user_asked")
    assert await flags.active("t:a")
    assert not await flags.active("t:b")
    await flags.release("t:a")
    assert not await flags.active("t:a")
