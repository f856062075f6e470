"""`leadclose calls`: the call worker process. Claims `connect` events at once, up to `capacity` calls.

Every call worker reads the whole call stream (calls are few and time-critical; a consumer group would hand a
`terminate` to a process that does not own the call). A `connect` is claimed with `SET NX` on the call id, so
exactly one process answers it. A process at capacity leaves the call to others for `overflow_grace_s`; if
nobody has claimed it by then, it claims it to *reject* it, so a call is never left ringing. Events older
than `ring_timeout_s` are skipped (WhatsApp has stopped ringing). SIGTERM stops claiming and ends each call
with a message (see `CallHandler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from agent.calls.assembly import CallOutcome, ConversationState, call_context
from agent.calls.call import CallConfig, CallHandler, CallRequest, CallSignals
from agent.calls.loaded import CallModels
from agent.calls.webrtc import IceServer
from agent.engines.local_llm import local_llm_server
from agent.engines.runtime import speech_client
from agent.engines.voices import tenant_voices
from agent.logs import configure_logging
from agent.messages.queue import CallQueue
from agent.messages.worker import install_stop_signals
from agent.metrics import Metrics
from agent.services import Services, conversation_state
from agent.settings import RuntimeConfigError
from agent.storage.keys import call_owner
from agent.tenants.registry import TenantError, TenantRegistry
from pipelines.llm import Responder

if TYPE_CHECKING:
    from agent.messages.queue import QueuedCall
    from agent.settings import Settings
    from agent.storage.redis_client import RedisClient

log = structlog.get_logger()

_OWNER_TTL_S = 6 * 3600
# A call is answered in real time: a Graph request that takes longer than this has failed the caller anyway.
CALL_GRAPH_TIMEOUT_S = 10.0
_REMEMBER_ENDED = 1024  # `terminate` seen before its `connect` (delivery order is not guaranteed)


class CallWorker:
    def __init__(
        self,
        redis: RedisClient,
        handler: CallHandler,
        tenants: TenantRegistry,
        metrics: Metrics,
        *,
        events: CallQueue,
        worker_id: str | None = None,
        capacity: int = 2,
        overflow_grace_s: float = 1.0,
        ring_timeout_s: float = 30.0,
        block_ms: int = 500,
        drain_s: float = 20.0,
        state: ConversationState | None = None,
    ) -> None:
        self._redis = redis
        self._events = events  # opens the sealed entries of the call stream
        self._handler = handler
        self._tenants = tenants
        self._metrics = metrics
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._capacity = capacity
        self._overflow_grace_s = overflow_grace_s
        self._ring_timeout_s = ring_timeout_s
        self._block_ms = block_ms
        self._drain_s = drain_s
        self._state = state
        self._calls: dict[str, CallSignals] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        cursor = CallQueue.cursor_at(time.time() - self._ring_timeout_s)
        log.info("calls.started", worker=self.worker_id, capacity=self._capacity)
        while not stop.is_set():
            try:
                entries = await self._events.read_after(cursor, block_ms=self._block_ms)
            except RedisError as exc:
                log.warning("calls.read_failed", error=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            for entry in entries:
                cursor = entry.entry_id
                if stop.is_set():
                    continue
                if entry.event is None:  # the caller was erased meanwhile, or a format this process lacks
                    log.info("call.event_unreadable", call=entry.call_id, reason=entry.unreadable)
                    continue
                await self._dispatch(entry.event)
        await self._drain()

    async def _dispatch(self, event: QueuedCall) -> None:
        call_id, kind = event.call_id, event.event
        if kind == "terminate":
            signals = self._calls.get(call_id)
            if signals is not None:
                signals.hung_up.set()
            else:
                self._ended[call_id] = None
                while len(self._ended) > _REMEMBER_ENDED:
                    self._ended.popitem(last=False)
            return
        if kind != "connect":
            return
        if call_id in self._ended:  # the caller hung up before we got to the offer: nothing to answer
            await self._skip(event, CallOutcome.ENDED_BEFORE_ACCEPT)
            return
        if time.time() - event.timestamp > self._ring_timeout_s:
            await self._skip(event, CallOutcome.STALE)
            return
        if len(self._calls) < self._capacity:
            if await self._claim(call_id, self.worker_id):
                self._spawn(self._answer(event))
        else:
            self._spawn(self._overflow(event))

    async def _skip(self, event: QueuedCall, outcome: CallOutcome) -> None:
        """Every worker sees the event; the one that claims it records the outcome."""
        if await self._claim(event.call_id, f"skipped-by:{self.worker_id}"):
            self._metrics.calls.labels(event.tenant, outcome.value).inc()
            log.info("call.skipped", call=event.call_id, outcome=outcome.value)

    async def _claim(self, call_id: str, owner: str) -> bool:
        try:
            return bool(await self._redis.set(call_owner(call_id), owner, nx=True, ex=_OWNER_TTL_S))
        except RedisError as exc:
            log.warning("call.claim_failed", call=call_id, error=type(exc).__name__)
            return False

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _request(self, event: QueuedCall) -> CallRequest | None:
        tenant = event.tenant
        try:
            call = call_context(
                self._tenants, self._state, tenant, event.user_key, event.call_id, event.subject
            )
            token = self._tenants.access_token(tenant)
        except (KeyError, TenantError):
            log.error("call.tenant_misconfigured", tenant=tenant)
            return None
        return CallRequest(call, event.phone_number_id, token, event.sdp or "")

    async def _answer(self, event: QueuedCall) -> None:
        request = self._request(event)
        if request is None:
            return
        signals = CallSignals()
        self._calls[request.call_id] = signals
        self._metrics.calls_active.inc()
        try:
            await self._handler.run(request, signals)
        except Exception as exc:  # a bug must not take the other calls of this process down
            log.exception("call.failed", call=request.call_id, error=type(exc).__name__)
        finally:
            del self._calls[request.call_id]
            self._metrics.calls_active.dec()

    async def _overflow(self, event: QueuedCall) -> None:
        await asyncio.sleep(self._overflow_grace_s)
        request = self._request(event)
        if request is not None and await self._claim(request.call_id, f"rejected-by:{self.worker_id}"):
            await self._handler.reject(request, CallOutcome.OVER_CAPACITY)

    async def _drain(self) -> None:
        log.info("calls.draining", worker=self.worker_id, in_flight=len(self._calls))
        for signals in self._calls.values():
            signals.drain.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self._drain_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        log.info("calls.stopped", worker=self.worker_id)


def ice_servers(settings: Settings) -> tuple[IceServer, ...]:
    secret = settings.calls_turn_credential.get_secret_value() if settings.calls_turn_credential else None
    return tuple(
        IceServer(url, settings.calls_turn_username, secret) if url.startswith("turn") else IceServer(url)
        for url in settings.calls_ice_servers
    )


async def run_call_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Build a call worker process from settings: models first (prewarm), then answer calls until stopped."""
    if settings.master_key is None:
        raise RuntimeConfigError(
            "calls needs LEADCLOSE_MASTER_KEY (call events are sealed with the caller's key)"
        )
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    configure_logging(redact_budget_s=settings.log_redact_budget_s)
    metrics = Metrics()
    if settings.calls_metrics_port is not None:
        start_http_server(settings.calls_metrics_port, addr=settings.metrics_host, registry=metrics.registry)
    async with contextlib.AsyncExitStack() as stack:
        services = await stack.enter_async_context(Services.open(settings))
        # Tenants, keys and stores first: a bad one stops the process before any model loads.
        state = conversation_state(services)
        # A LiveKit plugin registers itself when imported, and refuses to off the main thread: import Silero
        # here, then load the models off the event loop.
        import livekit.plugins.silero  # noqa: F401

        models = await asyncio.to_thread(CallModels.load, settings)
        stack.callback(models.close, wait=False)
        config = CallConfig(
            ice_servers=ice_servers(settings),
            silence_timeout_s=settings.calls_silence_timeout_s,
            max_duration_s=settings.calls_max_duration_s,
        )
        if settings.llm_base_url is None:
            local = await asyncio.to_thread(
                stack.enter_context, local_llm_server(threads=settings.llm_threads)
            )
            base_url, model = local.base_url, local.model
        else:
            base_url, model = str(settings.llm_base_url), settings.llm_model
        llm = services.llm(base_url)
        responder = Responder(
            llm, model, timeout_s=settings.llm_timeout_s, max_tokens=settings.llm_max_tokens
        )
        hosted = speech_client(settings, http=services.http) if settings.speech_base_url else None
        voices = await asyncio.to_thread(
            tenant_voices,
            settings,
            models.synthesizer,
            services.tenants,
            hosted=hosted or (llm if settings.llm_base_url else None),
        )
        graph = services.graph(timeout_s=CALL_GRAPH_TIMEOUT_S)
        handler = CallHandler(graph, models, responder, model, metrics, config, voices=voices)
        worker = CallWorker(
            services.redis,
            handler,
            services.tenants,
            metrics,
            events=services.call_queue,
            capacity=settings.calls_capacity,
            state=state,
        )
        await worker.run(stop)
