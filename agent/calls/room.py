"""The same call agent as a LiveKit `AgentServer` worker, for deployments that bring WhatsApp calls into a
LiveKit room (LiveKit SIP trunked from a WhatsApp Business calling provider, or LiveKit's WhatsApp connector).

    LIVEKIT_URL=wss://… LIVEKIT_API_KEY=… LIVEKIT_API_SECRET=… python -m agent.calls.room start

LiveKit's own CLI runs it (`start`, `dev`); LiveKit dispatches one job per room and audio comes through the
room instead of our aiortc bridge. Models load once per process in `prewarm`. The tenant is the room's
metadata `{"tenant": "<folder>"}` (or `default`). The LLM must be an endpoint (`LEADCLOSE_LLM_BASE_URL`):
LiveKit forks job processes, and each would otherwise start its own embedded llama.cpp server.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from livekit.agents import AgentServer, JobContext, JobProcess, cli

from agent.calls.agent import CallAgent, call_brain
from agent.calls.llm import AutomationLLM
from agent.calls.models import CallModels
from agent.calls.session import observe_turns, voice_session
from agent.metrics import Metrics
from agent.runtime import RuntimeConfigError, llm_client
from agent.settings import load_settings
from agent.tenants import TenantRegistry
from pipelines.automation import Automation
from pipelines.pii import Minimizer, Vault
from pipelines.respond import Responder

if TYPE_CHECKING:
    from agent.settings import Settings


def prewarm(proc: JobProcess) -> None:
    settings = load_settings()
    if settings.llm_base_url is None:
        raise RuntimeConfigError("the LiveKit room worker needs LEADCLOSE_LLM_BASE_URL (an LLM endpoint)")
    proc.userdata["settings"] = settings
    proc.userdata["tenants"] = TenantRegistry.load(settings.prompts_dir)
    proc.userdata["models"] = CallModels.load(settings.stt_model, settings.tts_voice)
    proc.userdata["metrics"] = Metrics()


def room_tenant(metadata: str | None) -> str:
    try:
        tenant = json.loads(metadata or "{}").get("tenant")
    except (json.JSONDecodeError, AttributeError):
        tenant = None
    return tenant if isinstance(tenant, str) and tenant else "default"


async def entrypoint(ctx: JobContext) -> None:
    settings: Settings = ctx.proc.userdata["settings"]
    tenants: TenantRegistry = ctx.proc.userdata["tenants"]
    await ctx.connect()
    tenant = room_tenant(ctx.room.metadata)
    profile, config = tenants.get(tenant)
    client = llm_client(settings, str(settings.llm_base_url))
    ctx.add_shutdown_callback(client.close)
    responder = Responder(
        client, settings.llm_model, timeout_s=settings.llm_timeout_s, max_tokens=settings.llm_max_tokens
    )
    brain, vault, minimizer = call_brain(profile, config), Vault(), Minimizer()
    agent = CallAgent(brain, minimizer, vault)
    llm_ = AutomationLLM(  # no tools in rooms yet: their side effects need the Redis-backed stores
        responder,
        Automation(responder, minimizer),
        model=settings.llm_model,
        vault=vault,
        policy=brain.restore_policy,
        public=brain.public_values,
    )
    session = voice_session(
        ctx.proc.userdata["models"], llm_, silence_timeout_s=settings.calls_silence_timeout_s
    )
    observe_turns(session, ctx.proc.userdata["metrics"], tenant)
    await session.start(agent, room=ctx.room, record=False)


def main() -> None:
    server = AgentServer(setup_fnc=prewarm)
    server.rtc_session(entrypoint, agent_name="leadclose")
    cli.run_app(server)


if __name__ == "__main__":
    main()
