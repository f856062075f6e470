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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
from pipelines.tts import TTSError, resolve_voice

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from pathlib import Path

    from agent.engines.runtime import Progress
    from agent.settings import Settings
    from pipelines.automation import ToolSpec
    from pipelines.stt import Transcriber
    from pipelines.turn import TurnConfig, TurnResult, TurnRunner


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
        check, entry = check_folder(folder, settings, environ)
        checks.append(check)
        if entry is not None:
            loaded[entry.config.id] = entry
    try:
        TenantRegistry(loaded)
    except TenantError as exc:
        checks.append(TenantCheck(str(prompts_dir), (str(exc),)))
    return checks


def check_folder(
    folder: Path, settings: Settings, environ: Mapping[str, str], *, beside: TenantRegistry | None = None
) -> tuple[TenantCheck, LoadedTenant | None]:
    """One tenant folder as `validate` checks it (the console checks a draft with this too); `beside`: the
    other tenants it must not clash with (phone number ids)."""
    try:
        tenant = load_tenant(folder, egress=settings.egress_policy())
        entry = LoadedTenant.of(tenant, folder)
        if beside is not None:
            TenantRegistry({i: beside.get(i) for i in beside.ids() if i != tenant.id} | {tenant.id: entry})
    except TenantError as exc:
        return TenantCheck(folder.name, (str(exc),)), None
    problems = _runtime_problems(tenant, settings, environ)
    tools = len(tool_specs(tenant.automation))
    summary = f"{tools} tools, {len(entry.turn.system_prompt)} chars"
    return TenantCheck(tenant.id, tuple(problems), summary), entry


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


async def try_turn(
    runner: TurnRunner,
    tenant: Tenant,
    config: TurnConfig,
    *,
    message: str = "",
    audio: Callable[[], Awaitable[bytes]] | None = None,
    transcriber: Transcriber | None = None,
) -> tuple[TurnResult, DryRunTools]:
    """One turn of a tenant's configuration (live, or a draft the console checks), tools as dry runs."""
    from pipelines.turn import Message, Turn

    tools = DryRunTools(tool_specs(tenant.automation))
    said = Message("try", text=message) if audio is None else Message("try", audio=audio)
    toolbox = tools if tools.specs_ else None
    result = await runner.run(Turn("try", (said,), config, transcriber=transcriber, toolbox=toolbox))
    return result, tools
