"""One call, assembled the same way whichever transport carries its audio (WhatsApp WebRTC through our aiortc
bridge, or a LiveKit room): the caller's conversation state (consent ledger, tools, a vault seeded with their
number) → `CallAgent` and `AutomationLLM` in the voice `AgentSession`; the wait for the call's end; and, once
it ended, the call record and the transcript as consent allows. The transports differ only in where the audio
comes from and how the caller is hung up (Graph `terminate`, or deleting the LiveKit room).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from agent.calls.agent import CallAgent, CallBrain, Welcome, call_brain, speech_frames
from agent.calls.consent import CallConsent, CallTranscript
from agent.calls.llm import AutomationLLM
from agent.calls.recording import RECORD_RATE
from agent.calls.session import observe_turns, voice_session
from pipelines.audio import Pcm, encode_voice_note
from pipelines.automation import Automation
from pipelines.consent import lifted_by_opt_in
from pipelines.pii import Vault, seed_sender

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from livekit import rtc
    from livekit.agents import AgentSession

    from agent.calls.loaded import CallModels
    from agent.calls.recording import CallRecorder
    from agent.engines.voices import Voices
    from agent.metrics import Metrics
    from agent.privacy.gate import ConsentGate
    from agent.privacy.identities import Identities
    from agent.storage.erasure import Fence
    from agent.storage.keyring import Keyring
    from agent.tenants.registry import TenantRegistry
    from agent.tools.conversation import ToolFactory
    from pipelines.automation import ToolBox
    from pipelines.llm import Responder
    from pipelines.tts import Synthesizer

log = structlog.get_logger()


class CallOutcome(StrEnum):
    CALLER_HUNG_UP = "caller_hung_up"
    CALLER_SILENT = "caller_silent"
    MAX_DURATION = "max_duration"
    DRAINED = "drained"
    BAD_SDP = "bad_sdp"
    ENDED_BEFORE_ACCEPT = "ended_before_accept"
    NOT_CONNECTED = "not_connected"
    GRAPH_REFUSED = "graph_refused"
    MEDIA_LOST = "media_lost"
    AGENT_ENDED = "agent_ended"  # after a keyword (stop, talk to a person, …) or a handoff / end tool
    OVER_CAPACITY = "over_capacity"
    STALE = "stale"  # the `connect` was older than WhatsApp rings
    CALLER_ERASED = "caller_erased"  # erased during the call: a fenced write (consent, a tool) was refused


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What acts on a caller's conversation: the tools' stores (leads, handoff flags), the consent ledger and
    the person's subject across ids and key versions. All need the deployment's master key (conversation
    references, per-subject data keys)."""

    keyring: Keyring
    tools: ToolFactory
    consent: ConsentGate
    identities: Identities


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who calls which business: the tenant's brain and, for a known caller, their consent ledger and tools."""

    tenant: str
    call_id: str
    brain: CallBrain
    user_key: str = field(default="", repr=False)  # the caller's WhatsApp id: masked wherever it is said
    # The tenant's tools, bound to this caller by the server and to the call's fence once it took one.
    tools: Callable[[Fence], ToolBox | None] | None = None
    consent: CallConsent | None = None  # the consent ledger of this caller (keywords, the disclosure)


def call_context(
    tenants: TenantRegistry,
    state: ConversationState | None,
    tenant: str,
    user_key: str,
    call_id: str,
    subject: str | None = None,
) -> CallContext:
    """The caller's conversation is the same as their chat with the business (`subject`: as the webhook
    resolved it, number and BSUID being one person). Without a caller id (or without the master key) the
    call has no ledger and no tools. Raises `KeyError`/`TenantError` for a bad tenant."""
    loaded = tenants.get(tenant)
    profile, config = loaded.config, loaded.turn
    tools: Callable[[Fence], ToolBox | None] | None = None
    consent = None
    if state is not None and user_key:
        conv, factory = subject or state.keyring.conversation_ref(tenant, user_key), state.tools

        def tools(fence: Fence) -> ToolBox | None:
            return factory.for_turn(profile, conv=conv, contact=user_key, turn_id=call_id, fence=fence)

        consent = CallConsent(state.consent, profile, conv, call_id)
    return CallContext(tenant, call_id, call_brain(profile, config), user_key, tools, consent)


