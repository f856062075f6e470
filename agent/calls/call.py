"""One WhatsApp call from `connect` to `terminate`: answer, pre-accept, accept, talk, end.

Signaling order (Cloud API calling): our SDP answer goes out with `pre_accept` so ICE/DTLS can come up while
the phone still rings, then `accept` with the same SDP; our audio starts only after `accept` returned 200.
Whatever happens after the offer was answered — the caller hangs up (`terminate` webhook), goes silent, the
LLM fails, the worker drains, Graph refuses — the call ends with our own `terminate` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from agent.calls.agent import CallAgent, CallBrain, speech_frames
from agent.calls.bridge import AgentAudioTrack, CallAudioInput, CallAudioOutput
from agent.calls.consent import CallTranscript
from agent.calls.llm import AutomationLLM
from agent.calls.recording import RECORD_RATE, CallRecorder
from agent.calls.session import observe_turns, voice_session
from agent.calls.webrtc import CallPeer, IceServer, SdpError
from agent.whatsapp import GraphError
from pipelines.audio import Pcm, encode_voice_note
from pipelines.automation import Automation
from pipelines.pii import Minimizer, Vault, seed_sender

if TYPE_CHECKING:
    from livekit import rtc
    from livekit.agents import AgentSession

    from agent.calls.consent import CallConsent
    from agent.calls.models import CallModels
    from agent.metrics import Metrics
    from agent.whatsapp import GraphClient
    from pipelines.automation import ToolBox
    from pipelines.respond import Responder

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


@dataclass(frozen=True, slots=True)
class CallRequest:
    """A `connect` event, as the call worker claimed it."""

    tenant: str
    phone_number_id: str
    call_id: str
    token: str = field(repr=False)
    sdp: str = field(repr=False)
    brain: CallBrain
    user_key: str = field(default="", repr=False)  # the caller's WhatsApp id: masked wherever it is said
    toolbox: ToolBox | None = None  # the tenant's tools, bound to this caller by the server
    consent: CallConsent | None = None  # the consent ledger of this caller (keywords, the disclosure)


@dataclass(frozen=True, slots=True)
class CallConfig:
    ice_servers: tuple[IceServer, ...] = ()
    connect_timeout_s: float = 10.0  # ICE + DTLS after pre_accept; WhatsApp stops ringing after ~30 s
    silence_timeout_s: float = 15.0  # the caller said nothing for this long: say goodbye and end
    max_duration_s: float = 600.0


@dataclass(slots=True)
class CallSignals:
    """Set from outside the call: the caller's `terminate` webhook, and the worker's drain."""

    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    drain: asyncio.Event = field(default_factory=asyncio.Event)


class CallHandler:
    """Runs calls; one instance per process, shared by all its calls (models and clients are shared)."""

    def __init__(
        self,
        graph: GraphClient,
        models: CallModels,
        responder: Responder,
        llm_model: str,
        metrics: Metrics,
        config: CallConfig = CallConfig(),
    ) -> None:
        self._graph = graph
        self._models = models
        self._responder = responder
        self._llm_model = llm_model
        self._metrics = metrics
        self._config = config
        self._minimizer = Minimizer()
        self._automation = Automation(responder, self._minimizer)
        self._greetings: dict[str, list[rtc.AudioFrame]] = {}  # per greeting text: one per tenant

    async def _greeting(self, text: str) -> list[rtc.AudioFrame]:
        """Each tenant's greeting is synthesized once per process and replayed on every call."""
        frames = self._greetings.get(text)
        if frames is None:
            frames = self._greetings[text] = speech_frames(await self._models.synthesizer.synthesize(text))
        return frames

    async def reject(self, request: CallRequest, outcome: CallOutcome) -> CallOutcome:
        try:
            await self._graph.reject_call(request.phone_number_id, request.token, request.call_id)
        except GraphError as exc:
            log.warning("call.reject_failed", call=request.call_id, code=exc.code, http=exc.http_status)
        return self._done(request, outcome)

    async def run(self, request: CallRequest, signals: CallSignals) -> CallOutcome:
        peer = CallPeer(self._config.ice_servers)
        output = CallAudioOutput()
        recorder = CallRecorder(self._config.max_duration_s)  # keeps nothing unless the caller says yes
        track = AgentAudioTrack(output, recorder)
        try:
            answer = await peer.answer(request.sdp, track)
        except SdpError as exc:
            log.warning("call.bad_sdp", call=request.call_id, problem=str(exc))
            await peer.close()
            return await self.reject(request, CallOutcome.BAD_SDP)
        session: AgentSession[None] | None = None
        outcome: CallOutcome | None = CallOutcome.MEDIA_LOST
        started = time.monotonic()
        try:
            outcome = await self._connect(request, signals, peer, answer)
            if outcome is None:
                track.open()
                session = await self._start_session(request, peer, output, recorder)
                outcome = await self._converse(session, signals, peer)
        except GraphError as exc:
            log.warning("call.graph_refused", call=request.call_id, code=exc.code, http=exc.http_status)
            outcome = CallOutcome.GRAPH_REFUSED
        finally:
            if session is not None:
                await session.aclose()
            await self._terminate(request)
            await peer.close()
        final = outcome or CallOutcome.MEDIA_LOST
        if session is not None and request.consent is not None:
            await self._log_call(request.consent, session, recorder, final, time.monotonic() - started)
        return self._done(request, final)

    @staticmethod
    async def _log_call(
        consent: CallConsent,
        session: AgentSession[None],
        recorder: CallRecorder,
        outcome: CallOutcome,
        duration_s: float,
    ) -> None:
        """After `terminate`: the recording (after a yes) and the transcript (with retention) to T2, and the
        call record to T0, each only if the gate allows it at this moment."""
        try:
            recorded = False
            mix = recorder.mixed()
            if mix is not None:
                note = await asyncio.to_thread(encode_voice_note, Pcm(mix, RECORD_RATE))
                recorded = await consent.recorded(note)
            transcript = CallTranscript.of(session.history)
            await consent.ended(transcript, outcome.value, duration_s, recorded=recorded)
        except RedisError as exc:  # the call is over either way; what failed is the log write, say so
            log.error("call.not_logged", error=type(exc).__name__)

    async def _connect(
        self, request: CallRequest, signals: CallSignals, peer: CallPeer, answer: str
    ) -> CallOutcome | None:
        """pre_accept → media up → accept; an outcome when the call cannot be picked up."""
        if signals.hung_up.is_set():
            return CallOutcome.ENDED_BEFORE_ACCEPT
        pnid, token, call_id = request.phone_number_id, request.token, request.call_id
        await self._graph.pre_accept_call(pnid, token, call_id, answer)
        connected = asyncio.create_task(peer.connected())
        hung_up = asyncio.create_task(signals.hung_up.wait())
        try:
            await asyncio.wait(
                {connected, hung_up},
                timeout=self._config.connect_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            hung_up.cancel()
            connected.cancel()
        if signals.hung_up.is_set():
            return CallOutcome.ENDED_BEFORE_ACCEPT
        if not connected.done() or connected.cancelled() or connected.exception() is not None:
            return CallOutcome.NOT_CONNECTED
        await self._graph.accept_call(pnid, token, call_id, answer)
        return None

    async def _start_session(
        self, request: CallRequest, peer: CallPeer, output: CallAudioOutput, recorder: CallRecorder
    ) -> AgentSession[None]:
        brain, vault = request.brain, Vault()
        seed_sender(vault, wa_id=request.user_key or None, profile_name=None)
        greeting = await self._greeting(brain.texts.greeting)
        answer = await request.consent.may_reply() if request.consent is not None else None
        if answer is not None and not answer:
            log.info("call.withheld", call=request.call_id, reason=answer.reason)
        agent = CallAgent(
            brain,
            self._minimizer,
            vault,
            greeting=greeting,
            consent=request.consent,
            answer=answer is None or answer.allowed,
            recorder=recorder,
        )
        llm_ = AutomationLLM(
            self._responder,
            self._automation,
            model=self._llm_model,
            vault=vault,
            policy=brain.restore_policy,
            public=brain.public_values,
            toolbox=request.toolbox,
            max_steps=brain.max_steps,
            on_tool_calls=agent.tools_called,
        )
        session = voice_session(self._models, llm_, silence_timeout_s=self._config.silence_timeout_s)
        observe_turns(session, self._metrics, request.tenant)
        session.input.audio = CallAudioInput(await peer.remote_audio(), recorder)
        session.output.audio = output
        await session.start(agent, record=False)
        return session

    async def _converse(
        self, session: AgentSession[None], signals: CallSignals, peer: CallPeer
    ) -> CallOutcome:
        away = asyncio.Event()
        closed = asyncio.Event()
        session.on("user_state_changed", lambda ev: away.set() if ev.new_state == "away" else None)
        session.on("close", lambda _: closed.set())
        agent = session.current_agent
        assert isinstance(agent, CallAgent)
        waits = (
            (agent.ended, CallOutcome.AGENT_ENDED),
            (signals.hung_up, CallOutcome.CALLER_HUNG_UP),
            (signals.drain, CallOutcome.DRAINED),
            (away, CallOutcome.CALLER_SILENT),
            (peer.closed, CallOutcome.MEDIA_LOST),
            (closed, CallOutcome.MEDIA_LOST),
        )
        tasks = {asyncio.create_task(event.wait()): outcome for event, outcome in waits}
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=self._config.max_duration_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in tasks:
                task.cancel()
        outcome = tasks[next(iter(done))] if done else CallOutcome.MAX_DURATION
        farewell = {
            CallOutcome.DRAINED: agent.texts.busy,
            CallOutcome.CALLER_SILENT: agent.texts.goodbye,
            CallOutcome.MAX_DURATION: agent.texts.goodbye,
        }.get(outcome)
        if farewell is not None:
            with contextlib.suppress(RuntimeError):
                await session.say(farewell, allow_interruptions=False).wait_for_playout()
        return outcome

    async def _terminate(self, request: CallRequest) -> None:
        try:
            await self._graph.terminate_call(request.phone_number_id, request.token, request.call_id)
        except GraphError as exc:
            # Already ended on Meta's side (the caller hung up first) is the common case here.
            log.info("call.terminate_refused", call=request.call_id, code=exc.code, http=exc.http_status)

    def _done(self, request: CallRequest, outcome: CallOutcome) -> CallOutcome:
        self._metrics.calls.labels(request.tenant, outcome.value).inc()
        log.info("call.ended", call=request.call_id, tenant=request.tenant, outcome=outcome.value)
        return outcome
