"""The tools a tenant's assistant may use, bound to one conversation by the server.

Built-ins (`capture_lead`, `schedule_callback`/`book_appointment`, `handoff_to_human`, `end_conversation`) and
the tenant's custom HTTP tools. Every request to a business endpoint goes through the process's one
`httpx.AsyncClient`, signed with the tenant's secret:

    X-Leadclose-Timestamp: <unix seconds>
    X-Leadclose-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + signed bytes)>

where the signed bytes are the JSON body (POST) or the whole query string (GET). Endpoints are tenant input:
requests go through a `GuardedTransport` (`agent/egress.py`: public addresses only, checked at connect
time), each call has one deadline for everything (connect, send, the whole answer), redirects are not
followed and answers are read raw (no decompression) and size-capped as they stream. Every failure becomes
a `ToolError` with a fixed reason, never the endpoint's text or URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import structlog

from agent.egress import EgressRefused
from agent.storage.keys import booked_slots
from agent.tools.booking import Calendar
from pipelines.automation import ToolError, ToolSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    from agent.egress import GuardedTransport
    from agent.storage.erasure import Fence
    from agent.storage.handoff import HandoffFlags
    from agent.storage.leads import LeadStore
    from agent.storage.redis_client import RedisClient
    from agent.tenants.automation import AutomationConfig, HttpTool
    from agent.tenants.registry import Tenant

log = structlog.get_logger()

SIGNATURE_HEADER = "X-Leadclose-Signature"
TIMESTAMP_HEADER = "X-Leadclose-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
WEBHOOK_MAX_RESPONSE = 4096


def signature(secret: bytes, timestamp: int, signed: bytes) -> str:
    return "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + signed, hashlib.sha256).hexdigest()


class EndpointCaller:
    """Signed, size-capped requests to a business's endpoints. It owns its client, built on the guarded
    transport it is given, so no request of a tenant's can leave through an unguarded one."""

    def __init__(self, transport: GuardedTransport, *, clock: Callable[[], float] = time.time) -> None:
        self._http = httpx.AsyncClient(transport=transport, follow_redirects=False, timeout=30.0)
        self._clock = clock

    async def __aenter__(self) -> EndpointCaller:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def call(
        self,
        method: str,
        url: str,
        secret: bytes,
        payload: Mapping[str, Any],
        *,
        timeout_s: float,
        max_bytes: int,
        idempotency_key: str,
    ) -> str:
        timestamp = int(self._clock())
        if method == "GET":
            parts = urlsplit(url)
            added = urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()})
            query = "&".join(q for q in (parts.query, added) if q)
            signed, content, target = query.encode(), None, urlunsplit(parts._replace(query=query))
        else:
            signed = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            content, target = signed, url
        headers = {
            SIGNATURE_HEADER: signature(secret, timestamp, signed),
            TIMESTAMP_HEADER: str(timestamp),
            IDEMPOTENCY_HEADER: idempotency_key,
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",  # the cap counts what we hold: no gzip bomb
        }
        try:
            async with asyncio.timeout(timeout_s):  # one deadline for the call, not per read
                body = await self._send(method, target, content, headers, timeout_s, max_bytes)
        except TimeoutError:
            raise ToolError("the business system did not answer in time") from None
        except EgressRefused as exc:
            log.warning("tool.egress_refused", reason=str(exc))
            raise ToolError("the business system's address is not allowed") from None
        except httpx.TimeoutException:
            raise ToolError("the business system did not answer in time") from None
        except httpx.HTTPError:
            raise ToolError("the business system could not be reached") from None
        return body.decode(errors="replace")

    async def _send(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        timeout_s: float,
        cap: int,
    ) -> bytes:
        async with self._http.stream(
            method, url, content=content, headers=headers, timeout=timeout_s
        ) as response:
            if not response.is_success:
                raise ToolError(f"the business system answered HTTP {response.status_code}")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise ToolError("the business system's answer was compressed")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise ToolError("the business system's answer was too large")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > cap:
                    raise ToolError("the business system's answer was too large")
        return bytes(body)