class CallAssembly:
    """One per process, shared by its calls (models, LLM client, greeting audio)."""

    def __init__(
        self,
        models: CallModels,
        responder: Responder,
        llm_model: str,
        metrics: Metrics,
        *,
        silence_timeout_s: float,
        max_duration_s: float,
        voices: Voices | None = None,
    ) -> None:
        self._models = models
        self._voices = voices
        self._responder = responder
        self._llm_model = llm_model
        self._metrics = metrics
        self._silence_timeout_s = silence_timeout_s
        self._max_duration_s = max_duration_s
        self._automation = Automation(responder, models.pii)
        self._greetings: dict[
            tuple[int, str], list[rtc.AudioFrame]
        ] = {}  # per voice and text: one per tenant
        self._voiceless: set[str] = set()  # tenants told once that their call language has no voice

    def voice(self, call: CallContext) -> Synthesizer:
        """The tenant's voice for its language (`voice:` in tenant.yaml, the same as its voice notes'). A call
        cannot go as text: a language without a tenant voice, or a deployment that passed no `voices`, is
        spoken by the call worker's own voice (`LEADCLOSE_TTS_VOICE`), logged once per tenant."""
        wanted = call.brain.voice
        if wanted is None or self._voices is None:
            if call.tenant not in self._voiceless:
                self._voiceless.add(call.tenant)
                log.warning("calls.worker_voice", tenant=call.tenant, tenant_voice=wanted is not None)
            return self._models.synthesizer
        return self._voices.get(wanted)  # not loaded: the deployment's voice, logged by `Voices`

    async def _greeting(self, voice: Synthesizer, text: str) -> list[rtc.AudioFrame]:
        """Each tenant's greeting is synthesized once per process and replayed on every call. Voices live as
        long as the process, so their identity keys the cache."""
        frames = self._greetings.get((id(voice), text))
        if frames is None:
            frames = self._greetings[(id(voice), text)] = speech_frames(await voice.synthesize(text))
        return frames

    async def session(
        self, call: CallContext, recorder: CallRecorder | None
    ) -> tuple[CallAgent, AgentSession[None]]:
        """The agent and its (not yet started) session; the transport connects the audio and starts it."""
        brain, vault = call.brain, Vault()
        seed_sender(vault, wa_id=call.user_key or None, profile_name=None)
        voice = self.voice(call)
        greeting = await self._greeting(voice, brain.texts.greeting)
        agent = CallAgent(
            brain,
            self._models.pii,
            vault,
            greeting=greeting,
            consent=call.consent,
            welcome=await _welcome(call),
            recorder=recorder,
        )
        consent, toolbox = call.consent, None
        if call.tools is not None and consent is not None:  # fenced from the call's first consent check on
            toolbox = call.tools(await consent.fence())
        llm_ = AutomationLLM(
            self._responder,
            self._automation,
            model=self._llm_model,
            vault=vault,
            policy=brain.restore_policy,
            public=brain.public_values,
            toolbox=toolbox,
            max_steps=brain.max_steps,
            on_tool_calls=agent.tools_called,
            on_erased=consent.lost if consent is not None else None,
        )
        session = voice_session(self._models, llm_, voice, silence_timeout_s=self._silence_timeout_s)
        observe_turns(session, self._metrics, call.tenant)
        return agent, session

    async def converse(
        self,
        agent: CallAgent,
        session: AgentSession[None],
        ends: Sequence[tuple[asyncio.Event, CallOutcome]],
        *,
        closed: CallOutcome,
    ) -> CallOutcome:
        """Until the agent ends the call, the caller goes silent, the transport signals an end (`ends`) or the
        session closes (`closed`: what that means on this transport); a farewell where the caller is still
        there to hear it."""
        away, session_closed = asyncio.Event(), asyncio.Event()
        session.on("user_state_changed", lambda ev: away.set() if ev.new_state == "away" else None)
        session.on("close", lambda _: session_closed.set())
        waits = [
            (agent.ended, CallOutcome.AGENT_ENDED),
            (agent.erased, CallOutcome.CALLER_ERASED),
            *ends,
            (away, CallOutcome.CALLER_SILENT),
            (session_closed, closed),
        ]
        tasks = {asyncio.create_task(event.wait()): outcome for event, outcome in waits}
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=self._max_duration_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in tasks:
                task.cancel()
        outcome = tasks[next(iter(done))] if done else CallOutcome.MAX_DURATION
        farewell = {
            CallOutcome.DRAINED: agent.texts.busy,
            CallOutcome.CALLER_SILENT: agent.texts.goodbye,
            CallOutcome.MAX_DURATION: agent.texts.goodbye,
            CallOutcome.CALLER_ERASED: agent.texts.goodbye,
        }.get(outcome)
        if outcome is CallOutcome.CALLER_ERASED:  # nothing more is said for them than the goodbye
            with contextlib.suppress(RuntimeError):
                await session.interrupt(force=True)
        if farewell is not None:
            with contextlib.suppress(RuntimeError):
                await session.say(farewell, allow_interruptions=False).wait_for_playout()
        return outcome

    @staticmethod
    async def log(
        call: CallContext,
        agent: CallAgent,
        session: AgentSession[None],
        recorder: CallRecorder | None,
        outcome: CallOutcome,
        duration_s: float,
    ) -> None:
        """After the caller was hung up: the recording (after a yes) and the transcript (with retention) to T2,
        and the content-free call record to T0, each only if the gate allows it at this moment. A call the AI
        never answered (consent forbade it, and no "start" reopened it) keeps no words at all."""
        if call.consent is None:
            return
        try:
            recorded = False
            mix = recorder.mixed() if recorder is not None else None
            if mix is not None:
                note = await asyncio.to_thread(encode_voice_note, Pcm(mix, RECORD_RATE))
                recorded = await call.consent.recorded(note)
            transcript = CallTranscript.of(session.history) if agent.answered else CallTranscript()
            await call.consent.ended(transcript, outcome.value, duration_s, recorded=recorded)
        except RedisError as exc:  # the call is over either way; what failed is the log write, say so
            log.error("call.not_logged", error=type(exc).__name__)


async def _welcome(call: CallContext) -> Welcome:
    """A caller who stopped us earlier is offered a way back by keyword; an objection, a restriction or a
    pending erasure is not lifted by a keyword, so those callers hear a fixed refusal."""
    if call.consent is None:
        return Welcome.ANSWER
    decision = await call.consent.may_reply()
    if decision:
        return Welcome.ANSWER
    log.info("call.withheld", call=call.call_id, reason=decision.reason)
    return Welcome.WAY_BACK if lifted_by_opt_in(decision) else Welcome.REFUSE
