"""Erasure wins (DESIGN §5, invariant 9), shown with faults on the running product: the real app and worker on
a real redis-server (AOF on), the local Graph API and LLM peers on 127.0.0.1 (Meta and a hosted LLM cannot run
here). The LLM peer holds its answer while the person is erased; the turn then writes and sends nothing.
`leadclose consent erase` leaves nothing of the person readable in any key or in the AOF/RDB files on disk."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from agent.cli.operator import consent_command
from agent.messages.queue import CallQueue, ConversationQueue, QueuedCall
from agent.privacy.assembly import Privacy
from agent.privacy.ledger import Context
from agent.privacy.rights import Actor
from agent.storage.conversations import ConversationStore
from agent.storage.erasure import Epochs, ErasedError, Fence, FencedWriter
from agent.storage.keyring import Keyring, master_secret
from agent.storage.keys import conversation_key, subject_entries, tenant_entries, tenant_key
from agent.storage.leads import LeadStore
from agent.storage.streams import drop_entries
from agent.tenants.registry import TenantRegistry
from pipelines.consent import Method, Overlay, Transition
from tests.agent.stack import MASTER, TOKEN, TOKEN_ENV, Stack, eventually, running_stack, settings
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT, redis_client
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

ALICE, BOB = "919876543210", "447700900123"
NAME, EMAIL, WORD = "Priya Sharma", "priya.sharma@example.com", "Zanskarvilla"
CALLER_IP = "203.0.113.77"
SHARDS = 8


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def contract_prompts(tmp_path: Path) -> Path:
    """The default business, keeping content on a contract basis: T2 is written without asking, so an
    erasure has the most to lose to a turn in flight."""
    folder = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", folder / "default")
    config = folder / "default" / "tenant.yaml"
    config.write_text(config.read_text().replace("content_basis: consent", "content_basis: contract"))
    return folder


def _subject(stack: Stack) -> str:
    return stack.privacy.subject("default", ALICE)


async def _erased_turns(stack: Stack) -> list[dict[str, Any]]:
    rows = await stack.privacy.processing.records("default")
    return [r for r in rows if r["event"] == "turn" and r["outcome"] == "erased"]


async def _keys_of(redis: Redis, subject: str) -> set[str]:
    return {k.decode() async for k in redis.scan_iter(match="*") if subject.encode() in k}


async def test_erasure_while_the_model_answers_leaves_nothing_and_sends_nothing(
    redis: Redis,
    redis_server: RedisServer,
    transcriber: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
    contract_prompts: Path,
) -> None:
    hold = threading.Event()
    hold.set()
    async with running_stack(
        redis, redis_server.url, transcriber, synthesizer, prompts_dir=contract_prompts
    ) as stack:
        stack.llm.hold = hold
        subject = _subject(stack)
        first = wh.payload(messages=[wh.text(ALICE, "wamid.e1", f"hello, I am {NAME}")], names={ALICE: NAME})
        await stack.post(first)
        await eventually(lambda: len(stack.graph.messages) == 1)
        await eventually(lambda: stack.privacy.content.count(subject), 10)  # T2 kept (contract basis)
        assert await redis.exists(conversation_key(subject, "state", SHARDS))

        hold.clear()  # the next answer waits in the model until the person is erased
        second = wh.text(ALICE, "wamid.e2", f"my email is {EMAIL}, I live in {WORD}")
        await stack.post(wh.payload(messages=[second], names={ALICE: NAME}))
        await eventually(lambda: len(stack.llm.requests) == 2)
        erased = await consent_command(
            settings(redis_server.url, contract_prompts), "erase", "default", ALICE
        )
        assert erased["subject"] == subject
        hold.set()
        await eventually(lambda: _erased_turns(stack), 20)

        assert len(stack.graph.messages) == 1  # the held answer never reached the Graph API
        (record,) = await _erased_turns(stack)
        assert record["subject"] is None  # the turn's own record does not name the person again
        left = await _keys_of(redis, subject)
        counters = {conversation_key(subject, s, SHARDS) for s in ("epoch", "fence")}
        assert left <= counters, left - counters  # no vault, history, memo, T2, inbox, data key, ledger
        for key in left:
            assert 0 < await redis.ttl(key) <= 86_400
        assert await stack.privacy.content.count(subject) == 0
        assert await stack.privacy.processing.records("default", subject) == []
        # What is kept on purpose: the content-free suppression record and the consent evidence.
        assert await redis.sismember(tenant_key("default", "suppressed"), subject)
        events = await stack.privacy.consent.events_of(subject)
        assert any(e["state"] == "erasure_pending" for e in events)
        assert (await stack.privacy.consent.ledger.verify("default")).ok

        # The person writes again after the erasure: a new conversation, answered as usual.
        await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.e3", "hello again")]))
        await eventually(lambda: len(stack.graph.messages) == 2)
        assert stack.graph.messages[1]["text"]["body"].endswith("You said: hello again")


def _call(call_id: str, caller: str) -> dict[str, Any]:
    sdp = (
        f"v=0\r\no=- 1 2 IN IP4 {CALLER_IP}\r\nc=IN IP4 {CALLER_IP}\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 111\r\n"
    )
    return {
        "id": call_id,
        "from": caller,
        "to": "15550001111",
        "event": "connect",
        "timestamp": str(int(asyncio.get_running_loop().time())),
        "direction": "USER_INITIATED",
        "session": {"sdp_type": "offer", "sdp": sdp},
    }


async def _values(redis: Redis) -> bytes:
    """Every key name and value in the server, read through the commands of each type."""
    out = bytearray()
    async for key in redis.scan_iter(match="*"):
        kind = (await redis.type(key)).decode()
        out += key + b"\n"
        if kind == "string":
            out += await redis.get(key) or b""
        elif kind == "hash":
            out += b"".join(k + v for k, v in (await redis.hgetall(key)).items())
        elif kind == "list":
            out += b"".join(await redis.lrange(key, 0, -1))
        elif kind == "set":
            out += b"".join(await redis.smembers(key))
        elif kind == "zset":
            out += b"".join(await redis.zrange(key, 0, -1))
        elif kind == "stream":
            for _, fields in await redis.xrange(key):
                out += b"".join(k + v for k, v in fields.items())
        out += b"\n"
    return bytes(out)


@pytest_asyncio.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of this test alone: its AOF and RDB hold nothing but this test's writes."""
    server = RedisServer(tmp_path / "data")
    server.start()
    yield server
    server.stop()


