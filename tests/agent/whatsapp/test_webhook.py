"""The HTTP ingress against a real redis-server: every documented outcome of Meta's webhook calls."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis as AsyncRedis

from agent.http.app import Service, create_app, create_service, serve
from agent.messages.queue import CLEAR_FIELDS, CallQueue, open_payload
from agent.metrics import Metrics
from agent.storage.conversations import ConversationStore
from agent.storage.keyring import Keyring, master_secret
from tests.agent.stack import MASTER, eventually, settings
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path

ALICE, BOB = "919876543210", "447700900123"
T = TypeVar("T")


@pytest.fixture
def sync_redis(redis_server: RedisServer) -> Iterator[SyncRedis]:
    client = SyncRedis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def service(redis_server: RedisServer, sync_redis: SyncRedis) -> Service:
    return create_service(settings(redis_server.url), metrics=Metrics())


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """The public listener, its lifespan running (it owns what the ops listener uses too)."""
    with TestClient(service.public) as c:
        yield c


@pytest.fixture
def ops(service: Service, client: TestClient) -> TestClient:
    """The ops listener (`/metrics`, `/admin/`), beside the running public one."""
    return TestClient(service.ops)


def _with_store(r: SyncRedis, use: Callable[[AsyncRedis, ConversationStore], Awaitable[T]]) -> T:
    """Runs `use` with the deployment's conversation store on the same server, as a worker opens entries."""

    async def run() -> T:
        client = AsyncRedis.from_url(f"redis://127.0.0.1:{r.connection_pool.connection_kwargs['port']}/0")
        try:
            return await use(client, ConversationStore(client, Keyring(master_secret(MASTER)), shards=8))
        finally:
            await client.aclose()

    return asyncio.run(run())


def _inbox_entries(r: SyncRedis) -> list[dict[str, Any]]:
    """Inbox payloads, opened. In clear at rest are only the routing fields: the rest is sealed."""
    sealed = []
    for key in r.scan_iter("lc:*:c:*:inbox"):
        conv = key.decode().split(":c:", 1)[1].rsplit(":", 1)[0]
        for _, fields in r.xrange(key):
            payload = json.loads(fields[b"event"])
            assert set(payload) - set(CLEAR_FIELDS) == {"sealed"}
            sealed.append((conv, payload))

    async def opened(_: AsyncRedis, store: ConversationStore) -> list[dict[str, Any]]:
        return [{"key": conv, **await open_payload(store, conv, payload)} for conv, payload in sealed]

    return _with_store(r, opened)


def _stream_values(r: SyncRedis, key: bytes) -> list[bytes]:
    if r.type(key) != b"stream":
        return []
    return [v for _, fields in r.xrange(key) for v in fields.values()]


def _post(client: TestClient, body: bytes, **headers: str) -> tuple[int, dict[str, object]]:
    response = client.post("/webhooks/whatsapp", content=body, headers=headers or wh.headers(body))
    return response.status_code, response.json()


def test_subscription_handshake(client: TestClient) -> None:
    ok = client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert wrong.status_code == 403
    assert client.get("/webhooks/whatsapp").status_code == 403


@pytest.mark.parametrize("token", ["नमस्ते", "verify-mé", "%FF%FEverify", "verify-me%00"])
def test_a_non_ascii_verify_token_is_refused_not_an_error(client: TestClient, token: str) -> None:
    """Raw in the query (percent-encoded UTF-8, or bytes that are not UTF-8): 403, never a 500."""
    answer = client.get(f"/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token={token}")
    assert (answer.status_code, answer.text) == (403, "forbidden")


async def test_metrics_and_admin_are_not_on_the_public_listener(service: Service) -> None:
    async with (
        service.public.router.lifespan_context(service.public),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.public), base_url="http://public"
        ) as public,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=service.ops), base_url="http://ops") as ops,
    ):
        assert (await public.get("/metrics")).status_code == 404
        assert (await public.post("/admin/default/consent/status", json={"user": ALICE})).status_code == 404
        assert (await ops.get("/metrics")).status_code == 200
        assert (await ops.post("/admin/default/consent/status", json={"user": ALICE})).status_code == 401
        assert (await ops.post("/webhooks/whatsapp", content=b"{}")).status_code == 404


