"""The same call agent as a LiveKit `AgentServer` worker, for deployments that bring WhatsApp calls into a
LiveKit room (LiveKit SIP trunked from a WhatsApp Business calling provider, or LiveKit's WhatsApp connector).

    LIVEKIT_URL=wss://… LIVEKIT_API_KEY=… LIVEKIT_API_SECRET=… LEADCLOSE_LLM_BASE_URL=… \\
    LEADCLOSE_MASTER_KEY=… LEADCLOSE_REDIS_URL=… python -m agent.calls.room start

LiveKit's own CLI runs it (`start`, `dev`) and dispatches one job per room. A room call is assembled by the
same `CallAssembly` as a WhatsApp WebRTC call (`agent.calls.call`): the tenant's brain, the caller's consent
ledger and tools (conversation state from Redis and the master key, as in chat), the vault seeded with the
caller's number, the consent-aware transcript and the content-free call record when it ends. Only the audio
(the room instead of our aiortc bridge) and the hang-up differ: when the agent ends the call (a keyword, a
handoff, the end tool, the caller's silence) the room is deleted, which disconnects the SIP or WhatsApp
participant; when the caller leaves, the session closes.

- Tenant: the room's metadata `{"tenant": "<folder>"}` (else `default`).
- Caller: the first participant attribute of `LEADCLOSE_CALLS_CALLER_ATTRIBUTES` that holds a phone number:
  LiveKit SIP sets `sip.phoneNumber`; with the WhatsApp connector, whoever accepts the call sets
  `participant_attributes={"leadclose.caller": "<wa_id>"}`. The number resolves to the person's subject as
  the webhook resolves it (`agent.privacy.identities`: number and BSUID aliases, across master-key versions), so a STOP
  given in chat under the BSUID holds for a room call from the number. With no number (withheld, or not set)
  the agent still answers with the disclosure, but without a consent ledger or tools, and keeps nothing.
- No recording question: recording needs both sides of the audio, which only the aiortc bridge has here.

Models, Redis and HTTP clients are built once per process in `prewarm`. The LLM must be an endpoint
(`LEADCLOSE_LLM_BASE_URL`): LiveKit forks job processes, and each would otherwise start its own llama.cpp.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING

import structlog
from livekit.agents import AgentServer, JobContext, JobProcess, cli, room_io
from redis.exceptions import RedisError

from agent.calls.assembly import CallAssembly, CallOutcome, call_context
from agent.calls.loaded import CallModels
from agent.engines.runtime import speech_client
from agent.engines.voices import tenant_voices
from agent.metrics import Metrics
from agent.services import Services, conversation_state
from agent.settings import RuntimeConfigError, load_settings
from agent.tenants.registry import TenantError
from pipelines.llm import Responder

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from livekit import rtc
    from livekit.agents import AgentSession

    from agent.calls.agent import CallAgent
    from agent.calls.assembly import CallContext, ConversationState
    from agent.settings import Settings

log = structlog.get_logger()

_SEPARATORS = re.compile(r"[\s().+-]")


def room_tenant(metadata: str | None) -> str:
    try:
        tenant = json.loads(metadata or "{}").get("tenant")
    except (json.JSONDecodeError, AttributeError):
        tenant = None
    return tenant if isinstance(tenant, str) and tenant else "default"


def caller_id(attributes: Mapping[str, str], names: Sequence[str]) -> str:
    """The caller's WhatsApp id (digits only, as the chat webhook's `wa_id`) from the first attribute in `names`
    that holds a phone number (E.164: up to 15 digits); "" when none does (a withheld number, a SIP URI)."""
    for name in names:
        digits = _SEPARATORS.sub("", attributes.get(name, ""))
        if digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 15:
            return digits
    return ""


class RoomCalls:
    """A room worker process's calls: built once in `prewarm`, one `run` per job (room)."""

    def __init__(
        self,
        services: Services,
        state: ConversationState | None,
        assembly: CallAssembly,
        metrics: Metrics,
        *,
        caller_attributes: Sequence[str],
    ) -> None:
        self._services = services
        self._tenants = services.tenants
        self._state = state
        self._assembly = assembly
        self._metrics = metrics
        self._caller_attributes = caller_attributes

    @classmethod
    def build(cls, settings: Settings) -> RoomCalls:
        """Blocking (loads the models): the `prewarm` step. The process's services (Redis, HTTP, the tools'
        caller) are built here and live as long as the process; `aclose()` closes them."""
        if settings.llm_base_url is None:
            raise RuntimeConfigError("the LiveKit room worker needs LEADCLOSE_LLM_BASE_URL (an LLM endpoint)")
        services = Services(settings)
        state = conversation_state(services)
        llm = services.llm(str(settings.llm_base_url))
        responder = Responder(
            llm,
            settings.llm_model,
            timeout_s=settings.llm_timeout_s,
            max_tokens=settings.llm_max_tokens,
        )
        metrics = Metrics()
        models = CallModels.load(settings)
        hosted = speech_client(settings, http=services.http) if settings.speech_base_url else llm
        assembly = CallAssembly(
            models,
            responder,
            settings.llm_model,
            metrics,
            silence_timeout_s=settings.calls_silence_timeout_s,
            max_duration_s=settings.calls_max_duration_s,
            voices=tenant_voices(settings, models.synthesizer, services.tenants, hosted=hosted),
        )
        return cls(services, state, assembly, metrics, caller_attributes=settings.calls_caller_attributes)

    async def aclose(self) -> None:
        await self._services.aclose()

    async def context(self, metadata: str | None, attributes: Mapping[str, str], call_id: str) -> CallContext:
        """The call's context from the room (tenant) and the caller's participant attributes (their number,
        resolved to the person's subject, recording the alias as the webhook does). Raises
        `KeyError`/`TenantError` for a tenant that is not configured, `RedisError` when the person cannot
        be resolved."""
        tenant, user_key = room_tenant(metadata), caller_id(attributes, self._caller_attributes)
        if not user_key:
            log.warning("call.anonymous_caller", call=call_id, tenant=tenant, ledger=False, tools=False)
        self._tenants.get(tenant)  # a tenant that is not configured records no alias
        subject = None
        if self._state is not None and user_key:
            subject = await self._state.identities.subject(tenant, user_key)
        return call_context(self._tenants, self._state, tenant, user_key, call_id, subject)

    async def run(self, ctx: JobContext, caller: rtc.RemoteParticipant) -> CallOutcome | None:
        # LiveKit's SIP call id is free of personal data (a room name may hold the caller's number).
        call_id = caller.attributes.get("sip.callID") or ctx.job.id
        try:
            call = await self.context(ctx.room.metadata, caller.attributes, call_id)
        except (KeyError, TenantError):
            log.error("call.tenant_misconfigured", call=call_id)
            await ctx.delete_room()
            return None
        except RedisError as exc:  # whose consent applies is unknown: the call is not answered
            log.error("call.caller_unresolved", call=call_id, error=type(exc).__name__)
            await ctx.delete_room()
            return None
        options = room_io.RoomOptions(participant_identity=caller.identity, close_on_disconnect=True)

        async def in_the_room(agent: CallAgent, session: AgentSession[None]) -> None:
            await session.start(agent, room=ctx.room, room_options=options, record=False)

        async def hang_up() -> None:
            await ctx.delete_room()  # disconnects the SIP / WhatsApp participant; leaving alone would not

        return await self.answer(call, in_the_room, hang_up)

    async def answer(
        self,
        call: CallContext,
        connect: Callable[[CallAgent, AgentSession[None]], Awaitable[None]],
        hang_up: Callable[[], Awaitable[None]],
    ) -> CallOutcome:
        """The shared assembly with the room's audio (`connect` starts the session on it). The session closing
        on its own means the caller left (`close_on_disconnect`); any other end hangs the caller up."""
        began = time.monotonic()
        agent, session = await self._assembly.session(call, recorder=None)
        await connect(agent, session)
        outcome = await self._assembly.converse(agent, session, (), closed=CallOutcome.CALLER_HUNG_UP)
        await session.aclose()
        if outcome is not CallOutcome.CALLER_HUNG_UP:
            await hang_up()
        await self._assembly.log(call, agent, session, None, outcome, time.monotonic() - began)
        self._metrics.calls.labels(call.tenant, outcome.value).inc()
        log.info("call.ended", call=call.call_id, tenant=call.tenant, outcome=outcome.value)
        return outcome


def prewarm(proc: JobProcess) -> None:
    proc.userdata["calls"] = RoomCalls.build(load_settings())


async def entrypoint(ctx: JobContext) -> None:
    calls: RoomCalls = ctx.proc.userdata["calls"]
    await ctx.connect()
    caller = await ctx.wait_for_participant()
    outcome = await calls.run(ctx, caller)
    ctx.shutdown(reason=outcome.value if outcome is not None else "not_answered")


def main() -> None:
    server = AgentServer(setup_fnc=prewarm)
    server.rtc_session(entrypoint, agent_name="leadclose")
    cli.run_app(server)


if __name__ == "__main__":
    main()
