"""A tenant's real turn with its tools as dry runs: `prompts try` and the console's side-by-side try of a
draft show one (`try_turn`), `run_cases` judges many.

The turn is the production composition (`TurnRunner.run`: minimization, tool loop, restore, disclosure
gate); only the tools stop short of the business's endpoints: the model's calls and their (restored)
arguments are recorded, nothing is sent. `run_cases` takes the tenant as a folder or as an already loaded
`LoadedTenant` (a draft held in memory), so a draft can be tested before it is published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.tenants.cases import CaseReport, CaseResult, CaseRun, Observed, judge
from agent.tenants.registry import LoadedTenant, load_tenant
from agent.tools.conversation import tool_specs

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from agent.egress import EgressPolicy
    from agent.tenants.cases import Case
    from agent.tenants.registry import Tenant
    from pipelines.automation import ToolSpec
    from pipelines.stt import Transcriber
    from pipelines.turn import TurnConfig, TurnResult, TurnRunner


@dataclass
class DryRunTools:
    """The tenant's tools as the model is offered them; calls are recorded and answered, never sent."""

    specs_: list[ToolSpec]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def specs(self) -> Sequence[ToolSpec]:
        return self.specs_

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        self.calls.append((name, arguments))
        return json.dumps({"dry_run": True, "note": "not sent; a live turn would call the business system"})


async def try_turn(
    runner: TurnRunner,
    tenant: Tenant,
    config: TurnConfig,
    *,
    message: str = "",
    audio: Callable[[], Awaitable[bytes]] | None = None,
    transcriber: Transcriber | None = None,
    turn_id: str = "try",
) -> tuple[TurnResult, DryRunTools]:
    """One turn of a tenant's configuration (live, or a draft the console checks), tools as dry runs."""
    from pipelines.turn import Message, Turn

    tools = DryRunTools(tool_specs(tenant.automation))
    said = Message(turn_id, text=message) if audio is None else Message(turn_id, audio=audio)
    toolbox = tools if tools.specs_ else None
    result = await runner.run(Turn(turn_id, (said,), config, transcriber=transcriber, toolbox=toolbox))
    return result, tools


async def run_cases(
    runner: TurnRunner,
    tenant: Path | LoadedTenant,
    cases: Sequence[Case],
    *,
    egress: EgressPolicy | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> CaseReport:
    """Every case through the tenant's turn, `case.runs` times each, one after another (a fresh
    conversation per run); `on_result` hears each case as it is judged (for progress)."""
    loaded = (
        LoadedTenant.of(load_tenant(tenant, egress=egress), tenant) if isinstance(tenant, Path) else tenant
    )
    results = []
    for case in cases:
        runs = []
        for n in range(case.runs):
            result, tools = await try_turn(
                runner, loaded.config, loaded.turn, message=case.message, turn_id=f"case:{case.name}:{n}"
            )
            seen = Observed(result.reply_text, tuple(tools.calls), result.outcome.value)
            runs.append(CaseRun(result.reply_text, judge(case.expect, seen)))
        judged = CaseResult(case.name, tuple(runs), case.needed)
        if on_result is not None:
            on_result(judged)
        results.append(judged)
    return CaseReport(loaded.config.id, tuple(results))
