"""Consent end to end (tests/agent/stack.py): the real app and worker on a real redis-server with the real
models; the Graph API and the LLM are the local peers on 127.0.0.1 (Meta and a hosted LLM cannot run here).

What the privacy policy promises, shown on the running product: no content kept without consent, exports
and erasure that reach the AOF, keywords in three scripts before any model, STOP stopping a turn in flight,
the AI disclosure once per conversation start."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import time
import zipfile
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

from agent.messages.ingress import Durability
from agent.privacy.ledger import Context
from agent.privacy.outreach import MarketingSender
from agent.privacy.rights import Actor
from agent.storage.keyring import SealError
from agent.storage.keys import conversation_key
from agent.tenants.registry import TenantRegistry
from agent.whatsapp import GraphClient
from pipelines.audio import decode, encode_voice_note
from pipelines.consent import Intent, Method, Purpose, State, Transition
from tests.agent.stack import TOKEN, TOKEN_ENV, Stack, eventually, running_stack
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ON_SERVER_AND_CLUSTER, ROOT, redis_client
from tests.ears import heard
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.conftest import RedisBackend

ALICE = "919876543210"
SAMPLE = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()
ADMIN = Actor("test-operator", "cli")
TENANT_API = Context(
    method=Method.TENANT_API, channel="admin_api", actor="tenant:default", config_version="t"
)


pytestmark = ON_SERVER_AND_CLUSTER  # the same promises on one server and on a 3-primary cluster


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest_asyncio.fixture
async def stack(
    redis: Redis, redis_backend: RedisBackend, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> AsyncIterator[Stack]:
    async with running_stack(redis, redis_backend.url, transcriber, synthesizer) as s:
        yield s


def _alice(stack: Stack) -> str:
    return stack.privacy.subject("default", ALICE)


async def _turn_records(stack: Stack, outcome: str | None = None) -> list[dict[str, Any]]:
    rows = await stack.privacy.processing.records("default", _alice(stack))
    return [r for r in rows if r["event"] == "turn" and (outcome is None or r["outcome"] == outcome)]


async def test_voice_note_without_retention_consent_leaves_no_content(
    stack: Stack, redis: Redis, transcriber: WhisperTranscriber
) -> None:
    sha = stack.add_voice_note("3000000001", SAMPLE)
    with capture_logs() as logs:
        await stack.post(wh.payload(messages=[wh.voice(ALICE, "wamid.n1", "3000000001", sha)]))
        await eventually(lambda: len(stack.graph.messages) == 1, 60)
        await eventually(lambda: _turn_records(stack, "replied"), 10)
    subject = _alice(stack)
    assert await stack.privacy.content.count(subject) == 0
    assert [k async for k in redis.scan_iter(match="*:t2")] == []
    (record,) = await _turn_records(stack)
    assert record["message"] != "wamid.n1"
    assert set(record) == {
        "id", "at", "event", "subject", "outcome", "message", "timings_ms", "sizes", "models", "tokens", "counts",
    }  # fmt: skip
    assert {"stt", "llm", "tts"} <= set(record["timings_ms"])
    assert record["tokens"]["prompt"] > 0
    # What the person said (the LLM peer saw its minimized form) is in no log line, nor their number.
    said = stack.llm.requests[0]["messages"][-1]["content"]
    words = {w.strip(".,?!").lower() for w in said.split() if len(w) > 4 and "<" not in w}
    logged = json.dumps(logs).lower() + json.dumps(record).lower()
    assert words, said
    assert not any(word in logged for word in words)
    assert ALICE not in logged
    assert "98765" not in logged
    assert not await redis.exists(conversation_key(subject, "memo", 8))  # the retry memo ends with the turn
    # Without retention, the minimized history is working memory for the 24 h service window only.
    assert 0 < await redis.ttl(conversation_key(subject, "state", 8)) <= 24 * 3600
    # The first reply is a voice note that speaks the AI disclosure first.
    (sent,) = stack.graph.messages
    spoken = heard(transcriber, decode(stack.graph.uploads[sent["audio"]["id"]].data)).lower()
    assert "assistant" in spoken
    assert spoken.index("assistant") < len(spoken) // 2


def _since_last_flush(commands: list[list[bytes]]) -> list[list[bytes]]:
    """This test's writes: the servers are shared by the session, each test starts with FLUSHDB."""
    flushes = [i for i, c in enumerate(commands) if c[0].upper() in (b"FLUSHDB", b"FLUSHALL")]
    return commands[flushes[-1] + 1 :]