async def test_cli_erasure_leaves_nothing_readable_in_redis_or_on_disk(
    own_server: RedisServer,
    transcriber: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
    contract_prompts: Path,
    tmp_path: Path,
) -> None:
    redis = redis_client(own_server.url)
    needles = [
        ALICE.encode(),
        b"98765",
        NAME.encode(),
        b"Priya",
        EMAIL.encode(),
        WORD.encode(),
        CALLER_IP.encode(),
    ]
    text = f"Hi, I am {NAME}, write to {EMAIL} or call 98765 43210 about the {WORD} rooftop"
    async with running_stack(
        redis, own_server.url, transcriber, synthesizer, prompts_dir=contract_prompts
    ) as stack:
        subject = _subject(stack)
        await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.c1", text)], names={ALICE: NAME}))
        await eventually(lambda: len(stack.graph.messages) == 1)
        await eventually(lambda: stack.privacy.content.count(subject), 10)
        await stack.post(wh.payload(calls=[_call("wacid.e1", ALICE), _call("wacid.e2", BOB)]))
        assert await redis.xlen(CallQueue.STREAM) == 2
        # Sealed at rest from the start: nothing of the person in clear in Redis, even before the erasure.
        held = await _values(redis)
        assert not [n for n in needles if n in held]
        assert await redis.exists(conversation_key(subject, "dek", SHARDS))

        await consent_command(
            settings(own_server.url, contract_prompts), "erase", "default", "+91 98765 43210"
        )

    (_, bob_entry), *rest = await redis.xrange(CallQueue.STREAM)
    assert rest == []
    assert bob_entry[b"call_id"] == b"wacid.e2"  # the other caller's event stays
    await redis.set(
        "lc:test:canary", b"canary-7f3a-" + WORD.encode()[::-1]
    )  # proves the search sees clear text
    await redis.config_set("aof-use-rdb-preamble", "no")  # the rewritten AOF as commands: numbers as text
    await redis.config_set("rdbcompression", "no")
    await redis.bgrewriteaof()

    async def rewritten() -> bool:
        info = await redis.info("persistence")
        return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]

    await eventually(rewritten, 30)
    await redis.save()
    assert not [n for n in needles if n in await _values(redis)]
    assert await _keys_of(redis, subject) <= {
        conversation_key(subject, s, SHARDS) for s in ("epoch", "fence")
    }
    data_dir = own_server._folder
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".rdb" for p in files)
    assert any(".aof" in p.name for p in files)
    on_disk = b"".join(p.read_bytes() for p in files)
    assert b"canary-7f3a-" + WORD.encode()[::-1] in on_disk
    assert not [n for n in needles if n in on_disk]
    assert conversation_key(subject, "dek", SHARDS).encode() not in on_disk  # no wrapped key left either
    await redis.aclose()


