"""Master-key versions on a real redis-server: a rotation re-wraps every data key under the new master key,
sealed data stays readable, and a STOP recorded before the rotation is still found after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from agent.cli.operator import rotate_command
from agent.privacy.assembly import Privacy
from agent.privacy.ledger import Context
from agent.privacy.subjects import rotate
from agent.storage.conversations import ConversationStore
from agent.storage.keyring import Keyring, SealError
from agent.storage.keys import conversation_key
from agent.tenants.registry import TenantRegistry
from pipelines.consent import Intent, Method, Purpose, State, Transition, transition
from tests.agent.stack import settings
from tests.conftest import ROOT

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from tests.redis_server import RedisServer

OLD, NEW = "old-master-key-0123456789", "new-master-key-9876543210"
ALICE, BOB = "919876543210", "447700900123"
SHARDS = 8
TENANT_API = Context(
    method=Method.TENANT_API, channel="admin_api", actor="tenant:default", config_version="t"
)


def _privacy(redis: Redis, keyring: Keyring) -> Privacy:
    store = ConversationStore(redis, keyring, shards=SHARDS)
    return Privacy.build(redis, store, keyring, TenantRegistry.load(ROOT / "prompts"), shards=SHARDS)


async def test_rotation_rewraps_data_keys_and_keeps_stops_found(redis: Redis) -> None:
    before = _privacy(redis, Keyring(OLD.encode()))
    subject = before.subject("default", ALICE)
    sealed = await before.store.seal(subject, b"what Priya said")
    marketing = Transition({Purpose.MARKETING: State.GRANTED})
    await before.consent.apply(subject, marketing, TENANT_API)
    stop = transition(await before.consent.current(subject), Intent.OPT_OUT)
    await before.consent.apply(subject, stop, TENANT_API)
    assert not await before.guard.may("default", subject, Purpose.MARKETING)

    keyring = Keyring(NEW.encode(), [OLD.encode()])
    assert keyring.current.kid != Keyring(OLD.encode()).current.kid
    done = await rotate(redis, keyring)
    assert (done.rewrapped, done.current, done.unreadable) == (1, 0, 0)
    wrapped = await redis.get(conversation_key(subject, "dek", SHARDS))
    assert keyring.kid_of(wrapped) == keyring.current.kid

    # The old master key can be dropped for the data: the new one alone opens it, the old one no longer does.
    assert await ConversationStore(redis, Keyring(NEW.encode()), shards=SHARDS).open(subject, sealed) == (
        b"what Priya said"
    )
    with pytest.raises(SealError):
        await ConversationStore(redis, Keyring(OLD.encode()), shards=SHARDS).open(subject, sealed)

    # The person keeps the reference they were first seen under: their STOP holds after the rotation.
    after = _privacy(redis, keyring)
    assert after.subject("default", ALICE) != subject
    assert await after.resolve("default", "+91 98765 43210") == subject
    assert not await after.guard.may("default", await after.resolve("default", ALICE), Purpose.MARKETING)
    # Someone new gets a reference under the new key.
    assert await after.resolve("default", BOB) == after.subject("default", BOB)
    assert (await rotate(redis, keyring)).current == 1  # a second run has nothing left to do


async def test_keys_rotate_command_reports_what_it_did(redis: Redis, redis_server: RedisServer) -> None:
    before = _privacy(redis, Keyring(OLD.encode()))
    for user in (ALICE, BOB):
        await before.store.seal(before.subject("default", user), b"x")
    configured = settings(redis_server.url, master_key=NEW, master_key_previous=[OLD])
    report = await rotate_command(configured)
    assert report["rewrapped"] == 2
    assert report["known_kids"] == [Keyring(NEW.encode()).current.kid, Keyring(OLD.encode()).current.kid]
    # Without the old key configured, a key still wrapped under it is reported, never deleted.
    await before.store.seal(before.subject("default", "15550002222"), b"y")
    report = await rotate_command(settings(redis_server.url, master_key=NEW))
    assert (report["current"], report["unreadable"]) == (2, 1)


async def test_a_persons_number_and_bsuid_stay_one_subject_across_a_rotation(redis: Redis) -> None:
    """The alias record (agent/privacy/identities.py) is looked up under every key version's reference of each id."""
    bsuid = "IN.1234567890abcdef"
    before = _privacy(redis, Keyring(OLD.encode()))
    subject = await before.identities.subject("default", bsuid, ALICE)  # a payload with both ids
    await before.consent.apply(subject, Transition({Purpose.MARKETING: State.GRANTED}), TENANT_API)
    after = _privacy(redis, Keyring(NEW.encode(), [OLD.encode()]))
    assert await after.person("default", bsuid) == subject
    assert await after.person("default", "+91 98765 43210") == subject
    assert await after.identities.subject("default", bsuid, ALICE) == subject  # the next payload
    assert await after.identities.subject("default", bsuid) == subject  # one without the number
    assert (await after.lookup("default", "IN.0000000000000000")) == (
        after.subject("default", "IN.0000000000000000"),
        False,
    )