def _aof_commands(folder: Path) -> list[list[bytes]]:
    """Every command in the AOF files of `folder` (RESP arrays; the RDB preamble of a base file skipped)."""
    commands = []
    for path in sorted(folder.glob("*.aof")):
        data = path.read_bytes()
        pos = data.find(b"*")
        while 0 <= pos < len(data):
            end = data.index(b"\r\n", pos)
            count, pos, args = int(data[pos + 1 : end]), end + 2, []
            for _ in range(count):
                end = data.index(b"\r\n", pos)
                size = int(data[pos + 1 : end])
                args.append(data[end + 2 : end + 2 + size])
                pos = end + 2 + size + 2
            commands.append(args)
            pos = data.find(b"*", pos) if pos < len(data) else -1
    return commands


@pytest_asyncio.fixture
async def key_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """The data keys' own redis-server: its AOF is not the data's AOF."""
    server = RedisServer(tmp_path / "keys")
    server.start()
    yield server
    server.stop()


async def test_retained_content_is_exported_then_erased_even_from_an_aof_copy(
    redis: Redis,
    redis_backend: RedisBackend,
    key_server: RedisServer,
    transcriber: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
    tmp_path: Path,
) -> None:
    keys = redis_client(key_server.url)
    async with running_stack(redis, redis_backend.url, transcriber, synthesizer, key_store=keys) as stack:
        subject = _alice(stack)
        grant = Transition({Purpose.RETAIN_CONTENT: State.GRANTED, Purpose.MARKETING: State.GRANTED})
        await stack.privacy.consent.apply(subject, grant, TENANT_API)
        sha = stack.add_voice_note("3000000002", SAMPLE)
        await stack.post(wh.payload(messages=[wh.voice(ALICE, "wamid.r1", "3000000002", sha)]))
        await eventually(lambda: len(stack.graph.messages) == 1, 60)
        await eventually(lambda: _turn_records(stack, "replied"), 10)
        lead = {"name": "<PERSON_1>", "interest": "3 kW rooftop"}
        store = stack.privacy.store  # seal/open with the subject's data key
        await redis.rpush(
            conversation_key(subject, "leads", 8), await store.seal(subject, json.dumps(lead).encode())
        )

        entries = await stack.privacy.content.entries(subject)
        assert [e.kind for e in entries] == ["transcript", "prompt", "reply"]
        transcript = entries[0].text
        assert "<PHONE_1>" in entries[1].text  # the minimized prompt text, as the LLM saw it
        raw = b"".join(await redis.zrange(conversation_key(subject, "t2", 8), 0, -1))
        assert max(transcript.split(), key=len).encode() not in raw  # sealed at rest

        archive = zipfile.ZipFile(io.BytesIO(await stack.privacy.rights.export(subject, ADMIN)))
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["counts"]["conversation_entries"] == 3
        assert manifest["counts"]["leads"] == 1
        for name, digest in manifest["files"].items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest
        rows = [json.loads(line) for line in archive.read("conversations.jsonl").splitlines()]
        assert rows[0]["text"] == transcript
        assert json.loads(archive.read("leads.json")) == [lead]
        summary = json.loads(archive.read("processing_summary.json"))
        assert summary["retention_days"]["content"] == 14
        assert summary["purposes"]["retain_content"]["state"] == "granted"

        await Durability(redis).wait()  # WAITAOF where the server has it; the AOF is written before replies
        copy = tmp_path / "aof-before-erasure"
        for node, aof_dir in enumerate(redis_backend.aof_dirs):  # a cluster: each primary's own AOF
            shutil.copytree(aof_dir, copy / str(node))

        erased = await stack.privacy.rights.erase(subject, ADMIN)
        assert erased.keys_deleted > 0
        assert await keys.get(conversation_key(subject, "dek", 8)) is None

        after = zipfile.ZipFile(io.BytesIO(await stack.privacy.rights.export(subject, ADMIN)))
        assert after.read("conversations.jsonl") == b""
        assert json.loads(after.read("leads.json")) == []
        assert json.loads(after.read("manifest.json"))["counts"]["conversation_entries"] == 0
        decision = await stack.privacy.guard.may("default", subject, Purpose.MARKETING)
        assert (decision.allowed, decision.reason) == (False, "suppressed")

        commands = [c for node in copy.iterdir() for c in _since_last_flush(_aof_commands(node))]
        t2_key = conversation_key(subject, "t2", 8).encode()
        sealed = [c[i] for c in commands if c[0].upper() == b"ZADD" and c[1] == t2_key for i in (3, 5, 7)]
        assert len(sealed) == 3
        assert not any(c[1].endswith(b":dek") for c in commands if len(c) > 1)  # keys never were in this AOF
        assert transcript.encode() not in b"".join(p.read_bytes() for p in copy.rglob("*") if p.is_file())
        for value in sealed:
            with pytest.raises(SealError):
                await store.open(subject, value)
        audit = [r.body for r in await stack.privacy.rights.audit.records("default")]
        assert [(a["action"], a["actor"]) for a in audit] == [
            ("export", "test-operator"),
            ("erase", "test-operator"),
            ("export", "test-operator"),
        ]
        assert audit[1]["counts"]["content_entries"] == 3
        assert audit[1]["counts"]["processing_records"] >= 1
        assert await stack.privacy.processing.records("default", subject) == []
        assert (await stack.privacy.rights.audit.verify("default")).ok
    await keys.aclose()


