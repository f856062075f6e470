"""The validator of `leadclose prompts validate` for one tenant folder (the console checks drafts with it):
the loader's rules (agent/tenants/registry.py, files.py) plus what only shows at run time."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from agent.tenants.automation import voices_by_language
from agent.tenants.registry import LoadedTenant, TenantError, TenantRegistry, load_tenant
from pipelines.tts import TTSError, resolve_voice

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from agent.settings import Settings
    from agent.tenants.registry import Tenant


def check_folder(
    folder: Path, settings: Settings, environ: Mapping[str, str], *, beside: TenantRegistry | None = None
) -> tuple[list[str], LoadedTenant | None]:
    """The problems of one tenant folder and, if it loads, the tenant; `beside`: the other tenants it must
    not clash with (phone number ids)."""
    try:
        tenant = load_tenant(folder, egress=settings.egress_policy())
        entry = LoadedTenant.of(tenant, folder)
        if beside is not None:
            TenantRegistry({i: beside.get(i) for i in beside.ids() if i != tenant.id} | {tenant.id: entry})
    except TenantError as exc:
        return [str(exc)], None
    return runtime_problems(tenant, settings, environ), entry


def runtime_problems(tenant: Tenant, settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """What only shows at run time: environment variables that must be set, voices and speech engines this
    deployment can run."""
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
