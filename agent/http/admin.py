"""The admin API under `/admin/{tenant}/consent/...`: a tenant exercises its users' rights.

Each tenant has its own bearer token (the env variable its `consent.admin_token_env` names). A missing or
unknown token is 401, another tenant's token is 403, and nothing is read before the token matches. Every
request that reaches a tenant is written to that tenant's audit log, refused ones included.

The person's number travels in the JSON body, never in the URL (URLs end up in access logs), and bodies are
parsed by hand so no validation error can echo it back. A body's size is checked before it is read (the
declared Content-Length, then the bytes as they stream: 413). Failed token attempts are counted in Redis per
tenant and client, so the count holds across processes: past the limit, every attempt from that client on
that tenant is 429 (audited) until the window ends. A success does not reset the count: it proves one token,
while a guess through that tenant's path can hit any (docs/security.md). The API is served on the ops
listener only.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from agent.privacy.assembly import UnknownPersonError
from agent.privacy.ledger import Context
from agent.privacy.rights import OVERLAY_ACTIONS, Actor, ProfileFields
from agent.storage.erasure import ErasedError
from agent.storage.keys import admin_failures
from pipelines.consent import Method, Overlay, Purpose, State, Transition

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agent.privacy.assembly import Privacy
    from agent.storage.keyring import Keyring
    from agent.storage.redis_client import RedisClient
    from agent.tenants.registry import TenantRegistry

MAX_BODY_BYTES = 16 * 1024
_SETTABLE = {State.GRANTED, State.DENIED, State.WITHDRAWN}  # what a tenant's API may record for a purpose
_MAY_ENROL = frozenset({"record", *(names.set for names in OVERLAY_ACTIONS.values())})  # before first contact


OPERATOR = "\0operator"  # owner of the deployment-wide token (`LEADCLOSE_ADMIN_TOKEN`), never a tenant id
UNKNOWN_TENANT = "-"  # throttled like a tenant: guessing tenant names costs attempts too


class FailedAuthThrottle:
    """Failed bearer-token attempts per (tenant, client) in a fixed window, in Redis (every process sees the
    same count). The client's address is keyed by an HMAC under the deployment key, never in clear."""

    def __init__(self, redis: RedisClient, keyring: Keyring, *, limit: int = 10, window_s: int = 300) -> None:
        self._redis = redis
        self._keyring = keyring
        self.limit = limit
        self.window_s = window_s

    def _key(self, tenant: str, client: str) -> str:
        ref = self._keyring.conversation_ref(tenant, "admin-client\0" + client)
        return admin_failures(ref)

    async def blocked(self, tenant: str, client: str) -> bool:
        count = await self._redis.get(self._key(tenant, client))
        return int(count or 0) >= self.limit

    async def failed(self, tenant: str, client: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._key(tenant, client))
            pipe.expire(self._key(tenant, client), self.window_s, nx=True)
            await pipe.execute()


class AdminTokens:
    """Per-tenant bearer tokens, looked up in the environment per request, so a tenant added or changed by
    hot reload is reachable without a restart. The optional deployment-wide operator token opens every
    tenant (for the processor's own staff acting on a tenant's instruction); its use is audited as such."""

    def __init__(self, tenants: TenantRegistry, *, operator: bytes | None = None) -> None:
        self._tenants = tenants
        self._operator = operator

    def _tokens(self) -> dict[str, bytes]:
        tokens = {OPERATOR: self._operator} if self._operator else {}
        for tenant_id in self._tenants.ids():
            name = self._tenants.get(tenant_id).config.consent.admin_token_env
            value = os.environ.get(name) if name else None
            if value:
                tokens[tenant_id] = value.encode()
        return tokens

    def owner(self, header: str | None) -> str | None:
        """Whose token this is (a tenant id or `OPERATOR`), None for a missing or unknown one."""
        if not header or not header.startswith("Bearer "):
            return None
        presented = header.removeprefix("Bearer ").strip().encode()
        owner = None
        for tenant_id, token in self._tokens().items():  # compare with every token: timing says nothing
            if hmac.compare_digest(presented, token):
                owner = tenant_id
        return owner


class _BadRequest(Exception):  # noqa: N818 - answered as a 400 with this fixed, content-free reason
    pass


class _Refused(Exception):  # noqa: N818 - carries the answer, not an error of ours
    """Ends a request early with a fixed, content-free answer (401/403)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _refusals(endpoint: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Turns `_Refused`, `_BadRequest` and `ErasedError` into their answers, so each endpoint reads as the
    happy path."""

    @functools.wraps(endpoint)
    async def answer(*args: Any, **kwargs: Any) -> Response:
        try:
            return await endpoint(*args, **kwargs)
        except _Refused as refused:
            return refused.response
        except _BadRequest as bad:
            return JSONResponse({"error": str(bad)}, status_code=400)
        except ErasedError:  # a restriction or objection while the person's erasure runs or is pending
            return JSONResponse({"error": "an erasure of this person is pending or running"}, status_code=409)

    return answer


def _too_large() -> _Refused:
    return _Refused(JSONResponse({"error": "body too large"}, status_code=413))