@pytest.mark.parametrize(
    ("message", "language"),
    [("STOP", "en"), ("Unsubscribe", "en"), ("band karo", "hi"), ("बंद करो", "hi"), ("mat bhejo!", "hi")],
)
async def test_stop_in_each_language_is_confirmed_recorded_and_ends_marketing(
    stack: Stack, message: str, language: str
) -> None:
    subject = _alice(stack)
    await stack.privacy.consent.apply(subject, Transition({Purpose.MARKETING: State.GRANTED}), TENANT_API)
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.s1", message)]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    tenant = TenantRegistry.load(ROOT / "prompts").get("default").config
    expected = tenant.catalogue.get(language).confirmations[Intent.OPT_OUT].replace("{business}", tenant.name)
    assert stack.graph.messages[0]["text"]["body"] == expected
    assert stack.llm.requests == []  # no model saw the keyword
    events = [e for e in await stack.privacy.consent.events_of(subject) if e["method"] == "keyword"]
    assert {(e["purpose"], e["state"], e["evidence"]) for e in events} >= {
        ("marketing", "withdrawn", "wamid.s1"),
        ("reply", "withdrawn", "wamid.s1"),
    }
    assert not await stack.privacy.guard.may("default", subject, Purpose.MARKETING)
    assert (await stack.privacy.consent.ledger.verify("default")).ok


async def test_a_turn_in_flight_sends_nothing_after_a_stop(stack: Stack) -> None:
    stack.llm.delay_s = 1.0
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.f1", "what does a 3 kW system cost?")]))
    await eventually(lambda: len(stack.llm.requests) == 1)  # the turn is waiting for the model
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.f2", "STOP")]))
    await eventually(lambda: _turn_records(stack, "withdrawn"), 15)
    await eventually(lambda: len(stack.graph.messages) == 1)
    (only,) = stack.graph.messages
    assert "no more messages" in only["text"]["body"]  # the STOP confirmation, not the answer


