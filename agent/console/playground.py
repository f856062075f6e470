"""The voice playground of the staff console (owners only): the page and its JSON API, as a router.

    app.include_router(playground_router(playground, tenant=owner_tenant("playground"), rights=rights, templates=t))

`tenant` is the console's owner dependency: it yields the signed-in owner's tenant (an agent gets 403),
checks the CSRF token of every write, and leaves the signed-in staff member in `request.state.who` (whose
`actor` the audit records). A session belongs to the tenant that opened it; its id is random and is the
only name of the session. Routes:
- `GET /playground`: the page (a chat: type, hold to record, or upload a voice note)
- `POST /api/playground/sessions`: a new sandbox session
- `POST /api/playground/sessions/{session}/messages`: a typed message → the turn, stage by stage
- `POST /api/playground/sessions/{session}/voice`: a voice note (the body: any audio file) → the turn
- `GET /api/playground/sessions/{session}/turns/{turn}/voice`: the reply's voice note (audio/ogg, Opus)
- `DELETE /api/playground/sessions/{session}`: end the session (everything of it is deleted)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.console.playground_store import (
    MAX_TURNS,
    SESSION_ID,
    SessionBusyError,
    SessionFullError,
    SessionGoneError,
)
from agent.console.playground_turn import PlaygroundTurn, Said

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fastapi.templating import Jinja2Templates

    from agent.console.playground_turn import Playground
    from agent.privacy.rights import SubjectRights

MAX_AUDIO_BYTES = 5 * 1024 * 1024


class TypedMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    text: str = Field(min_length=1, max_length=4096)


class OpenedSession(BaseModel):
    session: str
    max_turns: int
    ttl_s: int


def playground_router(
    playground: Playground,
    *,
    tenant: Callable[..., Awaitable[str]],
    rights: SubjectRights,
    templates: Jinja2Templates,
    max_audio_bytes: int = MAX_AUDIO_BYTES,
) -> APIRouter:
    router = APIRouter(tags=["playground"])
    owner = Depends(tenant)

    async def audit(request: Request, tenant_id: str, action: str, outcome: str) -> None:
        """A tenant-wide event (no person: the session is a sandbox) on the tenant's audit chain."""
        await rights.record_denied(
            tenant_id, request.state.who.actor, f"console.playground.{action}", outcome
        )

    def session_of(session: str) -> str:
        if not re.fullmatch(SESSION_ID, session):
            raise HTTPException(404, "no such playground session")
        return session

    async def answered(request: Request, tenant_id: str, session: str, said: Said) -> PlaygroundTurn:
        try:
            shown = await playground.turn(session_of(session), tenant_id, said)
        except SessionGoneError:
            raise HTTPException(404, "no such playground session (ended or expired)") from None
        except SessionBusyError:
            raise HTTPException(409, "the previous message is still being answered") from None
        except SessionFullError:
            raise HTTPException(409, f"a session has at most {MAX_TURNS} turns: start a new one") from None
        await audit(request, tenant_id, "turn", shown.outcome)
        return shown

    @router.get("/playground", response_class=HTMLResponse, include_in_schema=False)
    async def playground_page(request: Request, tenant_id: str = owner) -> Response:
        return templates.TemplateResponse(request, "playground.html", {"max_audio_bytes": max_audio_bytes})

    @router.post("/api/playground/sessions", summary="Open a sandbox session")
    async def open_session(request: Request, tenant_id: str = owner) -> OpenedSession:
        """A sandbox conversation of the tenant's assistant, apart from every real person: its own subject,
        nothing sent to WhatsApp, erased when ended or an idle hour after its last turn."""
        session = await playground.store.open(tenant_id)
        await audit(request, tenant_id, "open", "ok")
        return OpenedSession(session=session, max_turns=MAX_TURNS, ttl_s=playground.store.ttl_s)

    @router.post("/api/playground/sessions/{session}/messages", summary="Send a typed message")
    async def typed(
        request: Request, session: str, body: TypedMessage, tenant_id: str = owner
    ) -> PlaygroundTurn:
        """The tenant's real turn for the message: keywords, consent, disclosure, minimization, memory, the
        tool loop (tools as dry runs), restore and the spoken reply; each stage as it happened."""
        return await answered(request, tenant_id, session, Said(text=body.text))

    @router.post(
        "/api/playground/sessions/{session}/voice", summary="Send a voice note", max_body_size=max_audio_bytes
    )
    async def voice(request: Request, session: str, tenant_id: str = owner) -> PlaygroundTurn:
        """The body is the recording or file (e.g. audio/webm;codecs=opus from the browser, OGG, WAV, MP3),
        at most 5 MiB (413 by its Content-Length, or as it streams); audio that cannot become a turn gets the
        tenant's fixed reply, as on WhatsApp."""
        audio = await request.body()
        if not audio:
            raise HTTPException(422, "no audio")
        return await answered(request, tenant_id, session, Said(audio=bytes(audio)))

    @router.get(
        "/api/playground/sessions/{session}/turns/{turn}/voice",
        summary="The reply's voice note",
        response_class=Response,
        responses={200: {"content": {"audio/ogg": {}}}},
    )
    async def reply_voice(session: str, turn: int, tenant_id: str = owner) -> Response:
        try:
            note = await playground.store.voice_note(session_of(session), tenant_id, turn)
        except SessionGoneError:
            note = None
        if note is None:
            raise HTTPException(404, "no voice note for this turn")
        return Response(note, media_type="audio/ogg", headers={"Cache-Control": "no-store"})

    @router.delete("/api/playground/sessions/{session}", summary="End a session")
    async def end_session(request: Request, session: str, tenant_id: str = owner) -> dict[str, Any]:
        try:
            await playground.store.end(session_of(session), tenant_id)
        except SessionGoneError:
            raise HTTPException(404, "no such playground session") from None
        await audit(request, tenant_id, "end", "ok")
        return {"ended": True}

    return router