# -- the fence, piece by piece ------------------------------------------------------------------------------


async def test_a_fenced_write_refuses_once_an_erasure_began_pending_or_finished(redis: Redis) -> None:
    writer, epochs = FencedWriter(redis, shards=SHARDS), Epochs(redis, shards=SHARDS)
    subject, key = "default:s1", conversation_key("default:s1", "handoff", SHARDS)
    await writer.write(Fence(subject, 0), [("SET", key, ["x"])])
    await redis.hset(conversation_key(subject, "consent", SHARDS), "o:erasure_pending", "1")
    with pytest.raises(ErasedError):
        await writer.write(Fence(subject, 0), [("SET", key, ["pending"])])
    await redis.delete(conversation_key(subject, "consent", SHARDS))
    began = await epochs.begin(subject)
    assert began == 1
    with pytest.raises(ErasedError):  # runs
        await writer.write(Fence(subject, 0), [("SET", key, ["running"])])
    with pytest.raises(ErasedError):  # a turn that claimed while it ran
        await writer.write(Fence(subject, began), [("SET", key, ["running"])])
    await epochs.end(subject, began)
    with pytest.raises(ErasedError):  # finished: the earlier turn still writes nothing
        await writer.write(Fence(subject, 0), [("SET", key, ["late"])])
    assert await redis.get(key) == b"x"
    await writer.write(await epochs.current(subject), [("SET", key, ["new turn"])])
    assert await redis.get(key) == b"new turn"


async def test_a_turn_never_creates_a_data_key_for_a_person_erased_since_it_began(redis: Redis) -> None:
    store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=SHARDS)
    epochs, subject = Epochs(redis, shards=SHARDS), "default:s2"
    began = await epochs.begin(subject)
    await epochs.end(subject, began)
    with pytest.raises(ErasedError):
        await store.seal(subject, b"vault", fence=Fence(subject, 0))
    assert not await redis.exists(conversation_key(subject, "dek", SHARDS))
    sealed = await store.seal(subject, b"vault", fence=Fence(subject, began + 1))  # a turn after it
    assert await store.open(subject, sealed) == b"vault"


async def test_the_reply_ledger_refuses_a_send_after_an_erasure(redis: Redis) -> None:
    queue = ConversationQueue(redis)
    subject = "default:s3"
    await queue.enqueue(subject, "wamid.q1", "text", {"tenant": "default"})
    claim = await queue.claim("w1")
    assert claim is not None
    assert claim.epoch == 0
    await Epochs(redis, shards=SHARDS).begin(subject)
    with pytest.raises(ErasedError):
        await queue.begin_send(claim, claim.jobs)
    with pytest.raises(ErasedError):
        await queue.remember(claim, "answer", b"sealed")
    assert not await redis.exists(conversation_key(subject, "replied", SHARDS))


