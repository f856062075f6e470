"""The business tools against a real redis-server and the local tenant endpoint (tests/agent/tenant_peer.py,
which verifies the HMAC signature as a business's receiver must); unreachable and silent endpoints are real
sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from agent.egress import GuardedTransport
from agent.storage.conversations import ConversationStore
from agent.storage.handoff import HandoffFlags
from agent.storage.keyring import Keyring, master_secret
from agent.storage.leads import LeadStore
from agent.tenants.automation import AutomationConfig, Booking
from agent.tenants.registry import Tenant, load_tenant
from agent.tools.booking import Calendar
from agent.tools.conversation import EndpointCaller, ToolFactory, signature
from pipelines.automation import ToolError
from tests.agent.stack import PEERS
from tests.agent.tenant_peer import TenantPeer, serve_tenant_peer
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from redis.asyncio import Redis

SECRET = b"whsec-tools-test"
# Monday 30 November 2026, 10:07 in Pune (04:37 UTC)
MONDAY_MORNING = datetime(2026, 11, 30, 4, 37, tzinfo=UTC).timestamp()
HOURS = Booking(
    tool="book_appointment", slot_minutes=30, proposals=3, hours={"mon": "10:00-12:00", "wed": "09:00-10:00"}
)


@pytest.fixture
def peer() -> Iterator[TenantPeer]:
    with serve_tenant_peer(SECRET) as p:
        yield p


@pytest.fixture
async def caller() -> AsyncIterator[EndpointCaller]:
    """Tenant endpoints through the guarded transport, 127.0.0.1 opened as ops would for a sidecar."""
    async with EndpointCaller(GuardedTransport(PEERS)) as c:
        yield c


async def _call(caller: EndpointCaller, method: str, url: str, max_bytes: int = 1024) -> str:
    return await caller.call(
        method, url, SECRET, {"q": "Baner", "n": 2}, timeout_s=1.0, max_bytes=max_bytes, idempotency_key="k1"
    )


async def test_requests_are_signed_so_the_business_can_verify_them(
    peer: TenantPeer, caller: EndpointCaller
) -> None:
    assert json.loads(await _call(caller, "POST", f"{peer.base_url}/leads")) == {"ok": True}
    assert json.loads(await _call(caller, "GET", f"{peer.base_url}/search?v=1")) == {"ok": True}
    post, get = peer.received
    assert post.body == {"q": "Baner", "n": 2}
    assert get.body == {"v": "1", "q": "Baner", "n": "2"}
    assert post.headers["idempotency-key"] == "k1"
    assert peer.rejected == []
    # A receiver holding another secret rejects the same request.
    with serve_tenant_peer(b"another-secret") as other:
        with pytest.raises(ToolError, match="answered HTTP 401"):
            await _call(caller, "POST", f"{other.base_url}/leads")
        assert other.rejected == ["/leads"]


def test_signature_covers_timestamp_and_body() -> None:
    base = signature(SECRET, 1000, b"{}")
    assert base.startswith("sha256=")
    assert signature(SECRET, 1001, b"{}") != base
    assert signature(SECRET, 1000, b"{ }") != base


async def test_endpoint_failures_become_fixed_tool_errors(peer: TenantPeer, caller: EndpointCaller) -> None:
    peer.answers["/big"] = (200, b"x" * 5000)
    peer.answers["/moved"] = (302, b"")
    peer.answers["/down"] = (503, b'{"secret internal detail": "db at 10.0.0.5"}')
    with pytest.raises(ToolError, match="too large"):
        await _call(caller, "POST", f"{peer.base_url}/big", max_bytes=4096)
    with pytest.raises(ToolError, match="answered HTTP 302"):  # redirects are not followed anywhere
        await _call(caller, "POST", f"{peer.base_url}/moved")
    with pytest.raises(ToolError) as err:
        await _call(caller, "POST", f"{peer.base_url}/down")
    assert str(err.value) == "the business system answered HTTP 503"


async def test_silent_and_unreachable_endpoints(caller: EndpointCaller) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: connection refused
    try:
        with pytest.raises(ToolError, match="did not answer in time"):
            await _call(caller, "POST", f"http://127.0.0.1:{silent.getsockname()[1]}/x")
        with pytest.raises(ToolError, match="could not be reached"):
            await _call(caller, "POST", f"http://127.0.0.1:{closed.getsockname()[1]}/x")
    finally:
        silent.close()
        closed.close()


def test_calendar_proposes_free_slots_within_hours() -> None:
    calendar = Calendar(HOURS)
    now = datetime.fromtimestamp(MONDAY_MORNING, UTC)
    assert calendar.proposals(now, taken=set()) == [
        "2026-11-30T10:30",
        "2026-11-30T11:00",
        "2026-11-30T11:30",
    ]
    assert calendar.proposals(now, taken={"2026-11-30T11:00"}) == [
        "2026-11-30T10:30",
        "2026-11-30T11:30",
        "2026-12-02T09:00",
    ]
    assert calendar.bookable("2026-11-30T11:30", now)
    assert not calendar.bookable("2026-11-30T10:00", now)  # already past
    assert not calendar.bookable("2026-11-30T12:00", now)  # closing time
    assert not calendar.bookable("2026-12-01T10:00", now)  # closed on Tuesdays
    assert not calendar.bookable("tomorrow at 10", now)


@pytest.fixture
def factory(redis: Redis, caller: EndpointCaller) -> ToolFactory:
    store = ConversationStore(redis, Keyring(master_secret("test-master-key-123456")), shards=4)
    return ToolFactory(
        redis=redis,
        leads=LeadStore(redis, store, shards=4),
        handoff=HandoffFlags(redis, shards=4),
        caller=caller,
        environ={"LEADCLOSE_TENANT_SUNRISE_CLINIC__WEBHOOK_SECRET": SECRET.decode()},
        clock=lambda: MONDAY_MORNING,
    )


def _clinic(peer: TenantPeer) -> Tenant:
    """The shipped clinic, its events endpoint pointed at the local peer."""
    tenant = load_tenant(ROOT / "prompts" / "sunrise-clinic")
    webhook = tenant.automation.webhook
    assert webhook is not None
    automation = tenant.automation.model_copy(
        update={"webhook": webhook.model_copy(update={"url": f"{peer.base_url}/events"})}
    )
    return tenant.model_copy(update={"automation": automation})


async def test_booking_proposes_books_once_and_tells_the_clinic(
    factory: ToolFactory, peer: TenantPeer
) -> None:
    clinic = _clinic(peer)
    tools = factory.for_turn(clinic, conv="sunrise-clinic:abc", contact="919876543210", turn_id="t1")
    assert tools is not None
    offer = json.loads(await tools.call("book_appointment", {}))
    assert offer["booked"] is False
    assert offer["free_slots"][0] == "2026-11-30T10:15"
    booked = json.loads(
        await tools.call("book_appointment", {"slot": offer["free_slots"][1], "purpose": "fever"})
    )
    assert booked == {"booked": True, "slot": "2026-11-30T10:30", "timezone": "Asia/Kolkata"}
    (event,) = peer.events("book_appointment.requested")
    assert event["data"] == {"slot": "2026-11-30T10:30", "timezone": "Asia/Kolkata", "purpose": "fever"}
    assert event["contact"] == {"wa_id": "919876543210"}

    other = factory.for_turn(clinic, conv="sunrise-clinic:def", contact="447700900123", turn_id="t2")
    assert other is not None
    again = json.loads(await other.call("book_appointment", {"slot": "2026-11-30T10:30"}))
    assert again["booked"] is False
    assert again["reason"] == "slot already taken"
    assert "2026-11-30T10:30" not in again["free_slots"]


async def test_booking_is_released_when_the_clinic_does_not_take_it(
    factory: ToolFactory, peer: TenantPeer, redis: Redis
) -> None:
    peer.answers["/events"] = (500, b"")
    tools = factory.for_turn(_clinic(peer), conv="sunrise-clinic:abc", contact="919876543210", turn_id="t1")
    assert tools is not None
    with pytest.raises(ToolError, match="could not be passed to the team"):
        await tools.call("book_appointment", {"slot": "2026-11-30T10:30"})
    assert await redis.zscore("lc:booked:{sunrise-clinic}", "2026-11-30T10:30") is None


async def test_one_slot_written_two_ways_is_booked_once(
    factory: ToolFactory, peer: TenantPeer, redis: Redis
) -> None:
    clinic = _clinic(peer)
    first = factory.for_turn(clinic, conv="sunrise-clinic:a", contact="919876543210", turn_id="t1")
    second = factory.for_turn(clinic, conv="sunrise-clinic:b", contact="447700900123", turn_id="t2")
    assert first is not None
    assert second is not None
    slot = datetime(2026, 11, 30, 11, 0)
    booked = json.loads(await first.call("book_appointment", {"slot": "2026-11-30T11:0"}))
    assert booked["booked"] is True
    assert booked["slot"] == slot.strftime("%Y-%m-%dT%H:%M")  # the label the business is told
    utc = (slot - timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%MZ")  # Pune is UTC+05:30
    for spelling in ("2026-11-30T11:00", utc.replace("Z", "+00:00")):
        again = json.loads(await second.call("book_appointment", {"slot": spelling}))
        assert again["booked"] is False, spelling
        assert again["reason"] == "slot already taken"
    members = await redis.zrange("lc:booked:{sunrise-clinic}", 0, -1)
    assert members == [b"2026-11-30T11:00"]
    assert [e["data"]["slot"] for e in peer.events("book_appointment.requested")] == ["2026-11-30T11:00"]


async def test_a_retried_turn_adds_its_lead_once(
    factory: ToolFactory, peer: TenantPeer, redis: Redis
) -> None:
    clinic = _clinic(peer)
    for _ in range(2):  # the same turn run twice (a crash-retry): same turn id, same call order
        tools = factory.for_turn(clinic, conv="sunrise-clinic:abc", contact="919876543210", turn_id="turn-7")
        assert tools is not None
        assert json.loads(await tools.call("capture_lead", {"name": "Asha", "need": "check-up"}))["saved"]
    store = ConversationStore(redis, Keyring(master_secret("test-master-key-123456")), shards=4)
    (lead,) = await LeadStore(redis, store, shards=4).all("sunrise-clinic:abc")
    assert lead["data"] == {"name": "Asha", "need": "check-up"}
    assert {e["id"] for e in peer.events("lead.captured")} == {"turn-7:1"}  # the CRM dedupes by this key


async def test_handoff_sets_the_shared_flag_and_end_marks_the_conversation(
    factory: ToolFactory, peer: TenantPeer, redis: Redis
) -> None:
    tools = factory.for_turn(_clinic(peer), conv="sunrise-clinic:abc", contact="919876543210", turn_id="t1")
    assert tools is not None
    result = json.loads(await tools.call("handoff_to_human", {"reason": "chest pain"}))
    assert result["handed_off"] is True
    assert await HandoffFlags(redis, shards=4).active("sunrise-clinic:abc")
    assert peer.events("handoff.requested")[0]["data"] == {}  # the model's words are not forwarded
    assert not tools.ended
    await tools.call("end_conversation", {})
    assert tools.ended


def test_no_tools_for_a_tenant_without_automation(factory: ToolFactory) -> None:
    default = load_tenant(ROOT / "prompts" / "default")
    assert default.automation == AutomationConfig()
    assert factory.for_turn(default, conv="default:x", contact="1", turn_id="t") is None
