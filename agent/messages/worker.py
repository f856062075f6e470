"""`leadclose worker`: claims conversations from Redis and runs their turns, `concurrency` at a time.

Models load once per process (before the first claim). A turn holds a lease that a heartbeat extends; if
the process dies, the lease expires and any worker reclaims the conversation. SIGTERM stops claiming and
drains in-flight turns for up to `drain_s`, then exits; what is left is reclaimed elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from typing import TYPE_CHECKING

import structlog
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from agent.engines.runtime import open_runtime
from agent.engines.voices import Voices, tenant_voices
from agent.logs import configure_logging
from agent.messages.handler import TurnHandler
from agent.metrics import Metrics
from agent.services import Services
from agent.settings import RuntimeConfigError
from agent.storage.erasure import StaleLeaseError
from agent.storage.staff_thread import StaffThread
from agent.tenants.registry import TenantError
from agent.tenants.reload import watch_tenants
from agent.whatsapp import GraphError

if TYPE_CHECKING:
    from agent.engines.runtime import Runtime
    from agent.engines.speech import SpeechEngines
    from agent.messages.queue import Claim, ConversationQueue
    from agent.settings import Settings
    from agent.tenants.registry import Tenant
    from agent.whatsapp import GraphClient
    from pipelines.turn import TurnRunner

log = structlog.get_logger()


class Worker:
    def __init__(
        self,
        queue: ConversationQueue,
        handler: TurnHandler,
        metrics: Metrics,
        *,
        worker_id: str | None = None,
        concurrency: int = 2,
        min_poll_s: float = 0.02,
        max_poll_s: float = 0.5,
        drain_s: float = 30.0,
    ) -> None:
        self._queue = queue
        self._handler = handler
        self._metrics = metrics
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._concurrency = concurrency
        self._min_poll_s = min_poll_s
        self._max_poll_s = max_poll_s
        self._drain_s = drain_s
        self._lease_s = queue.config.lease_ms / 1000

    async def run(self, stop: asyncio.Event) -> None:
        slots = asyncio.Semaphore(self._concurrency)
        tasks: set[asyncio.Task[None]] = set()
        housekeeping = asyncio.create_task(self._housekeeping(stop))
        idle = self._min_poll_s
        log.info("worker.started", worker=self.worker_id, concurrency=self._concurrency)
        while not stop.is_set():
            await slots.acquire()
            claim = await self._claim() if not stop.is_set() else None
            if claim is None:
                slots.release()
                await _wait(stop, idle)
                idle = min(idle * 2, self._max_poll_s)
                continue
            idle = self._min_poll_s
            task = asyncio.create_task(self._run(claim))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            task.add_done_callback(lambda _: slots.release())
        log.info("worker.draining", worker=self.worker_id, in_flight=len(tasks))
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self._drain_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        housekeeping.cancel()
        await asyncio.gather(housekeeping, return_exceptions=True)
        log.info("worker.stopped", worker=self.worker_id)

    async def _claim(self) -> Claim | None:
        try:
            return await self._queue.claim(self.worker_id)
        except RedisError as exc:
            log.warning("worker.claim_failed", error=type(exc).__name__)
            return None

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """Reclaim expired leases (any worker may) and publish the backlog."""
        while not stop.is_set():
            try:
                reclaimed = await self._queue.reclaim_expired()
                if reclaimed:
                    log.info("worker.reclaimed", conversations=reclaimed)
                backlog = await self._queue.backlog()
                self._metrics.backlog.set(backlog.pending_messages)
                self._metrics.conversations.labels("ready").set(backlog.ready)
                self._metrics.conversations.labels("in_flight").set(backlog.in_flight)
            except RedisError as exc:
                log.warning("worker.housekeeping_failed", error=type(exc).__name__)
            await _wait(stop, self._lease_s / 3)

    async def _run(self, claim: Claim) -> None:
        self._metrics.in_flight.inc()
        work = asyncio.create_task(self._handle(claim))
        heartbeat = asyncio.create_task(self._heartbeat(claim, work))
        try:
            await work
        except asyncio.CancelledError:
            log.info("turn.cancelled", conv=claim.conv)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            self._metrics.in_flight.dec()

    async def _heartbeat(self, claim: Claim, work: asyncio.Task[None]) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._queue.extend(claim)
            except StaleLeaseError:
                log.warning("turn.lease_lost", conv=claim.conv)
                work.cancel()
                return
            except RedisError as exc:
                log.warning("turn.heartbeat_failed", error=type(exc).__name__)

    async def _handle(self, claim: Claim) -> None:
        tenant = claim.conv.split(":", 1)[0]
        started = time.perf_counter()
        try:
            verdict = await self._handler.handle(claim)
            self._metrics.turns.labels(tenant, verdict.value).inc()
            self._metrics.turn_seconds.labels(tenant).observe(time.perf_counter() - started)
            log.info(
                "turn.done",
                conv=claim.conv,
                verdict=verdict.value,
                messages=len(claim.jobs),
                attempt=claim.attempts,
            )
        except StaleLeaseError:
            log.warning("turn.lease_lost", conv=claim.conv)
        except GraphError as exc:
            reason = f"graph_{exc.code or exc.http_status}"
            if exc.retryable:
                await self._release_for_retry(claim, reason)
            else:
                await self._give_up(claim, reason)
        except TenantError:
            await self._give_up(claim, "tenant_misconfigured")
        except RedisError as exc:
            # The lease runs out and another attempt follows; nothing else can be recorded now.
            log.warning("turn.redis_failed", conv=claim.conv, error=type(exc).__name__)
        except Exception as exc:  # a bug or an unforeseen failure: retried, then dead-lettered
            log.exception("turn.failed", conv=claim.conv, error=type(exc).__name__)
            await self._release_for_retry(claim, type(exc).__name__)

    async def _release_for_retry(self, claim: Claim, reason: str) -> None:
        if claim.attempts > self._queue.config.max_attempts + 1:  # the handler never got to its own limit
            await self._give_up(claim, reason)
            return
        with contextlib.suppress(StaleLeaseError, RedisError):
            delay = await self._queue.retry(claim)
            self._metrics.retries.labels(reason).inc()
            log.info(
                "turn.retry", conv=claim.conv, reason=reason, attempt=claim.attempts, delay_s=round(delay, 2)
            )

    async def _give_up(self, claim: Claim, reason: str) -> None:
        with contextlib.suppress(StaleLeaseError, RedisError):
            await self._queue.dead_letter(claim, reason)
            self._metrics.dead_letters.labels(reason).inc()
            log.warning("turn.dead_lettered", conv=claim.conv, reason=reason)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Sleep up to `seconds`, waking early when `event` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def run_worker(settings: Settings, *, concurrency: int, stop: asyncio.Event | None = None) -> None:
    """Build a worker process from settings: models first, then claim until stopped."""
    if settings.master_key is None:
        raise RuntimeConfigError("worker needs LEADCLOSE_MASTER_KEY (it encrypts conversation state)")
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    configure_logging(redact_budget_s=settings.log_redact_budget_s)
    metrics = Metrics()
    if settings.worker_metrics_port is not None:
        start_http_server(settings.worker_metrics_port, addr=settings.metrics_host, registry=metrics.registry)
    async with Services.open(settings) as services:
        _ = services.privacy  # tenants, keys, stores first: a bad one stops the process before models load
        async with open_runtime(settings, http=services.http) as runtime:
            await _work(services, runtime, metrics, stop, concurrency=concurrency)


async def _work(
    services: Services, runtime: Runtime, metrics: Metrics, stop: asyncio.Event, *, concurrency: int
) -> None:
    """The voices and speech engines every tenant names, loaded before the first claim; then claim."""
    settings, tenants, queue = services.settings, services.tenants, services.queue
    voices = await asyncio.to_thread(
        tenant_voices, settings, runtime.synthesizer, tenants, hosted=runtime.hosted
    )
    speech = runtime.speech
    for tenant_id in tenants.ids():
        await asyncio.to_thread(speech.for_tenant, tenants.get(tenant_id).config)
    handler = turn_handler(services, services.graph(), runtime.runner, metrics, voices=voices, speech=speech)
    sweeper = asyncio.create_task(services.privacy.retention.run(stop))
    watcher = asyncio.create_task(
        watch_tenants(
            tenants,
            stop,
            every_s=settings.prompts_reload_s,
            on_applied=lambda tenant_id: _preload(tenants.get(tenant_id).config, voices, speech),
        )
    )
    try:
        await Worker(queue, handler, metrics, concurrency=concurrency).run(stop)
    finally:
        stop.set()  # also when the worker failed: the background loops end with it
        await sweeper
        await watcher


def turn_handler(
    services: Services,
    graph: GraphClient,
    runner: TurnRunner,
    metrics: Metrics,
    *,
    voices: Voices,
    speech: SpeechEngines | None,
) -> TurnHandler:
    """The worker's turn handler over the process's services (the worker and the test stack alike)."""
    return TurnHandler(
        services.queue,
        services.store,
        graph,
        runner,
        services.tenants,
        metrics,
        consent=services.privacy.gate,
        tools=services.tools,
        voices=voices,
        speech=speech,
        staff=StaffThread(services.redis, services.store, shards=services.queue_config.shards),
    )


def _preload(tenant: Tenant, voices: Voices, speech: SpeechEngines) -> None:
    """A reloaded tenant's voices and speech engines, loaded before its next turn (blocking: in a thread)."""
    voices.ensure(tenant.voice)
    speech.for_tenant(tenant)