def test_signed_text_is_enqueued_with_what_the_worker_needs(
    client: TestClient, sync_redis: SyncRedis
) -> None:
    body = wh.payload(messages=[wh.text(ALICE, "wamid.1", "Price of 3 kW?")])
    assert _post(client, body) == (
        200,
        {"messages": 1, "duplicates": 0, "statuses": 0, "calls": 0, "unknown_tenant": 0},
    )
    (entry,) = _inbox_entries(sync_redis)
    assert entry["tenant"] == "default"
    assert entry["to"] == ALICE
    assert entry["kind"] == "text"
    assert entry["text"] == "Price of 3 kW?"
    assert ALICE not in str(entry["key"])  # Redis keys carry a keyed hash, not the phone number
    at_rest = b"".join(v for key in sync_redis.scan_iter("lc:*") for v in _stream_values(sync_redis, key))
    assert ALICE.encode() not in at_rest  # sealed with the person's data key: erasure reaches the AOF
    assert b"Price of 3 kW" not in at_rest
    assert b"Customer" not in at_rest  # the profile name


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        ("missing", 401),
        ("wrong_secret", 403),
        ("reserialized", 403),
        ("bad_prefix", 403),
    ],
)
def test_unsigned_or_wrongly_signed_changes_nothing(
    client: TestClient, sync_redis: SyncRedis, tamper: str, status: int
) -> None:
    body = wh.payload(messages=[wh.text(ALICE, "wamid.1", "hi")])
    headers = wh.headers(body)
    if tamper == "missing":
        del headers["X-Hub-Signature-256"]
    elif tamper == "wrong_secret":
        headers = wh.headers(body, secret="another-secret")
    elif tamper == "bad_prefix":
        headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"].replace("sha256=", "sha1=")
    else:
        body = json.dumps(json.loads(body), indent=1).encode()  # same JSON, other bytes
    code, _ = _post(client, body, **headers)
    assert code == status
    assert sync_redis.dbsize() == 0


def test_truncated_json_is_a_clear_400_without_content(client: TestClient, sync_redis: SyncRedis) -> None:
    body = wh.payload(messages=[wh.text(ALICE, "wamid.1", "my secret text")])[:-7]
    code, answer = _post(client, body)
    assert code == 400
    assert answer == {"error": "body is not valid JSON"}
    assert sync_redis.dbsize() == 0


def test_schema_mismatch_names_the_place_not_the_value(client: TestClient) -> None:
    bad = wh.text(ALICE, "wamid.1", "hi")
    bad["timestamp"] = "not-a-time"
    code, answer = _post(client, wh.payload(messages=[bad]))
    assert code == 400
    assert "messages.0.timestamp" in str(answer["error"])
    assert "not-a-time" not in str(answer["error"])
    assert ALICE not in str(answer["error"])


def test_oversized_body_is_refused(client: TestClient) -> None:
    body = b"{" + b" " * (3 * 1024 * 1024 + 10) + b"}"
    code, _ = _post(client, body)
    assert code == 413


def test_unknown_tenant_is_acknowledged_and_counted(
    client: TestClient, ops: TestClient, sync_redis: SyncRedis
) -> None:
    body = wh.payload(messages=[wh.text(ALICE, "wamid.1", "hi")], phone_number_id="999")
    code, answer = _post(client, body)
    assert (code, answer["unknown_tenant"], answer["messages"]) == (200, 1, 0)
    assert _inbox_entries(sync_redis) == []
    metrics = ops.get("/metrics").text
    assert 'leadclose_events_total{kind="text",outcome="unknown_tenant",tenant="unknown"} 1.0' in metrics


def test_a_batch_with_two_users_makes_two_conversations(client: TestClient, sync_redis: SyncRedis) -> None:
    body = wh.payload(
        messages=[wh.text(ALICE, "wamid.a", "from alice"), wh.text(BOB, "wamid.b", "from bob")],
        names={ALICE: "Alice", BOB: "Bob"},
    )
    assert _post(client, body)[1]["messages"] == 2
    entries = sorted(_inbox_entries(sync_redis), key=lambda e: str(e["text"]))
    assert [(e["to"], e["profile_name"]) for e in entries] == [(ALICE, "Alice"), (BOB, "Bob")]
    assert entries[0]["key"] != entries[1]["key"]