def tool_specs(a: AutomationConfig) -> list[ToolSpec]:
    """What the model is offered for a tenant (none unless its automation is enabled)."""
    if not a.enabled:
        return []
    fields = {f: {"type": "string", "description": f.replace("_", " ")} for f in a.lead_fields}
    specs = [
        ToolSpec(
            "capture_lead",
            "Save what the customer told you about their need once they are interested. "
            "Fill only what they said.",
            {"type": "object", "properties": fields, "additionalProperties": False, "minProperties": 1},
            restores_pii=True,
        )
    ]
    if a.booking is not None:
        what = "an appointment" if a.booking.tool == "book_appointment" else "a call-back from the team"
        specs.append(
            ToolSpec(
                a.booking.tool,
                f"Book {what}. Without `slot`, returns free slots to offer; with `slot` (one of those, "
                f"format YYYY-MM-DDTHH:MM, {a.booking.timezone}), books it.",
                {
                    "type": "object",
                    "properties": {
                        "slot": {"type": "string"},
                        "purpose": {"type": "string", "description": "what it is about"},
                    },
                    "additionalProperties": False,
                },
                restores_pii=True,
            )
        )
    if a.handoff:
        specs.append(
            ToolSpec(
                "handoff_to_human",
                "Hand the conversation to a person from the team when the customer asks for one or you "
                "cannot help. You will not reply after this.",
                {
                    "type": "object",
                    "properties": {"reason": {"type": "string"}},
                    "additionalProperties": False,
                },
            )
        )
    specs.append(
        ToolSpec(
            "end_conversation",
            "Close the conversation when the customer is done; the next message starts afresh.",
            {"type": "object", "properties": {}, "additionalProperties": False},
        )
    )
    specs.extend(ToolSpec(t.name, t.description, t.parameters, restores_pii=t.receives_pii) for t in a.tools)
    return specs