async def test_disclosure_goes_out_once_per_conversation_start(stack: Stack) -> None:
    for i, text in enumerate(["hello", "do you install in Pune?"]):
        await stack.post(wh.payload(messages=[wh.text(ALICE, f"wamid.d{i}", text)]))
        await eventually(lambda i=i: len(stack.graph.messages) == i + 1)
    first, second = (m["text"]["body"] for m in stack.graph.messages)
    assert "automated AI assistant" in first
    assert first.endswith("You said: hello")
    assert second == "You said: do you install in Pune?"
    notices = [e for e in await stack.privacy.consent.events_of(_alice(stack)) if e["method"] == "disclosure"]
    assert {e["purpose"] for e in notices} == {"reply", "human_review"}
    assert all(e["evidence"].startswith("wamid.") and e["notice_sha256"] for e in notices)


async def test_human_hands_the_conversation_over_and_the_ai_stays_silent(stack: Stack) -> None:
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.h1", "HUMAN")]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    assert "person from Suryoday Solar" in stack.graph.messages[0]["text"]["body"]
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.h2", "how much for 5 kW?")]))
    await eventually(lambda: _turn_records(stack, "handed_off"), 10)
    assert len(stack.graph.messages) == 1
    assert stack.llm.requests == []


async def test_data_requests_by_keyword_reach_the_businesss_audit_log(stack: Stack) -> None:
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.a1", "What data do you have?")]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    assert "copy of your data" in stack.graph.messages[0]["text"]["body"]
    (request,) = [r.body for r in await stack.privacy.rights.audit.records("default")]
    assert (request["action"], request["actor"], request["subject"]) == (
        "request_export",
        "subject",
        _alice(stack),
    )


async def test_delete_request_stops_processing_at_once(stack: Stack) -> None:
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.x1", "mera data mita do")]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    assert "मिटा" in stack.graph.messages[0]["text"]["body"]  # answered in Hindi
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.x2", "hello?")]))
    await eventually(lambda: _turn_records(stack, "erasure_pending"), 10)
    assert len(stack.graph.messages) == 1
    assert await stack.privacy.consent.pending_erasures("default") == [_alice(stack)]


WEEK_AHEAD = int(time.time()) + 7 * 86_400  # Meta's temporary call permission lasts 7 days


def _signals_body() -> bytes:
    now = int(time.time())  # signals given now: after anything the test recorded before
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": wh.PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": ALICE}],
        "user_preferences": [
            {"wa_id": ALICE, "detail": "User requested to stop marketing messages", "category":
             "marketing_messages", "value": "stop", "timestamp": now},
        ],
    }  # fmt: skip
    permission = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": wh.PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": ALICE}],
        "messages": [
            {"from": ALICE, "id": "wamid.cp1", "timestamp": str(now), "type": "interactive",
             "interactive": {"type": "call_permission_reply", "call_permission_reply": {
                 "response": "accept", "is_permanent": False, "expiration_timestamp": WEEK_AHEAD}}},
        ],
    }  # fmt: skip
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "200000000000002",
                    "changes": [
                        {"field": "user_preferences", "value": value},
                        {"field": "messages", "value": permission},
                    ],
                }
            ],
        }
    ).encode()


