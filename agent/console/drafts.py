"""Draft, check, try and publish a tenant's configuration from the staff console (owners only).

    app.include_router(drafts_router(desk, who=who, templates=templates))

The draft lives in a folder beside the tenant folder (`agent/tenants/drafts.py`): it survives restarts and
is never read by a worker. Every change is checked by the validator of `leadclose prompts validate`
(`check_folder`), and its errors come back located at a file and line. `try` runs one message through the
live configuration and the draft, side by side, on the same turn runner as `prompts try` (tools as dry
runs). Publishing writes a new version and swaps the live link in one rename (the workers' hot reload picks
it up); the previous versions stay for rollback; two owners publishing from the same version: the first
wins, the second gets 409. Each publish and rollback is audited with the diff of the files.

Routes: `GET /drafts` (the editor page); `GET /api/drafts`; `PUT|DELETE /api/drafts/files/{name}`;
`DELETE /api/drafts`; `POST /api/drafts/try`, `/api/drafts/publish`, `/api/drafts/rollback`.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from agent.tenants.drafts import (
    TENANT_FILE,
    Draft,
    DraftError,
    Published,
    TenantVersions,
    VersionConflictError,
)
from agent.tenants.files import MAX_KNOWLEDGE_BYTES
from agent.tenants.validation import check_folder
from agent.tools.dry_run import try_turn

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from pathlib import Path

    from fastapi.templating import Jinja2Templates

    from agent.console.accounts import Staff
    from agent.console.playground_turn import EngineSource
    from agent.privacy.rights import Actor, SubjectRights
    from agent.settings import Settings
    from agent.tenants.registry import LoadedTenant, TenantRegistry

_LINE = re.compile(r"^(?:(?P<pre>system template): )?line (?P<line>\d+):? (?P<msg>.*)$", re.DOTALL)


class Signed(Protocol):
    """The console's signed-in staff member (`agent.console.app.Who`)."""

    @property
    def staff(self) -> Staff: ...
    @property
    def actor(self) -> Actor: ...


class DraftRefusedError(Exception):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("the draft does not validate")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class DraftDesk:
    """What the drafts routes work with: the folders, the validator, the audit chain, and (where the
    console has them) the models `try` runs on: the console's, loaded on first use."""

    versions: TenantVersions
    check: Callable[[Path], tuple[list[str], LoadedTenant | None]]  # the validator on one folder (blocking)
    rights: SubjectRights
    tenants: TenantRegistry
    engines: EngineSource | None = None

    def located(self, folder: Path) -> list[dict[str, Any]]:
        return [p for problem in self.check(folder)[0] for p in locate(problem, folder)]

    def _loaded(self, folder: Path) -> LoadedTenant:
        problems, loaded = self.check(folder)
        if loaded is None or problems:
            raise DraftRefusedError([p for problem in problems for p in locate(problem, folder)])
        return loaded

    async def state(self, tenant: str) -> dict[str, Any]:
        draft = await asyncio.to_thread(self.versions.draft, tenant)
        return await asyncio.to_thread(self._state, draft)

    def _state(self, draft: Draft) -> dict[str, Any]:
        return {
            "tenant": draft.tenant,
            "base": draft.base,
            "live": self.versions.live(draft.tenant),
            "versions": self.versions.versions(draft.tenant),
            "files": draft.files,
            "problems": self.located(draft.folder),
        }

    async def try_both(self, tenant: str, message: str) -> dict[str, Any]:
        """One message through the live configuration and the draft (tools as dry runs)."""
        if self.engines is None:
            raise HTTPException(503, "this console has no LLM to try with")
        draft = await asyncio.to_thread(self.versions.draft, tenant)
        drafted = await asyncio.to_thread(self._loaded, draft.folder)
        live = self.tenants.get(tenant)
        runner = (await self.engines.load()).runner
        answers = await asyncio.gather(
            *(try_turn(runner, t.config, t.turn, message=message) for t in (live, drafted))
        )
        return {
            name: {
                "outcome": result.outcome.value,
                "reply": result.reply_text,
                "prompt": result.prompt,
                "dry_runs": [{"tool": n, "arguments": a} for n, a in tools.calls],
            }
            for name, (result, tools) in zip(("live", "draft"), answers, strict=True)
        }

    async def publish(self, tenant: str, base: int, actor: Actor) -> dict[str, Any]:
        def check(folder: Path) -> None:
            problems = self.located(folder)
            if problems:
                raise DraftRefusedError(problems)

        return await self._change(
            tenant, actor, "publish", lambda: self.versions.publish(tenant, base=base, check=check)
        )

    async def rollback(self, tenant: str, base: int, to: int | None, actor: Actor) -> dict[str, Any]:
        return await self._change(
            tenant, actor, "rollback", lambda: self.versions.rollback(tenant, base=base, to=to)
        )

    async def _change(
        self, tenant: str, actor: Actor, action: str, change: Callable[[], Published]
    ) -> dict[str, Any]:
        """Run a publish or rollback (in a thread: file I/O) and audit it: with its diff, or why it was
        refused (`invalid`, `conflict`)."""
        try:
            done = await asyncio.to_thread(change)
        except (DraftRefusedError, VersionConflictError) as exc:
            why = "invalid" if isinstance(exc, DraftRefusedError) else "conflict"
            await self.rights.record_denied(tenant, actor, f"console.drafts.{action}", why)
            raise
        await self.rights.record_change(
            tenant, actor, f"console.drafts.{action}", "ok", diff=done.diff, version=done.version,
            previous=done.previous,
        )  # fmt: skip
        return {"version": done.version, "previous": done.previous, "diff": done.diff}


