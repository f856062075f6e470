"""Slot labels are normalized (ISO, the business's time zone) before any key: one slot, one booking, however the
model spells it. The booking tool runs on a real redis-server against the local tenant endpoint
(tests/agent/tenant_peer.py), as in tests/agent/test_tools.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.booking import Calendar
from agent.leads import LeadStore
from agent.store import ConversationStore, HandoffFlags, Keyring, master_secret
from agent.tenants import Tenant, load_tenant
from agent.tools import EndpointCaller, ToolFactory
from tests.agent.tenant_peer import TenantPeer, serve_tenant_peer
from tests.agent.test_tools import HOURS, MONDAY_MORNING, SECRET
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from redis.asyncio import Redis


def test_spellings_of_one_slot_normalize_to_one_label() -> None:
    calendar = Calendar(HOURS)  # Asia/Kolkata by default
    for spelling in ("2026-12-02T09:00", "2026-12-2T9:0", " 2026-12-02T09:00:00 ", "2026-12-02T03:30+00:00"):
        assert calendar.normalize(spelling) == "2026-12-02T09:00", spelling
    now = datetime.fromtimestamp(MONDAY_MORNING, UTC)
    assert calendar.bookable("2026-12-2T9:0", now)
    assert (
        calendar.normalize("2026-12-02T09:00:30") is None
    )  # not on the minute: no slot, never rounded to one
    assert calendar.normalize("tomorrow at 10") is None
    assert calendar.normalize("9" * 10_000) is None


@settings(deadline=None, max_examples=200)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_unpadded_and_padded_labels_agree(moment: datetime) -> None:
    moment = moment.replace(second=0, microsecond=0)
    calendar = Calendar(HOURS)
    unpadded = f"{moment.year}-{moment.month}-{moment.day}T{moment.hour}:{moment.minute}"
    assert calendar.normalize(unpadded) == calendar.normalize(moment.strftime("%Y-%m-%dT%H:%M"))
    assert calendar.normalize(unpadded) == moment.strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def peer() -> Iterator[TenantPeer]:
    with serve_tenant_peer(SECRET) as p:
        yield p


@pytest.fixture
async def tools(redis: Redis, peer: TenantPeer) -> AsyncIterator[ToolFactory]:
    async with httpx.AsyncClient() as http:
        store = ConversationStore(redis, Keyring(master_secret("test-master-key-123456")), shards=4)
        yield ToolFactory(
            redis=redis,
            leads=LeadStore(redis, store, shards=4),
            handoff=HandoffFlags(redis, shards=4),
            caller=EndpointCaller(http),
            environ={"LEADCLOSE_SUNRISE_WEBHOOK_SECRET": SECRET.decode()},
            clock=lambda: MONDAY_MORNING,
        )


def _clinic(peer: TenantPeer) -> Tenant:
    tenant = load_tenant(ROOT / "prompts" / "sunrise-clinic")
    webhook = tenant.automation.webhook
    assert webhook is not None
    automation = tenant.automation.model_copy(
        update={"webhook": webhook.model_copy(update={"url": f"{peer.base_url}/events"})}
    )
    return tenant.model_copy(update={"automation": automation})


async def test_one_slot_written_two_ways_is_booked_once(
    tools: ToolFactory, peer: TenantPeer, redis: Redis
) -> None:
    clinic = _clinic(peer)
    first = tools.for_turn(clinic, conv="sunrise-clinic:a", contact="919876543210", turn_id="t1")
    second = tools.for_turn(clinic, conv="sunrise-clinic:b", contact="447700900123", turn_id="t2")
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