async def test_meta_marketing_stop_and_call_permission_become_ledger_events(stack: Stack) -> None:
    subject = _alice(stack)
    await stack.privacy.consent.apply(subject, Transition({Purpose.MARKETING: State.GRANTED}), TENANT_API)
    body = _signals_body()
    response = await stack.post(body)
    assert response.status_code == 200
    assert response.json()["messages"] == 0  # nothing to answer
    events = await stack.privacy.consent.events_of(subject)
    assert {(e["purpose"], e["state"], e["method"], e["actor"]) for e in events[1:]} == {
        ("marketing", "withdrawn", "meta_user_preferences", "meta"),
        ("calls", "granted", "meta_call_permission", "meta"),
    }
    assert not await stack.privacy.guard.may("default", subject, Purpose.MARKETING)
    assert await stack.privacy.guard.may("default", subject, Purpose.CALLS)
    assert [e["expires_at"] for e in events if e["purpose"] == "calls"] == [WEEK_AHEAD]
    await stack.post(body)  # Meta retries: nothing is recorded twice
    assert len(await stack.privacy.consent.events_of(subject)) == len(events)
    await asyncio.sleep(0.2)
    assert stack.graph.messages == []


async def test_a_reply_claiming_to_be_a_person_is_never_sent(
    redis: Redis, redis_backend: RedisBackend, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> None:
    def liar(_: list[dict[str, Any]]) -> str:
        return "Yes, I'm a real person from the sales team."

    async with running_stack(redis, redis_backend.url, transcriber, synthesizer, reply=liar) as stack:
        for i in range(2):  # with the first-contact disclosure, and without it
            await stack.post(wh.payload(messages=[wh.text(ALICE, f"wamid.l{i}", "are you a bot?")]))
            await eventually(lambda i=i: len(stack.graph.messages) == i + 1)
    bodies = [m["text"]["body"] for m in stack.graph.messages]
    assert all("real person" not in body for body in bodies)
    assert bodies[0] == bodies[1]
    assert "automated AI assistant" in bodies[1]


async def test_marketing_goes_out_only_while_allowed(stack: Stack) -> None:
    subject = _alice(stack)
    async with httpx.AsyncClient(timeout=5.0) as http:
        graph = GraphClient(
            http, stack.graph.base_url, media_hosts=("127.0.0.1",), allow_insecure_loopback=True
        )
        sender = MarketingSender(
            graph, stack.privacy.gate, TenantRegistry.load(ROOT / "prompts"), stack.privacy.identities
        )
        assert await sender.send_template("default", ALICE, "solar_offer", "en") is None  # opt-in only
        await stack.privacy.consent.apply(subject, Transition({Purpose.MARKETING: State.GRANTED}), TENANT_API)
        assert await sender.send_template("default", ALICE, "solar_offer", "en") is not None
        await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.m1", "बंद करो")]))
        # The webhook recorded the STOP as it accepted it: the very next send is refused, before any worker ran.
        assert await sender.send_template("default", ALICE, "solar_offer", "en") is None
        await eventually(lambda: len(stack.graph.messages) == 2)
    kinds = [m["type"] for m in stack.graph.messages]
    assert kinds == ["template", "text"]  # the one allowed offer, then the STOP confirmation
    outcomes = [
        r["outcome"]
        for r in await stack.privacy.processing.records("default", subject)
        if r["event"] == "marketing"
    ]
    assert outcomes == ["unknown", "sent", "withdrawn"]


async def test_stop_said_in_a_voice_note_is_a_keyword_too(
    stack: Stack, synthesizer: PiperSynthesizer
) -> None:
    """Piper says "Stop messaging me." and the real tiny.en model transcribes it; no LLM request follows.
    (A one-word "Stop." is under a second of audio: the hallucination guard refuses it now and then.)"""
    speech = await synthesizer.synthesize("Stop messaging me.")
    sha = stack.add_voice_note("3000000009", encode_voice_note(speech))
    await stack.post(wh.payload(messages=[wh.voice(ALICE, "wamid.vs1", "3000000009", sha)]))
    await eventually(lambda: len(stack.graph.messages) == 1, 60)
    assert stack.llm.requests == []
    events = [e for e in await stack.privacy.consent.events_of(_alice(stack)) if e["purpose"] == "reply"]
    assert [(e["state"], e["method"], e["evidence"]) for e in events] == [("withdrawn", "voice", "wamid.vs1")]