async def _body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise _too_large()  # before a byte of it is read
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise _too_large()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise _BadRequest("body is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str) or not data["user"].strip():
        raise _BadRequest('expected a JSON object with a string field "user"')
    return data


def admin_router(
    privacy: Privacy, tenants: TenantRegistry, tokens: AdminTokens, throttle: FailedAuthThrottle
) -> APIRouter:
    router = APIRouter(prefix="/admin")
    rights = privacy.rights

    async def authenticate(tenant: str, request: Request, action: str) -> Actor:
        known = tenant in tenants.ids()
        client = request.client.host if request.client else "unknown"
        counted = tenant if known else UNKNOWN_TENANT
        nobody = Actor("unauthenticated", "admin_api")
        if await throttle.blocked(counted, client):
            if known:
                await rights.record_denied(tenant, nobody, action, outcome="throttled")
            retry = {"Retry-After": str(throttle.window_s)}
            raise _Refused(
                JSONResponse({"error": "too many failed attempts"}, status_code=429, headers=retry)
            )
        owner = tokens.owner(request.headers.get("authorization")) if known else None
        if owner == tenant:
            return Actor(f"tenant:{tenant}", "admin_api")
        if owner == OPERATOR:
            return Actor("operator", "admin_api")
        status = 401 if owner is None else 403
        await throttle.failed(counted, client)
        if known:
            await rights.record_denied(tenant, nobody, action)
        detail = "forbidden for this tenant" if status == 403 else "missing or invalid bearer token"
        raise _Refused(
            JSONResponse({"error": detail}, status_code=status, headers={"WWW-Authenticate": "Bearer"})
        )

    async def authorize(tenant: str, request: Request, action: str) -> tuple[Actor, dict[str, Any]]:
        """The caller's identity and the body (with a `user`: a number or a BSUID)."""
        actor = await authenticate(tenant, request, action)
        return actor, await _body(request)

    async def person(tenant: str, body: dict[str, Any], action: str) -> str:
        """The subject of the person the body names, whichever id it uses. A person never seen is a 404 for
        export, rectification and erasure (never a fake `erased: true`); a restriction, an objection or a
        recorded consent may come before their first message, and holds from then on."""
        if action in _MAY_ENROL:
            return await privacy.enrol(tenant, body["user"])
        try:
            return await privacy.person(tenant, body["user"])
        except UnknownPersonError as exc:
            raise _Refused(JSONResponse({"error": str(exc)}, status_code=404)) from None

    @router.get("/{tenant}/audit")
    @_refusals
    async def audit(tenant: str, request: Request) -> Response:
        """The tenant's audit log (content-free) and whether its hash chain verifies; also shows the data
        requests people made by keyword (`request_export`, `request_erasure`)."""
        actor = await authenticate(tenant, request, "audit")
        records, verified = await rights.read_audit(tenant, actor)
        return JSONResponse({"verified": verified, "records": records})

    @router.post("/{tenant}/consent/status")
    @_refusals
    async def status(tenant: str, request: Request) -> Response:
        actor, body = await authorize(tenant, request, "status")
        subject, known = await privacy.lookup(tenant, body["user"])
        return JSONResponse(await rights.status(subject, actor) | {"known": known})

    @router.post("/{tenant}/consent/export")
    @_refusals
    async def export(tenant: str, request: Request) -> Response:
        actor, body = await authorize(tenant, request, "export")
        subject = await person(tenant, body, "export")
        archive = await rights.export(subject, actor)
        return Response(
            archive,
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="export.zip"'},
        )

    @router.post("/{tenant}/consent/erase")
    @_refusals
    async def erase(tenant: str, request: Request) -> Response:
        actor, body = await authorize(tenant, request, "erase")
        subject = await person(tenant, body, "erase")
        done = await rights.erase(subject, actor)
        return JSONResponse({"erased": True, "keys_deleted": done.keys_deleted})

    def overlay_endpoint(overlay: Overlay, action: str) -> Callable[[str, Request], Awaitable[Response]]:
        """`restrict` and `object` (with `"lift": true` to undo): one endpoint each, one code path."""

        @_refusals
        async def endpoint(tenant: str, request: Request) -> Response:
            actor, body = await authorize(tenant, request, action)
            subject = await person(tenant, body, action)
            lift = body.get("lift") is True
            changed = await rights.set_overlay(subject, overlay, actor, lift=lift)
            return JSONResponse({overlay.value: not lift, "changed": changed})

        return endpoint

    for overlay, names in OVERLAY_ACTIONS.items():
        router.add_api_route(
            f"/{{tenant}}/consent/{names.set}",
            overlay_endpoint(overlay, names.set),
            methods=["POST"],
            name=names.set,
        )

    @router.post("/{tenant}/consent/rectify")
    @_refusals
    async def rectify(tenant: str, request: Request) -> Response:
        actor, body = await authorize(tenant, request, "rectify")
        try:
            fields = ProfileFields.model_validate(body.get("profile") or {})
        except ValidationError as exc:
            # Only our field names: an unknown key is the client's text and may carry anything.
            known = ProfileFields.model_fields
            names = sorted(
                {str(e["loc"][0]) if e["loc"] and e["loc"][0] in known else "?" for e in exc.errors()}
            )
            raise _BadRequest(f"invalid profile fields: {', '.join(names)}") from None
        profile = await rights.rectify(await person(tenant, body, "rectify"), fields, actor)
        return JSONResponse({"fields": sorted(profile)})

    @router.post("/{tenant}/consent/record")
    @_refusals
    async def record(tenant: str, request: Request) -> Response:
        """The tenant records a consent it collected itself (a form, a signed contract): method tenant_api."""
        actor, body = await authorize(tenant, request, "record")
        try:
            purpose, state = Purpose(str(body.get("purpose"))), State(str(body.get("state")))
        except ValueError:
            raise _BadRequest("unknown purpose or state") from None
        if state not in _SETTABLE:
            raise _BadRequest("state must be granted, denied or withdrawn")
        subject = await person(tenant, body, "record")
        version = tenants.get(tenant).config.consent_version
        context = Context(
            method=Method.TENANT_API, channel="admin_api", actor=actor.name, config_version=version
        )
        events = await privacy.consent.apply(subject, Transition({purpose: state}), context)
        await rights.record_access(actor, f"record:{purpose.value}={state.value}", subject, "ok")
        return JSONResponse({"changed": bool(events)})

    return router