async def test_call_events_are_sealed_trimmed_and_forgotten(redis: Redis) -> None:
    store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=SHARDS)
    calls = CallQueue(redis, store, keep_s=3600)
    old = int((await redis.time())[0] - 2 * 3600) * 1000
    await redis.xadd(
        CallQueue.STREAM, {"sealed": b"x", "tenant": b"default", "subject": b"default:a"}, id=f"{old}-0"
    )
    items = [
        _call_event("c1", "default", "default:a", ALICE, sdp=f"IN IP4 {CALLER_IP}"),
        _call_event("c2", "other", "other:b", BOB, sdp=""),
    ]
    assert await calls.enqueue_many(items) == [True, True]
    entries = await redis.xrange(CallQueue.STREAM)
    assert [e[1][b"call_id"] for e in entries] == [b"c1", b"c2"]  # the two-hour-old entry was trimmed
    raw = b"".join(v for _, fields in entries for v in fields.values())
    assert ALICE.encode() not in raw
    assert CALLER_IP.encode() not in raw
    assert (await calls.read(entries[0][1])).user_key == ALICE
    unsealed = json.dumps(_call_event("c0", "default", "default:a", ALICE).to_fields()).encode()
    legacy = {b"event": unsealed, b"call_id": b"c0"}  # written before events were sealed
    assert (await calls.read(legacy)).call_id == "c0"
    # What erasure and tenant deletion drop: the person's entries, then the other tenant's.
    assert sum([await drop_entries(redis, e) for e in subject_entries("default:a", SHARDS)]) == 1
    assert sum([await drop_entries(redis, e) for e in tenant_entries("other", SHARDS)]) == 1
    assert await redis.xlen(CallQueue.STREAM) == 0


async def test_with_a_separate_key_store_no_turn_recreates_a_key_after_an_erasure(
    redis: Redis, redis_server: RedisServer, tmp_path: Path
) -> None:
    """The key store cannot see the data server's epoch: the erasure raises the key store's own copy, and a
    data key for a turn is created only against it (and not while an erasure is pending)."""
    server = RedisServer(tmp_path / "keys")
    server.start()
    keys = redis_client(server.url)
    try:
        store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=SHARDS, key_store=keys)
        privacy = Privacy.build(
            redis, store, store.keyring, TenantRegistry.load(ROOT / "prompts"), shards=SHARDS
        )
        subject = privacy.subject("default", ALICE)
        await store.seal(subject, b"first words")  # ingress: a key now exists, in the key store only
        assert await keys.exists(conversation_key(subject, "dek", SHARDS))
        await privacy.rights.erase(subject, Actor("test", "cli"))
        assert await keys.get(conversation_key(subject, "epoch", SHARDS)) == b"2"
        with pytest.raises(ErasedError):
            await store.seal(subject, b"late words", fence=Fence(subject, 0))
        assert not await keys.exists(conversation_key(subject, "dek", SHARDS))
        pending = Transition({}, add_overlays=frozenset({Overlay.ERASURE_PENDING}))
        await privacy.consent.apply(subject, pending, Context(method=Method.KEYWORD, channel="whatsapp",
                                                              actor="subject", config_version="t"))  # fmt: skip
        with pytest.raises(ErasedError):
            await store.seal(subject, b"words", fence=Fence(subject, 2))
        assert not await keys.exists(conversation_key(subject, "dek", SHARDS))
    finally:
        await keys.aclose()
        server.stop()


async def test_a_lead_of_a_turn_from_before_an_erasure_is_never_added(redis: Redis) -> None:
    store = ConversationStore(redis, Keyring(master_secret(MASTER)), shards=SHARDS)
    leads = LeadStore(redis, store, shards=SHARDS)
    subject = "default:s4"
    assert await leads.add(subject, {"name": "<PERSON_1>"}, dedupe_key="t1:1", fence=Fence(subject, 0))
    began = await Epochs(redis, shards=SHARDS).begin(subject)
    await Epochs(redis, shards=SHARDS).end(subject, began)
    with pytest.raises(ErasedError):
        await leads.add(subject, {"name": "<PERSON_1>"}, dedupe_key="t1:2", fence=Fence(subject, 0))
    assert await redis.llen(leads.key(subject)) == 1
    assert not await redis.exists(conversation_key(subject, "lead:t1:2", SHARDS))


def _call_event(
    call_id: str, tenant: str, subject: str, user_key: str, *, sdp: str | None = None
) -> QueuedCall:
    return QueuedCall(
        tenant=tenant,
        subject=subject,
        call_id=call_id,
        event="connect",
        phone_number_id="15550001111",
        user_key=user_key,
        timestamp=1_700_000_000,
        sdp=sdp,
    )
