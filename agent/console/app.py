"""The staff console: a JSON API under `/api/` (OpenAPI at `/api/openapi.json`) and the pages that use it.

Built from its collaborators (`ConsoleParts`), so the composition root wires it; it opens nothing itself.
Every request is authorized by the session cookie; every write (API or form) carries the session's CSRF
token (`X-CSRF-Token` header or a `csrf` form field); a conversation of another tenant is refused with 403,
and the attempt is audited. Every read of a conversation and every action goes to the tenant's audit chain.
URLs name conversations by their reference (an HMAC), never by a number.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.datastructures import MutableHeaders

from agent.analytics.api import TEMPLATES_DIR as ANALYTICS_TEMPLATES
from agent.analytics.api import analytics_router
from agent.analytics.zone import tenant_zone
from agent.console.cases import CaseBook, cases_router
from agent.console.drafts import drafts_router
from agent.console.playground import playground_router
from agent.console.replies import ReplyRefusedError
from agent.console.takeover import HeldByOtherError, NotTakenError
from agent.privacy.rights import Actor
from agent.tenants.files import TENANT_ID

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from agent.analytics.reader import AnalyticsReader
    from agent.console.accounts import Staff, StaffAccounts
    from agent.console.drafts import DraftDesk
    from agent.console.playground_turn import Playground
    from agent.console.replies import Sent, StaffReplies
    from agent.console.sessions import LoginThrottle, Session, Sessions
    from agent.console.takeover import Takeover
    from agent.console.view import ConversationView, Handback
    from agent.privacy.rights import SubjectRights
    from agent.storage.inbox import InboxIndex
    from agent.tenants.registry import TenantRegistry

log = structlog.get_logger()

HERE = Path(__file__).parent
COOKIE = "lc_console"
LOGIN_CSRF = "lc_login_csrf"
EVENT_ID = r"\d{1,20}-\d{1,20}"
STALE_S = 60.0
# Every request body is capped before it is read or parsed: 413 by its declared Content-Length, or as a chunked
# one streams past the cap (FastAPI's `max_body_size`). The default fits the largest form or JSON body but a
# draft's file, a saved case and a recording (their routes say more): a 4,096-character reply in UTF-8 and
# JSON escapes.
MAX_BODY_BYTES = 64 * 1024
MAX_RECORDING_BYTES = 5 * 1024 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CONVERSATION = re.compile(
    r"[a-z0-9][a-z0-9-]{1,62}:[0-9a-f]{16,64}"
)  # tenant:HMAC (Keyring.conversation_ref)


@dataclass(frozen=True, slots=True)
class ConsoleParts:
    accounts: StaffAccounts
    sessions: Sessions
    throttle: LoginThrottle
    index: InboxIndex
    takeover: Takeover
    view: ConversationView
    handback: Handback
    replies: StaffReplies
    rights: SubjectRights  # its audit chain
    tenants: TenantRegistry  # each tenant's approved templates, its timezone
    analytics: AnalyticsReader  # the owner's numbers (`/analytics`)
    drafts: DraftDesk | None = None  # draft, check, publish (`/drafts`); None: not offered
    secure_cookies: bool = True  # off only for plain-http 127.0.0.1 (tests, a laptop)
    sse_wake_s: float = 2.0  # how often a live stream re-checks its session
    cases: CaseBook | None = None  # the owner's regression cases (`/cases`); None: not offered
    playground: Playground | None = None  # the owners' voice playground (`/playground`)


class TextReply(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    reply_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    text: str = Field(min_length=1, max_length=4096)


class TemplateReply(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    reply_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    name: str = Field(max_length=512)


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    email: str = Field(max_length=320)


@dataclass(frozen=True, slots=True)
class Who:
    session: Session
    staff: Staff

    @property
    def actor(self) -> Actor:
        return Actor(f"staff:{self.staff.email}", "console")


async def who(request: Request) -> Who:
    """The logged-in staff member; a write must carry the session's CSRF token."""
    parts: ConsoleParts = request.app.state.console
    session = await parts.sessions.get(request.cookies.get(COOKIE))
    staff = await parts.accounts.get(session.tenant, session.staff) if session else None
    if session is None or staff is None:
        raise HTTPException(401, "log in first")
    if request.method not in ("GET", "HEAD"):
        token = request.headers.get("x-csrf-token")
        if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            token = str((await request.form()).get("csrf") or "")
        if not session.csrf_ok(token):
            await parts.rights.record_denied(session.tenant, Who(session, staff).actor, "csrf", "refused")
            raise HTTPException(403, "missing or wrong CSRF token")
    return Who(session, staff)


