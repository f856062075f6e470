"""`leadclose prompts validate [DIR]` and `leadclose prompts try TENANT MESSAGE [--audio FILE]`.

`validate` checks every tenant folder the way the worker loads it, plus what only shows at run time:
environment variables that must be set, a voice this deployment can speak, phone number ids claimed twice.
`try` runs one turn against the configured LLM and shows what it saw and did. Its tools are dry runs: the
model's calls and their (restored) arguments are shown, nothing is sent to the business's endpoints.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.tenants.automation import voices_by_language
from agent.tenants.registry import (
    TENANT_FILE,
    LoadedTenant,
    Tenant,
    TenantError,
    TenantRegistry,
    load_tenant,
    turn_config,
)
from agent.tools.conversation import tool_specs
from agent.tools.dry_run import DryRunTools
from pipelines.tts import TTSError, resolve_voice

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from agent.engines.runtime import Progress
    from agent.settings import Settings
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
        try:
            tenant = load_tenant(folder, egress=settings.egress_policy())
            entry = LoadedTenant.of(tenant, folder)
        except TenantError as exc:
            checks.append(TenantCheck(folder.name, (str(exc),)))
            continue
        loaded[tenant.id] = entry
        problems = _runtime_problems(tenant, settings, environ)
        tools = len(tool_specs(tenant.automation))
        checks.append(
            TenantCheck(tenant.id, tuple(problems), f"{tools} tools, {len(entry.turn.system_prompt)} chars")
        )
    try:
        TenantRegistry(loaded)
    except TenantError as exc:
        checks.append(TenantCheck(str(prompts_dir), (str(exc),)))
    return checks


def _runtime_problems(tenant: Tenant, settings: Settings, environ: Mapping[str, str]) -> list[str]:
    needed = {
        "access_token_env": tenant.access_token_env,
        "automation.secret_env": tenant.automation.secret_env,
    }
    problems = [
        f"{field_}: environment variable {name} is not set"
        for field_, name in needed.items()
        if name is not None and not environ.get(name)
    ]
    for voice in voices_by_language(tenant.voice, tenant.language).values():
        if voice.engine == "openai" and settings.llm_base_url is None and settings.speech_base_url is None:
            problems.append(
                f"voice: openai/{voice.voice} needs LEADCLOSE_LLM_BASE_URL or LEADCLOSE_SPEECH_BASE_URL"
            )
        elif voice.engine == "piper":
            try:
                resolve_voice(voice.voice)
            except TTSError:
                problems.append(f"voice: piper/{voice.voice} is neither the bundled voice nor a .onnx file")
        elif voice.engine == "espeak" and shutil.which("espeak-ng") is None:
            problems.append(f"voice: espeak/{voice.voice} needs espeak-ng (apt-get install espeak-ng)")
    hosted = settings.speech_base_url or settings.llm_base_url
    for language, engine in tenant.speech.items():
        if engine.startswith("hosted:") and hosted is None:
            problems.append(f"speech.{language}: {engine} needs LEADCLOSE_SPEECH_BASE_URL or LLM_BASE_URL")
    return problems


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
    from pipelines.turn import Message, Turn, given_audio

    folder = settings.prompts_dir / tenant_id
    tenant = load_tenant(folder, egress=settings.egress_policy())
    config = turn_config(tenant, folder)
    tools = DryRunTools(tool_specs(tenant.automation))
    async with (
        Services.open(settings) as services,
        open_runtime(settings, progress, http=services.http) as runtime,
    ):
        progress("running one turn")
        router = None
        said = Message("try", text=message or "")
        if audio is not None:
            router = await asyncio.to_thread(runtime.speech.for_tenant, tenant)  # as the worker hears it
            said = Message("try", audio=given_audio(await asyncio.to_thread(audio.read_bytes)))
        toolbox = tools if tools.specs_ else None
        result = await runtime.runner.run(Turn("try", (said,), config, transcriber=router, toolbox=toolbox))
    return TryReport(tenant_id, runtime.llm_base_url, result, tools)