class ConversationTools:
    """The `ToolBox` of one conversation: tenant, conversation and contact are fixed at construction."""

    def __init__(
        self,
        tenant: Tenant,
        *,
        conv: str,
        contact: str,
        turn_id: str,
        leads: LeadStore,
        handoff: HandoffFlags,
        redis: RedisClient,
        caller: EndpointCaller,
        secret: bytes | None,
        fence: Fence | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`fence`: the erasure epoch the turn began with; the tools write and notify nothing once the
        person was erased since (agent/storage/erasure.py)."""
        self._fence = fence
        self._tenant = tenant
        self._automation: AutomationConfig = tenant.automation
        self._conv = conv
        self._contact = contact
        self._turn_id = turn_id
        self._leads = leads
        self._handoff = handoff
        self._redis = redis
        self._caller = caller
        self._secret = secret
        self._clock = clock
        self._calls = 0
        self.handed_off = False
        self.ended = False
        self.leads = 0  # leads captured and bookings made in this turn (the turn's record counts them)
        self.bookings = 0
        self._custom = {t.name: t for t in self._automation.tools}
        self._specs = tool_specs(self._automation)

    def specs(self) -> Sequence[ToolSpec]:
        return self._specs

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        self._calls += 1
        key = f"{self._turn_id}:{self._calls}"
        if name == "capture_lead":
            return await self._capture_lead(arguments, key)
        if name in ("schedule_callback", "book_appointment"):
            return await self._book(arguments, key)
        if name == "handoff_to_human":
            return await self._hand_off(key)
        if name == "end_conversation":
            self.ended = True
            return json.dumps({"ended": True})
        return await self._custom_tool(self._custom[name], arguments, key)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _envelope(self, event: str, key: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "event": event,
            "id": key,
            "tenant": self._tenant.id,
            "conversation": self._conv,
            "contact": {"wa_id": self._contact},
            "at": self._now().isoformat(timespec="seconds"),
            "data": dict(data),
        }

    async def _fenced(self) -> None:
        """Before a side effect outside Redis: raises `ErasedError` if the person was erased meanwhile."""
        if self._fence is not None:
            await self._leads.writer.check(self._fence)

    async def _notify(self, event: str, key: str, data: Mapping[str, Any]) -> bool:
        """Tell the business's webhook; False when there is none or it did not take it."""
        webhook = self._automation.webhook
        if webhook is None or self._secret is None:
            return False
        await self._fenced()
        try:
            await self._caller.call(
                "POST",
                webhook.url,
                self._secret,
                self._envelope(event, key, data),
                timeout_s=webhook.timeout_s,
                max_bytes=WEBHOOK_MAX_RESPONSE,
                idempotency_key=key,
            )
        except ToolError as exc:
            log.warning("tool.webhook_failed", tenant=self._tenant.id, kind=event, reason=str(exc))
            return False
        return True

    async def _capture_lead(self, fields: dict[str, Any], key: str) -> str:
        record = self._envelope("lead.captured", key, fields)
        await self._leads.add(self._conv, record, dedupe_key=key, fence=self._fence)
        self.leads += 1
        forwarded = await self._notify("lead.captured", key, fields)
        log.info("tool.lead_captured", tenant=self._tenant.id, fields=len(fields), forwarded=forwarded)
        return json.dumps({"saved": True, "forwarded_to_team": forwarded})

    def _taken_key(self) -> str:
        """The tenant's booked slots: a sorted set scored by start time, so past ones are dropped cheaply."""
        return booked_slots(self._tenant.id)

    async def _book(self, arguments: dict[str, Any], key: str) -> str:
        booking = self._automation.booking
        if booking is None:  # offered only with a booking section; a reload may have removed it
            raise ToolError("booking is not available")
        await self._fenced()  # the slot is the business's; the request names the person
        calendar, now = Calendar(booking), self._now()
        await self._redis.zremrangebyscore(self._taken_key(), "-inf", now.timestamp())
        members = await self._redis.zrange(self._taken_key(), 0, -1)
        taken = {_text(m) for m in members if isinstance(m, bytes | str)}
        slot = calendar.normalize(str(arguments.get("slot") or "")) or ""  # one slot, one key
        start = calendar.start(slot)
        if start is None or not calendar.bookable(slot, now):
            free = calendar.proposals(now, taken)
            return json.dumps({"booked": False, "free_slots": free, "timezone": booking.timezone})
        if not await self._redis.zadd(self._taken_key(), {slot: start.timestamp()}, nx=True):
            free = calendar.proposals(now, taken | {slot})
            return json.dumps({"booked": False, "reason": "slot already taken", "free_slots": free})
        data = {"slot": slot, "timezone": booking.timezone, "purpose": arguments.get("purpose", "")}
        forwarded = await self._notify(f"{booking.tool}.requested", key, data)
        if not forwarded and self._automation.webhook is not None:
            await self._redis.zrem(self._taken_key(), slot)
            raise ToolError("the booking could not be passed to the team")
        log.info("tool.booked", tenant=self._tenant.id, tool=booking.tool)
        self.bookings += 1
        return json.dumps({"booked": True, "slot": slot, "timezone": booking.timezone})

    async def _hand_off(self, key: str) -> str:
        await self._handoff.hand_off(self._conv, "assistant", fence=self._fence)
        self.handed_off = True
        forwarded = await self._notify("handoff.requested", key, {})
        log.info("tool.handed_off", tenant=self._tenant.id, forwarded=forwarded)
        return json.dumps(
            {"handed_off": True, "tell_user": self._tenant.catalogue.get(self._tenant.language).handoff}
        )

    async def _custom_tool(self, tool: HttpTool, arguments: dict[str, Any], key: str) -> str:
        if self._secret is None:
            raise ToolError("this tool is not configured")
        await self._fenced()
        result = await self._caller.call(
            tool.method,
            tool.url,
            self._secret,
            arguments,
            timeout_s=tool.timeout_s,
            max_bytes=tool.max_response_bytes,
            idempotency_key=key,
        )
        log.info("tool.called", tenant=self._tenant.id, tool=tool.name, bytes=len(result))
        return result


class ToolFactory:
    """Builds each turn's `ConversationTools`; holds the process-wide collaborators (one HTTP client)."""

    def __init__(
        self,
        *,
        redis: RedisClient,
        leads: LeadStore,
        handoff: HandoffFlags,
        caller: EndpointCaller,
        environ: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._leads = leads
        self._handoff = handoff
        self._caller = caller
        self._environ = environ
        self._clock = clock

    def for_turn(
        self, tenant: Tenant, *, conv: str, contact: str, turn_id: str, fence: Fence | None = None
    ) -> ConversationTools | None:
        """None when the tenant offers no tools (the model then gets a plain request)."""
        if not tenant.automation.enabled:
            return None
        name = tenant.automation.secret_env
        secret = self._environ.get(name) if name else None
        if name and not secret:  # `prompts validate` reports it too; the turn goes on without signed calls
            log.warning("tools.secret_missing", tenant=tenant.id, variable=name)
        return ConversationTools(
            tenant,
            conv=conv,
            contact=contact,
            turn_id=turn_id,
            leads=self._leads,
            handoff=self._handoff,
            redis=self._redis,
            caller=self._caller,
            secret=secret.encode() if secret else None,
            fence=fence,
            clock=self._clock,
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