Authed = Annotated[Who, Depends(who)]


def owner_tenant(page: str) -> Callable[[Request], Awaitable[str]]:
    """The dependency of one owner-only page's router: the signed-in owner's tenant (nothing in the request
    names a tenant). An agent gets 403, audited as `console.<page>`: the router names its page."""

    async def owner_of(request: Request) -> str:
        me = await who(request)
        if me.staff.role != "owner":
            parts: ConsoleParts = request.app.state.console
            await parts.rights.record_denied(me.staff.tenant, me.actor, f"console.{page}", "not_owner")
            raise HTTPException(403, "only an owner may use this page")
        request.state.who = me  # the layout's header (`_signed_in`)
        return me.staff.tenant

    return owner_of


def _signed_in(request: Request) -> dict[str, Any]:
    """The layout's context for a page rendered by a mounted router (the analytics)."""
    me: Who | None = getattr(request.state, "who", None)
    return _page(me) if me is not None else {}


def create_console_app(parts: ConsoleParts) -> FastAPI:
    app = FastAPI(
        max_body_size=MAX_BODY_BYTES,
        title="leadclose staff console",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.console = parts
    # Autoescaped; no user text is marked safe. The console's own `analytics/page.html` (its layout) comes
    # before the analytics package's, whose fragment it includes.
    templates = Jinja2Templates(
        directory=[HERE / "templates", ANALYTICS_TEMPLATES], context_processors=[_signed_in]
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_middleware(_Hardened)
    app.include_router(
        analytics_router(
            parts.analytics,
            tenant=owner_tenant("analytics"),
            zone_of=lambda tenant: tenant_zone(parts.tenants.get(tenant).config),
            templates=templates,
        )
    )
    if parts.playground is not None:
        app.include_router(
            playground_router(
                parts.playground, tenant=owner_tenant("playground"), rights=parts.rights, templates=templates
            )
        )

    if parts.cases is not None:
        app.include_router(cases_router(parts.cases, tenant=owner_tenant("cases"), actor=lambda r: r.state.who.actor,
                                        audit=parts.rights.record_denied, templates=templates))  # fmt: skip
    if parts.drafts is not None:
        app.include_router(drafts_router(parts.drafts, who=who, templates=templates))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's default echoes the input (a reply's text); only field names and rules leave."""
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    async def own(me: Who, conv: str, action: str) -> str:
        """The conversation, if it is of the staff member's tenant; 403 (audited in both tenants) if not."""
        tenant = conv.split(":", 1)[0]
        if tenant != me.staff.tenant or not CONVERSATION.fullmatch(conv):
            await parts.rights.record_denied(me.staff.tenant, me.actor, f"console.{action}", "other_tenant")
            if TENANT_ID.fullmatch(tenant) and tenant != me.staff.tenant:
                await parts.rights.record_denied(tenant, me.actor, f"console.{action}", "other_tenant")
            raise HTTPException(403, "not a conversation of your business")
        return conv

    async def audit_tenant(tenant: str, actor: Actor, action: str, outcome: str) -> None:
        """A tenant-wide event (a login, a logout, a refusal): the same audit record, with no subject."""
        await parts.rights.record_denied(tenant, actor, action, outcome)

    async def audit(me: Who, action: str, conv: str, outcome: str, **counts: int) -> None:
        await parts.rights.record_access(me.actor, f"console.{action}", conv, outcome, **counts)

    # pages ----------------------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/inbox", status_code=303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request, failed: int = 0) -> Response:
        token = secrets.token_urlsafe(24)
        page = templates.TemplateResponse(request, "login.html", {"csrf": token, "failed": bool(failed)})
        _cookie(page, LOGIN_CSRF, token, parts.secure_cookies, path="/login")
        return page

    @app.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        email: Annotated[str, Form(max_length=320)],
        password: Annotated[str, Form(max_length=1024)],
        csrf: Annotated[str, Form(max_length=100)] = "",
    ) -> Response:
        expected = request.cookies.get(LOGIN_CSRF, "")
        if not expected or not secrets.compare_digest(csrf.encode(), expected.encode()):
            raise HTTPException(403, "reload the login page")
        client = request.client.host if request.client else "-"
        if await parts.throttle.blocked(email, client):
            log.info("console.login_throttled")
            raise HTTPException(429, "too many failed logins: wait a few minutes")
        staff = await parts.accounts.verify(email, password)
        if staff is None:
            await parts.throttle.failed(email, client)
            log.info("console.login_failed")
            return RedirectResponse("/login?failed=1", status_code=303)
        await parts.throttle.succeeded(email)
        session_id, session = await parts.sessions.open(staff)
        await audit_tenant(staff.tenant, Who(session, staff).actor, "console.login", "ok")
        response = RedirectResponse("/inbox", status_code=303)
        _cookie(response, COOKIE, session_id, parts.secure_cookies)
        response.delete_cookie(LOGIN_CSRF, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(me: Authed, everywhere: Annotated[str, Form()] = "") -> Response:
        if everywhere:
            await parts.sessions.close_all(me.staff.ref)
        else:
            await parts.sessions.close(me.session)
        await audit_tenant(me.staff.tenant, me.actor, "console.logout", "everywhere" if everywhere else "ok")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
    async def inbox_page(request: Request) -> Response:
        try:
            me = await who(request)
        except HTTPException:
            return RedirectResponse("/login", status_code=303)
        return templates.TemplateResponse(request, "inbox.html", _page(me) | {"inbox": await listing(me)})

    @app.get("/conversations/{conv}", response_class=HTMLResponse, include_in_schema=False)
    async def conversation_page(request: Request, conv: str) -> Response:
        try:
            me = await who(request)
        except HTTPException:
            return RedirectResponse("/login", status_code=303)
        conv = await own(me, conv, "read")
        page = await read(me, conv)
        approved = parts.tenants.get(me.staff.tenant).config.inbox.templates
        context = _page(me) | {"c": page, "templates": approved}
        return templates.TemplateResponse(request, "conversation.html", context)

    # API --------------------------------------------------------------------------------------------------

    @app.get("/api/me")
    async def api_me(me: Authed) -> dict[str, Any]:
        return {
            "email": me.staff.email,
            "role": me.staff.role,
            "tenant": me.staff.tenant,
            "csrf": me.session.csrf,
        }

    async def listing(me: Who) -> dict[str, Any]:
        tenant = me.staff.tenant
        waiting, taken = await parts.index.listing(tenant)
        held = {c: await parts.takeover.holder(c) for c, _ in taken}
        reasons = {c: await parts.view.handoff_reason(c) for c, _ in waiting}
        names = {s.ref: s.email for s in await parts.accounts.list(tenant)}
        stale = time.time() - STALE_S  # an entry is written just before its flag: young ones are left alone
        for conv, since in [*waiting, *taken]:
            if since < stale and held.get(conv) is None and reasons.get(conv) is None:
                await parts.index.forget(conv)  # given back elsewhere, or the person was erased
        unread = await parts.index.unread(tenant, me.staff.ref, [c for c, _ in [*waiting, *taken]])
        taken_rows = [
            {"conv": c, "since": t, "holder": names.get(h.staff, "?"), "mine": h.staff == me.staff.ref,
             "unread": unread[c]}
            for c, t in taken if (h := held[c]) is not None
        ]  # fmt: skip
        waiting_rows = [
            {"conv": c, "since": t, "reason": reason, "window_left_s": await parts.replies.window_left_s(c),
             "unread": unread[c]}
            for c, t in waiting if c not in held and (reason := reasons[c]) is not None
        ]  # fmt: skip
        busy = {c for c, _ in [*taken, *waiting]}
        recent = [{"conv": c, "at": t} for c, t in await parts.index.recent(tenant) if c not in busy]
        return {"waiting": waiting_rows, "taken": taken_rows, "recent": recent}

    @app.get("/api/inbox")
    async def api_inbox(me: Authed) -> dict[str, Any]:
        """Conversations waiting for a person (oldest first), taken over, and the others people wrote in
        recently (handled by the assistant, newest first): references and times only."""
        return await listing(me)

    @app.get("/api/events")
    async def api_events(request: Request, me: Authed) -> EventSourceResponse:
        """Server-Sent Events: `inbox` (kind, conv) as handoffs, takeovers and messages happen; `logout` and
        the end of the stream when the session ends."""
        last = request.headers.get("last-event-id", "")
        if not _valid_event_id(last):
            last = await parts.index.last_event_id(me.staff.tenant)

        async def stream() -> AsyncIterator[ServerSentEvent]:
            after = last
            yield ServerSentEvent(comment="connected")
            while True:
                if not await parts.sessions.alive(me.session):
                    yield ServerSentEvent(data="{}", event="logout")
                    return
                wake = int(parts.sse_wake_s * 1000)
                for event in await parts.index.events(me.staff.tenant, after, block_ms=wake):
                    after = event.id
                    data = json.dumps({"kind": event.kind, "conv": event.conv})
                    yield ServerSentEvent(data=data, event="inbox", id=event.id)

        return EventSourceResponse(stream(), ping=15)

    async def read(me: Who, conv: str) -> Any:
        page = await parts.view.read(conv)
        if page.content_allowed:
            await parts.index.mark_read(me.staff.ref, conv)
        await audit(
            me, "read", conv, "content" if page.content_allowed else "metadata", lines=len(page.lines)
        )
        return page

    @app.get("/api/conversations/{conv}")
    async def api_conversation(me: Authed, conv: str) -> dict[str, Any]:
        """Content only where consent allows `human_review` or the person asked for a person."""
        page = await read(me, await own(me, conv, "read"))
        return asdict(page)

    @app.get("/api/conversations/{conv}/voice/{index}")
    async def api_voice(me: Authed, conv: str, index: int) -> Response:
        """A voice note the person sent while the conversation waited or was taken over (audio/ogg), fetched
        from Meta's media store; only where content may be read."""
        conv = await own(me, conv, "play")
        media = await parts.view.voice_media(conv, index)
        if media is None:
            await audit(me, "play", conv, "refused")
            raise HTTPException(404, "no voice note to play here")
        try:
            audio = await parts.replies.voice_note(conv, media)
        except ReplyRefusedError as exc:
            await audit(me, "play", conv, exc.refusal.value)
            raise HTTPException(502, "the voice note is no longer available") from None
        await audit(me, "play", conv, "content")
        return Response(audio, media_type="audio/ogg", headers={"Cache-Control": "no-store"})

    @app.post("/api/conversations/{conv}/take")
    async def api_take(me: Authed, conv: str) -> dict[str, str]:
        """Take over: from the answer on, the assistant sends nothing (also a turn already running)."""
        conv = await own(me, conv, "take")
        try:
            await parts.takeover.take(conv, me.staff.ref, force=me.staff.role == "owner")
        except HeldByOtherError:
            await audit(me, "take", conv, "held_by_other")
            raise HTTPException(409, "a colleague holds this conversation") from None
        await audit(me, "take", conv, "ok")
        return {"status": "taken"}

    @app.post("/api/conversations/{conv}/give-back")
    async def api_give_back(me: Authed, conv: str) -> dict[str, Any]:
        conv = await own(me, conv, "give_back")
        try:
            merged = await parts.handback.give_back(conv, me.staff.ref, force=me.staff.role == "owner")
        except HeldByOtherError:
            await audit(me, "give_back", conv, "held_by_other")
            raise HTTPException(409, "a colleague holds this conversation") from None
        await audit(me, "give_back", conv, "ok", messages=merged)
        return {"status": "given_back", "messages_to_history": merged}

    @app.post("/api/conversations/{conv}/assign")
    async def api_assign(me: Authed, conv: str, body: Assignment) -> dict[str, str]:
        conv = await own(me, conv, "assign")
        colleague = next(
            (s for s in await parts.accounts.list(me.staff.tenant) if s.email == body.email.strip().lower()),
            None,
        )
        if colleague is None:
            raise HTTPException(404, "no such colleague")
        try:
            await parts.takeover.assign(conv, me.staff.ref, colleague.ref, force=me.staff.role == "owner")
        except (HeldByOtherError, NotTakenError):
            await audit(me, "assign", conv, "refused")
            raise HTTPException(409, "take the conversation over first") from None
        await audit(me, "assign", conv, "ok")
        return {"status": "assigned"}

    async def answered(me: Who, conv: str, action: str, send: Awaitable[Sent]) -> dict[str, str]:
        """A staff reply's outcome: audited either way, a refusal as its HTTP status."""
        try:
            sent = await send
        except ReplyRefusedError as exc:
            await audit(me, action, conv, exc.refusal.value)
            raise HTTPException(_STATUS.get(exc.refusal.value, 409), exc.refusal.value) from None
        await audit(me, action, conv, "sent")
        await parts.index.note(conv, "reply")
        return {"status": "sent", "message_id": sent.message_id}

    @app.post("/api/conversations/{conv}/replies")
    async def api_reply(me: Authed, conv: str, body: TextReply) -> dict[str, str]:
        """A text reply (within the 24-hour window; outside it only approved templates may be sent)."""
        conv = await own(me, conv, "reply")
        send = parts.replies.send_text(conv, me.staff.ref, body.reply_id, body.text, author=me.staff.email)
        return await answered(me, conv, "reply", send)

    @app.post("/api/conversations/{conv}/templates")
    async def api_template(me: Authed, conv: str, body: TemplateReply) -> dict[str, str]:
        """One of the business's approved templates (tenant.yaml `inbox.templates`): what may be sent once the
        24-hour window has closed."""
        conv = await own(me, conv, "template")
        approved = parts.tenants.get(me.staff.tenant).config.inbox.templates
        template = next((t for t in approved if t.name == body.name), None)
        if template is None:
            raise HTTPException(404, "not an approved template of your business")
        send = parts.replies.send_template(conv, me.staff.ref, body.reply_id, template)
        return await answered(me, conv, "template", send)

    @app.post("/api/conversations/{conv}/voice-replies", max_body_size=MAX_RECORDING_BYTES)
    async def api_voice_reply(request: Request, me: Authed, conv: str, reply_id: str) -> dict[str, str]:
        """A voice note recorded in the browser (body: the recording, e.g. audio/webm;codecs=opus), sent as
        an OGG/Opus mono voice note."""
        conv = await own(me, conv, "voice_reply")
        recording = await request.body()
        send = parts.replies.send_voice_note(conv, me.staff.ref, reply_id, recording, author=me.staff.email)
        return await answered(me, conv, "voice_reply", send)

    return app


_STATUS = {"bad_text": 422, "bad_audio": 422, "consent": 403, "graph": 502, "outcome_unknown": 502}


class _Hardened:
    """Security headers on every response (pure ASGI: the SSE stream passes through untouched). Everything
    comes from this origin (no CDN, no inline script), the pages are never framed, no referrer leaves, and
    nothing but the static files may be cached."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self._app(scope, receive, send_with_headers)


def _page(me: Who) -> dict[str, Any]:
    return {"me": me.staff, "csrf": me.session.csrf}


def _cookie(response: Response, name: str, value: str, secure: bool, *, path: str = "/") -> None:
    response.set_cookie(name, value, httponly=True, secure=secure, samesite="lax", path=path)


def _valid_event_id(value: str) -> bool:
    return bool(re.fullmatch(EVENT_ID, value))
