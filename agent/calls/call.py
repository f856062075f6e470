"""One WhatsApp call from `connect` to `terminate`: answer, pre-accept, accept, talk, end.

Signaling order (Cloud API calling): our SDP answer goes out with `pre_accept` so ICE/DTLS can come up while
the phone still rings, then `accept` with the same SDP; our audio starts only after `accept` returned 200.
Whatever happens after the offer was answered — the caller hangs up (`terminate` webhook), goes silent, the
LLM fails, the worker drains, Graph refuses — the call ends with our own `terminate` too.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from agent.calls.assembly import CallAssembly, CallOutcome
from agent.calls.bridge import AgentAudioTrack, CallAudioInput, CallAudioOutput
from agent.calls.recording import CallRecorder
from agent.calls.webrtc import CallPeer, IceServer, SdpError
from agent.whatsapp import GraphError

if TYPE_CHECKING:
    from livekit.agents import AgentSession

    from agent.calls.agent import CallAgent
    from agent.calls.assembly import CallContext
    from agent.calls.loaded import CallModels
    from agent.engines.voices import Voices
    from agent.metrics import Metrics
    from agent.whatsapp import GraphClient
    from pipelines.llm import Responder

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class CallRequest:
    """A `connect` event, as the call worker claimed it: the call's context and its WhatsApp signaling."""

    call: CallContext
    phone_number_id: str
    token: str = field(repr=False)
    sdp: str = field(repr=False)

    @property
    def call_id(self) -> str:
        return self.call.call_id


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
        *,
        voices: Voices | None = None,
    ) -> None:
        """`voices`: the tenants' voices (a call speaks its tenant's voice for the tenant's language)."""
        self._graph = graph
        self._metrics = metrics
        self._config = config
        self._assembly = CallAssembly(
            models,
            responder,
            llm_model,
            metrics,
            silence_timeout_s=config.silence_timeout_s,
            max_duration_s=config.max_duration_s,
            voices=voices,
        )

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
        started: tuple[CallAgent, AgentSession[None]] | None = None
        outcome: CallOutcome | None = CallOutcome.MEDIA_LOST
        began = time.monotonic()
        try:
            outcome = await self._connect(request, signals, peer, answer)
            if outcome is None:
                track.open()
                started = await self._start_session(request, peer, output, recorder)
                ends = (
                    (signals.hung_up, CallOutcome.CALLER_HUNG_UP),
                    (signals.drain, CallOutcome.DRAINED),
                    (peer.closed, CallOutcome.MEDIA_LOST),
                )
                outcome = await self._assembly.converse(*started, ends, closed=CallOutcome.MEDIA_LOST)
        except GraphError as exc:
            log.warning("call.graph_refused", call=request.call_id, code=exc.code, http=exc.http_status)
            outcome = CallOutcome.GRAPH_REFUSED
        finally:
            if started is not None:
                await started[1].aclose()
            await self._terminate(request)
            await peer.close()
        final = outcome or CallOutcome.MEDIA_LOST
        if started is not None:
            agent, session = started
            await self._assembly.log(request.call, agent, session, recorder, final, time.monotonic() - began)
        return self._done(request, final)

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
    ) -> tuple[CallAgent, AgentSession[None]]:
        """The shared assembly, with the call's audio through the aiortc bridge."""
        agent, session = await self._assembly.session(request.call, recorder)
        session.input.audio = CallAudioInput(await peer.remote_audio(), recorder)
        session.output.audio = output
        await session.start(agent, record=False)
        return agent, session

    async def _terminate(self, request: CallRequest) -> None:
        try:
            await self._graph.terminate_call(request.phone_number_id, request.token, request.call_id)
        except GraphError as exc:
            # Already ended on Meta's side (the caller hung up first) is the common case here.
            log.info("call.terminate_refused", call=request.call_id, code=exc.code, http=exc.http_status)

    def _done(self, request: CallRequest, outcome: CallOutcome) -> CallOutcome:
        self._metrics.calls.labels(request.call.tenant, outcome.value).inc()
        log.info("call.ended", call=request.call_id, tenant=request.call.tenant, outcome=outcome.value)
        return outcome
