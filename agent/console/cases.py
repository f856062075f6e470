"""The owner's regression cases in the console: `/cases` lists them with their last results and runs them,
`POST /api/cases` saves an exchange as a new case (the playground calls it).

    app.include_router(cases_router(book, tenant=owner_tenant("cases"), actor=..., audit=..., templates=templates))

`CaseBook` holds what the routes need: the prompts folder (cases are written to `<tenant>/cases.yaml`, the
file a business keeps in its repository, atomically and under a lock), how a set of cases is run (the
composition root passes `run_cases` over a real `TurnRunner`), and each tenant's last run, in this process's
memory (a console restart forgets results, never cases). A run is a background task; the page polls its
progress. One run per tenant at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from agent.tenants.cases import MAX_CASES_BYTES, Case, CaseError, CaseResult
from agent.tenants.registry import TenantError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from pathlib import Path

    from fastapi.templating import Jinja2Templates

    from agent.console.playground_turn import EngineSource
    from agent.privacy.rights import Actor
    from agent.settings import Settings
    from agent.tenants.cases import CaseReport

    RunCases = Callable[[Path, Sequence[Case], Callable[[CaseResult], None]], Awaitable[CaseReport]]
    Audit = Callable[[str, Actor, str, str], Awaitable[None]]

log = structlog.get_logger()


@dataclass
class RunState:
    total: int = 0
    results: list[CaseResult] = field(default_factory=list)
    running: bool = False
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "done": len(self.results),
            "total": self.total,
            "error": self.error,
            "results": [
                {"name": r.name, "verdict": r.verdict, "passed_runs": r.passed_runs, "runs": len(r.runs),
                 "needed": r.needed, "reason": r.reason}
                for r in self.results
            ],
        }  # fmt: skip


class CaseBook:
    """Each tenant's cases (its folder's `cases.yaml`) and its last run."""

    def __init__(self, prompts_dir: Path, run: RunCases) -> None:
        self._prompts_dir = prompts_dir
        self._run = run
        self._states: dict[str, RunState] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def folder(self, tenant: str) -> Path:
        return self._prompts_dir / tenant

    async def cases(self, tenant: str) -> tuple[Case, ...]:
        from agent.tenants.cases import load_cases

        return await asyncio.to_thread(load_cases, self.folder(tenant))

    async def save(self, tenant: str, case: Case) -> tuple[Case, ...]:
        from agent.tenants.cases import add_case

        return await asyncio.to_thread(add_case, self.folder(tenant), case)

    def state(self, tenant: str) -> RunState:
        return self._states.get(tenant, RunState())

    async def start(self, tenant: str) -> bool:
        """Start a run of every case in the background; False when one is already running."""
        if self.state(tenant).running:
            return False
        state = self._states[tenant] = RunState(running=True)  # before any await: a second start sees it
        try:
            cases = await self.cases(tenant)
        except CaseError as exc:  # refused before anything starts
            state.running, state.error = False, str(exc)
            raise
        state.total = len(cases)
        task = asyncio.create_task(self._run_all(tenant, cases, state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run_all(self, tenant: str, cases: Sequence[Case], state: RunState) -> None:
        try:
            await self._run(self.folder(tenant), cases, state.results.append)
        except TenantError as exc:  # the folder no longer loads: its reason names file and line, no content
            state.error = str(exc)
        except (
            Exception
        ) as exc:  # the model endpoint failed: the run ends with a reason, the console lives on
            log.warning("console.cases_failed", tenant=tenant, error=type(exc).__name__)
            state.error = "the run failed: the model could not be reached"
        finally:
            state.running = False

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def runtime_cases(settings: Settings, engines: EngineSource) -> RunCases:
    """Runs cases as `leadclose prompts test` does, on the console's models (loaded on first use and shared
    with the playground and the drafts' try)."""

    async def run(folder: Path, cases: Sequence[Case], on_result: Callable[[CaseResult], None]) -> CaseReport:
        from agent.tools.dry_run import run_cases

        runner = (await engines.load()).runner
        return await run_cases(runner, folder, cases, egress=settings.egress_policy(), on_result=on_result)

    return run


def cases_router(
    book: CaseBook,
    *,
    tenant: Callable[..., Any],
    actor: Callable[[Request], Actor],
    audit: Audit,
    templates: Jinja2Templates,
) -> APIRouter:
    """`tenant`: the dependency yielding the signed-in owner's tenant (403 for anyone else); `actor`: who
    that is, for the audit chain; `audit(tenant, actor, action, outcome)` records a tenant-wide event."""
    router = APIRouter(tags=["cases"])
    owner = Depends(tenant)

    async def listed(tenant_id: str) -> dict[str, Any]:
        try:
            cases = await book.cases(tenant_id)
        except CaseError as exc:
            return {"cases": [], "problem": str(exc), "run": book.state(tenant_id).to_json()}
        return {
            "cases": [c.model_dump(mode="json") for c in cases],
            "problem": "",
            "run": book.state(tenant_id).to_json(),
        }

    @router.get("/cases", response_class=HTMLResponse, include_in_schema=False)
    async def cases_page(request: Request, tenant_id: str = owner) -> Response:
        return templates.TemplateResponse(request, "cases.html", {"book": await listed(tenant_id)})

    @router.get("/api/cases", summary="The tenant's regression cases and its last run")
    async def cases_json(tenant_id: str = owner) -> dict[str, Any]:
        return await listed(tenant_id)

    @router.post(
        "/api/cases",
        status_code=201,
        summary="Save a case (replaces a case of the same name)",
        max_body_size=MAX_CASES_BYTES,  # a case that is larger cannot fit in the cases file
    )
    async def save_case(request: Request, case: Case, tenant_id: str = owner) -> dict[str, Any]:
        try:
            saved = await book.save(tenant_id, case)
        except CaseError as exc:
            await audit(tenant_id, actor(request), "console.cases.save", "refused")
            raise HTTPException(409, str(exc)) from None
        await audit(tenant_id, actor(request), "console.cases.save", "ok")
        return {"saved": case.name, "cases": len(saved)}

    @router.post("/api/cases/run", status_code=202, summary="Run every case in the background")
    async def run(request: Request, tenant_id: str = owner) -> dict[str, Any]:
        try:
            started = await book.start(tenant_id)
        except CaseError as exc:
            raise HTTPException(409, str(exc)) from None
        if not started:
            raise HTTPException(409, "a run is already going")
        await audit(tenant_id, actor(request), "console.cases.run", "started")
        return book.state(tenant_id).to_json()

    return router
