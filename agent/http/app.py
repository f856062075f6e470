"""`leadclose serve`: two listeners over the same parts. The public one (`LEADCLOSE_HTTP_HOST/PORT`) answers
Meta: the webhook, `/healthz`, `/readyz`. The ops one (`LEADCLOSE_OPS_HOST/PORT`, 127.0.0.1 by default)
serves `/metrics` and the admin API, so neither is reachable where the webhook is (docs/security.md)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from agent.http.admin import AdminTokens, FailedAuthThrottle, admin_router
from agent.http.webhook import webhook_router
from agent.messages.ingress import Durability, DurabilityError, Ingress
from agent.messages.statuses import DeliveryStatuses
from agent.metrics import Metrics
from agent.services import WEBHOOK_REDIS, Services
from agent.settings import RuntimeConfigError
from agent.storage.redis_client import ping_every_primary
from agent.tenants.reload import watch_tenants

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import uvicorn

    from agent.settings import Settings

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Service:
    """The two apps of `serve`. The public app's lifespan runs what both use (tenant reload); the services
    are closed by `serve`, or by that lifespan where the app built them itself."""

    public: FastAPI
    ops: FastAPI


def create_app(settings: Settings, *, metrics: Metrics | None = None) -> FastAPI:
    """The public app alone (the webhook's tests and benchmarks), owning its services."""
    return create_service(settings, metrics=metrics).public


def create_service(
    settings: Settings, *, metrics: Metrics | None = None, services: Services | None = None
) -> Service:
    """Everything is built here, at startup: an invalid tenant or a missing secret stops the process. Without
    `services` the app builds its own (webhook Redis timeouts) and its lifespan closes them."""
    secret, verify_token, master = (
        settings.whatsapp_app_secret,
        settings.whatsapp_verify_token,
        settings.master_key,
    )
    if secret is None or verify_token is None or master is None:
        raise RuntimeConfigError(
            "serve needs LEADCLOSE_WHATSAPP_APP_SECRET, LEADCLOSE_WHATSAPP_VERIFY_TOKEN and LEADCLOSE_MASTER_KEY"
        )
    owned = services is None
    services = services or Services(settings, redis=WEBHOOK_REDIS)
    metrics = metrics or Metrics()
    tenants, redis, privacy = services.tenants, services.redis, services.privacy
    durability = Durability(redis)
    ingress = Ingress(
        tenants,
        privacy.identities,
        services.queue,
        services.call_queue,
        DeliveryStatuses(redis),
        durability,
        metrics,
        consent=privacy.ingress,
        sealer=services.store,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:  # WAITAOF without AOF: a clear start-up error, not a 503 per webhook
            await durability.probe()
        except DurabilityError:
            raise
        except RedisError as exc:  # Redis down: /readyz says so, and the first webhook probes again
            log.warning("durability.probe_failed", error=type(exc).__name__)
        stop = asyncio.Event()  # a new tenant's phone number is routed without a restart
        watcher = asyncio.create_task(watch_tenants(tenants, stop, every_s=settings.prompts_reload_s))
        yield
        stop.set()
        await watcher
        if owned:
            await services.aclose()

    app = FastAPI(title="leadclose-agent", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(
        webhook_router(
            ingress,
            app_secret=secret.get_secret_value().encode(),
            verify_token=verify_token.get_secret_value(),
            metrics=metrics,
        )
    )

    _answer_invalid_requests_plainly(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> Response:
        try:
            await ping_every_primary(redis)
        except RedisError:
            return JSONResponse({"status": "redis unreachable"}, status_code=503)
        return JSONResponse({"status": "ready", "tenants": len(tenants)})

    ops = FastAPI(title="leadclose-agent ops", docs_url=None, redoc_url=None, openapi_url=None)
    operator = settings.admin_token.get_secret_value().encode() if settings.admin_token else None
    throttle = FailedAuthThrottle(redis, services.keyring)
    ops.include_router(admin_router(privacy, tenants, AdminTokens(tenants, operator=operator), throttle))
    _answer_invalid_requests_plainly(ops)

    @ops.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Service(app, ops)


def _answer_invalid_requests_plainly(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, __: RequestValidationError) -> Response:
        # FastAPI's default 422 echoes the input (a phone number, say): answer with a fixed text instead.
        return JSONResponse({"error": "invalid request"}, status_code=400)


def _quiet_server(app: FastAPI, host: str, port: int, *, lifespan: Literal["auto", "off"]) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, lifespan=lifespan, log_level="warning", access_log=False
    )
    return uvicorn.Server(config)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Both listeners in one process; when one stops (a signal, `stop`, a failure) the other stops too."""
    async with Services.open(settings, redis=WEBHOOK_REDIS) as services:
        await _serve_both(create_service(settings, services=services), settings, stop)


async def _serve_both(service: Service, settings: Settings, stop: asyncio.Event | None) -> None:
    public = _quiet_server(service.public, settings.http_host, settings.http_port, lifespan="auto")
    ops = _quiet_server(service.ops, settings.ops_host, settings.ops_port, lifespan="off")

    async def run(server: uvicorn.Server, other: uvicorn.Server) -> None:
        try:
            await server.serve()
        finally:
            other.should_exit = True

    async def stop_both() -> None:
        if stop is not None:
            await stop.wait()
            public.should_exit = ops.should_exit = True

    stopper = asyncio.create_task(stop_both())
    try:
        await asyncio.gather(run(public, ops), run(ops, public))
    finally:
        stopper.cancel()