def folder_checker(
    settings: Settings, tenants: TenantRegistry, environ: Mapping[str, str] = os.environ
) -> Callable[[Path], tuple[list[str], LoadedTenant | None]]:
    """The validator of `leadclose prompts validate` for one folder, beside the other live tenants."""

    def check(folder: Path) -> tuple[list[str], LoadedTenant | None]:
        return check_folder(folder, settings, environ, beside=tenants)

    return check


def locate(problem: str, folder: Path) -> list[dict[str, Any]]:
    """A validator message as `{file, line, message}` items: `<folder>/tenant.yaml: line 3: …; line 9: …`
    or `<folder>/system.j2: system template: line 4: …`; one without a path concerns tenant.yaml."""
    prefix = f"{folder}/"
    name, rest = TENANT_FILE, problem
    if problem.startswith(prefix):
        name, _, rest = problem.removeprefix(prefix).partition(": ")
    parts = rest.split("; ") if name == TENANT_FILE else [rest]
    located: list[dict[str, Any]] = []
    for part in parts:
        match = _LINE.match(part)
        if match is None:
            located.append({"file": name, "line": None, "message": part})
        else:
            message = (f"{match['pre']}: " if match["pre"] else "") + match["msg"]
            located.append({"file": name, "line": int(match["line"]), "message": message})
    return located


# A file's write, capped before it is read or parsed: the largest file (128 KiB in UTF-8) as JSON with every
# character escaped (`\uXXXX`: 6 bytes for a 2-byte character, 12 for a 4-byte one: at most 3x), and room.
MAX_FILE_BODY_BYTES = 4 * MAX_KNOWLEDGE_BYTES


class FileBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    text: str = Field(max_length=128 * 1024)


class TryBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    message: str = Field(min_length=1, max_length=4096)


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    base: int = Field(ge=1)


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    base: int = Field(ge=1)
    to: int | None = Field(None, ge=1)


def drafts_router(
    desk: DraftDesk, *, who: Callable[[Request], Awaitable[Signed]], templates: Jinja2Templates
) -> APIRouter:
    router = APIRouter()

    async def owner(request: Request) -> Signed:
        """An owner of the tenant (an agent: 403, audited); the page's layout reads `request.state.who`."""
        me = await who(request)
        if me.staff.role != "owner":
            await desk.rights.record_denied(me.staff.tenant, me.actor, "console.drafts", "not_owner")
            raise HTTPException(403, "only an owner edits the assistant")
        request.state.who = me
        return me

    signed_owner = Depends(owner)  # a default, not `Annotated`: these annotations are strings

    async def refused(call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        """Refusals as statuses: a bad write 422, a draft that does not validate 422 with its problems, a
        version that moved 409."""
        try:
            return await call
        except DraftError as exc:
            raise HTTPException(422, str(exc)) from None
        except DraftRefusedError as exc:
            raise HTTPException(422, {"problems": exc.problems}) from None
        except VersionConflictError as exc:
            raise HTTPException(409, str(exc)) from None

    @router.get("/drafts", response_class=HTMLResponse, include_in_schema=False)
    async def drafts_page(request: Request) -> Response:
        try:
            me = await owner(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                return RedirectResponse("/login", status_code=303)
            raise
        return templates.TemplateResponse(request, "drafts.html", {"tenant": me.staff.tenant})

    @router.get("/api/drafts")
    async def api_draft(me: Signed = signed_owner) -> dict[str, Any]:
        """The draft (started from the live folder on first use), its files and the validator's problems."""
        return await refused(desk.state(me.staff.tenant))

    @router.put("/api/drafts/files/{name}", max_body_size=MAX_FILE_BODY_BYTES)
    async def api_write(name: str, body: FileBody, me: Signed = signed_owner) -> dict[str, Any]:
        """Write one file of the draft; the answer carries the validator's problems at their lines."""

        async def write() -> dict[str, Any]:
            await asyncio.to_thread(desk.versions.write, me.staff.tenant, name, body.text)
            return await desk.state(me.staff.tenant)

        return await refused(write())

    @router.delete("/api/drafts/files/{name}")
    async def api_remove(name: str, me: Signed = signed_owner) -> dict[str, Any]:
        async def remove() -> dict[str, Any]:
            await asyncio.to_thread(desk.versions.remove, me.staff.tenant, name)
            return await desk.state(me.staff.tenant)

        return await refused(remove())

    @router.delete("/api/drafts")
    async def api_discard(me: Signed = signed_owner) -> dict[str, str]:
        await asyncio.to_thread(desk.versions.discard, me.staff.tenant)
        return {"status": "discarded"}

    @router.post("/api/drafts/try")
    async def api_try(body: TryBody, me: Signed = signed_owner) -> dict[str, Any]:
        """One message, two answers: the live configuration's and the draft's (tools as dry runs)."""
        return await refused(desk.try_both(me.staff.tenant, body.message))

    @router.post("/api/drafts/publish")
    async def api_publish(body: PublishBody, me: Signed = signed_owner) -> dict[str, Any]:
        """The draft goes live if the live version is still `base` (else 409)."""
        return await refused(desk.publish(me.staff.tenant, body.base, me.actor))

    @router.post("/api/drafts/rollback")
    async def api_rollback(body: RollbackBody, me: Signed = signed_owner) -> dict[str, Any]:
        """Back to version `to` (default: the one before the live one), if the live one is still `base`."""
        return await refused(desk.rollback(me.staff.tenant, body.base, body.to, me.actor))

    return router
