"""`leadclose prompts validate [DIR]`, `leadclose prompts try TENANT MESSAGE [--audio FILE]` and
`leadclose prompts test TENANT [--prompts-dir DIR] [--json]`.

`validate` checks every tenant folder the way the worker loads it, plus what only shows at run time:
environment variables that must be set, a voice this deployment can speak, phone number ids claimed twice.
`try` runs one turn against the configured LLM and shows what it saw and did. Its tools are dry runs: the
model's calls and their (restored) arguments are shown, nothing is sent to the business's endpoints.
`test` runs the tenant's regression cases (`cases.yaml`, see docs/regression.md) the same way and judges them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.tenants.cases import load_cases
from agent.tenants.registry import (
    TENANT_FILE,
    LoadedTenant,
    TenantError,
    TenantRegistry,
    load_tenant,
    turn_config,
)
from agent.tenants.validation import check_folder
from agent.tools.conversation import tool_specs
from agent.tools.dry_run import DryRunTools, try_turn

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from agent.engines.runtime import Progress
    from agent.settings import Settings
    from agent.tenants.cases import CaseReport
    from pipelines.turn import TurnResult


@dataclass(frozen=True, slots=True)
class TenantCheck:
    tenant: str
    problems: tuple[str, ...]
    summary: str = ""  # what was found, for a tenant without problems


def validate_prompts(prompts_dir: Path, settings: Settings, environ: Mapping[str, str]) -> list[TenantCheck]:
    """One check per tenant folder; an empty `problems` means it would load and run."""
    folders = sorted(p.parent for p in prompts_dir.glob(f"*/{TENANT_FILE}"))
    if not folders:
        return [TenantCheck(str(prompts_dir), (f"no tenant folders (expected */{TENANT_FILE})",))]
    checks, loaded = [], {}
    for folder in folders:
        problems, entry = check_folder(folder, settings, environ)
        if entry is None:
            checks.append(TenantCheck(folder.name, tuple(problems)))
            continue
        loaded[entry.config.id] = entry
        cases = 0
        try:
            cases = len(load_cases(folder))
        except TenantError as exc:
            problems.append(str(exc))
        tools = len(tool_specs(entry.config.automation))
        summary = f"{tools} tools, {len(entry.turn.system_prompt)} chars"
        checks.append(
            TenantCheck(
                entry.config.id, tuple(problems), summary + (f", {cases} cases" if not problems else "")
            )
        )
    try:
        TenantRegistry(loaded)
    except TenantError as exc:
        checks.append(TenantCheck(str(prompts_dir), (str(exc),)))
    return checks


def render_checks(checks: Sequence[TenantCheck]) -> str:
    lines: list[str] = []
    for check in checks:
        if check.problems:
            lines.extend(f"error  {check.tenant}: {p}" for p in check.problems)
        else:
            lines.append(f"ok     {check.tenant} ({check.summary})")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TryReport:
    tenant: str
    llm_base_url: str
    result: TurnResult
    tools: DryRunTools

    def render(self) -> str:
        r = self.result
        lines = [f"tenant      {self.tenant}", f"LLM         {self.llm_base_url}"]
        if r.transcript is not None:
            lines.append(f"transcript  {r.transcript.text or '(not understood)'}")
        lines.append(f"outcome     {r.outcome.value}" + (f" ({r.failure})" if r.failure else ""))
        lines.append("LLM saw     (minimized; the last request of the turn):")
        lines.extend(f"  {json.dumps(m, ensure_ascii=False)}" for m in r.prompt)
        for call in r.tool_calls:
            lines.append(f"tool call   {call.name} {call.arguments}")
            lines.append(f"  model read {call.result}")
        for name, arguments in self.tools.calls:
            lines.append(f"dry run     {name} would get {json.dumps(arguments, ensure_ascii=False)}")
        if r.llm is not None:
            lines.append(
                f"LLM said    {r.llm.text}  [{r.llm.prompt_tokens}+{r.llm.completion_tokens} tokens]"
            )
        lines.append(f"reply       {r.reply_text}")
        return "\n".join(lines)


async def try_prompt(
    settings: Settings,
    tenant_id: str,
    *,
    message: str | None = None,
    audio: Path | None = None,
    progress: Progress,
) -> TryReport:
    """One turn of `tenant_id` with the configured LLM (or the embedded one), tools as dry runs."""
    from agent.engines.runtime import open_runtime
    from agent.services import Services
    from pipelines.turn import given_audio

    folder = settings.prompts_dir / tenant_id
    tenant = load_tenant(folder, egress=settings.egress_policy())
    config = turn_config(tenant, folder)
    async with (
        Services.open(settings) as services,
        open_runtime(settings, progress, http=services.http) as runtime,
    ):
        progress("running one turn")
        if audio is None:
            result, tools = await try_turn(runtime.runner, tenant, config, message=message or "")
        else:
            router = await asyncio.to_thread(runtime.speech.for_tenant, tenant)  # as the worker hears it
            said = given_audio(await asyncio.to_thread(audio.read_bytes))
            result, tools = await try_turn(runtime.runner, tenant, config, audio=said, transcriber=router)
    return TryReport(tenant_id, runtime.llm_base_url, result, tools)


async def run_prompt_cases(
    settings: Settings, tenant_id: str, prompts_dir: Path, *, progress: Progress
) -> CaseReport:
    """Every case in `prompts_dir/tenant_id/cases.yaml` through the tenant's turn, with the configured LLM
    (or the embedded one), tools as dry runs."""
    from agent.engines.runtime import open_runtime
    from agent.services import Services
    from agent.tools.dry_run import run_cases

    folder = prompts_dir / tenant_id
    tenant = LoadedTenant.of(load_tenant(folder, egress=settings.egress_policy()), folder)
    cases = load_cases(folder)
    async with (
        Services.open(settings) as services,
        open_runtime(settings, progress, http=services.http) as runtime,
    ):
        progress(f"running {len(cases)} cases")
        return await run_cases(
            runtime.runner, tenant, cases, on_result=lambda r: progress(f"{r.verdict} {r.name}")
        )