def test_the_same_webhook_five_times_also_concurrently_is_one_message(
    client: TestClient, sync_redis: SyncRedis
) -> None:
    body = wh.payload(messages=[wh.text(ALICE, "wamid.dup", "once please")])
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(_post(client, body)[0])) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 5
    assert len(_inbox_entries(sync_redis)) == 1


def test_statuses_are_monotonic_whatever_the_order(client: TestClient, sync_redis: SyncRedis) -> None:
    for state in ("read", "sent", "delivered"):
        _post(client, wh.payload(statuses=[wh.status("wamid.out1", state, ALICE, 1000)]))
    _post(client, wh.payload(statuses=[wh.status("wamid.out2", "failed", ALICE, 1000, 131047)]))
    _post(client, wh.payload(statuses=[wh.status("wamid.out2", "delivered", ALICE, 1001)]))
    assert sync_redis.hget("lc:status:{wamid.out1}", "status") == b"read"
    failed = sync_redis.hgetall("lc:status:{wamid.out2}")
    assert (failed[b"status"], failed[b"error_code"]) == (b"failed", b"131047")


def test_calls_are_routed_to_the_call_queue_once(client: TestClient, sync_redis: SyncRedis) -> None:
    call = {
        "id": "wacid.1",
        "from": ALICE,
        "to": "15550001111",
        "event": "connect",
        "timestamp": "1717171717",
        "direction": "USER_INITIATED",
        "session": {"sdp_type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},
    }
    for _ in range(2):
        assert _post(client, wh.payload(calls=[call]))[0] == 200
    ((_, fields),) = sync_redis.xrange("lc:{calls}:events")
    assert ALICE.encode() not in b"".join(fields.values())  # the number and the SDP are sealed
    assert b"127.0.0.1" not in fields[b"sealed"]
    event = _with_store(sync_redis, lambda client, store: CallQueue(client, store).read(fields))
    assert (event.call_id, event.event, event.tenant, event.sdp_type) == (
        "wacid.1",
        "connect",
        "default",
        "offer",
    )


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    shipped = len(list((ROOT / "prompts").glob("*/tenant.yaml")))
    assert client.get("/readyz").json() == {"status": "ready", "tenants": shipped}


def test_redis_down_means_503_so_meta_retries(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "down")  # a port nobody listens on
    with TestClient(create_app(settings(server.url), metrics=Metrics())) as client:
        body = wh.payload(messages=[wh.text(ALICE, "wamid.1", "hi")])
        assert _post(client, body)[0] == 503
        assert client.get("/readyz").status_code == 503


async def test_serve_opens_the_ops_listener_apart_from_the_public_one(redis_server: RedisServer) -> None:
    """`leadclose serve` for real: two sockets; /metrics answers only on the ops one (127.0.0.1 here)."""
    public_port, ops_port = _free_port(), _free_port()
    config = settings(redis_server.url, http_port=public_port, ops_port=ops_port)
    assert config.ops_host == "127.0.0.1"
    assert config.metrics_host == "127.0.0.1"  # the worker's and the call worker's /metrics too
    stop = asyncio.Event()
    server = asyncio.create_task(serve(config, stop=stop))
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:

            async def up() -> bool:
                try:
                    await http.get(f"http://127.0.0.1:{ops_port}/metrics")
                    await http.get(f"http://127.0.0.1:{public_port}/healthz")
                except httpx.ConnectError:
                    return False
                return True

            await eventually(up, within_s=20)
            assert (await http.get(f"http://127.0.0.1:{public_port}/metrics")).status_code == 404
            assert (await http.get(f"http://127.0.0.1:{public_port}/healthz")).status_code == 200
            assert (await http.get(f"http://127.0.0.1:{ops_port}/metrics")).status_code == 200
            assert (await http.get(f"http://127.0.0.1:{ops_port}/healthz")).status_code == 404
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
