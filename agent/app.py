"""`leadclose serve`: the HTTP app (webhook, health, readiness, metrics), assembled from its parts."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from agent.admin import AdminTokens, admin_router
from agent.metrics import Metrics
from agent.privacy import Privacy, recipients
from agent.queue import CallQueue, ConversationQueue, QueueConfig
from agent.reload import watch_tenants
from agent.runtime import RuntimeConfigError, redis_client
from agent.store import ConversationStore, DeliveryStatuses, Keyring
from agent.tenants import TenantRegistry
from agent.whatsapp.webhook import Durability, Ingress, webhook_router

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from agent.settings import Settings


def create_app(settings: Settings, *, metrics: Metrics | None = None) -> FastAPI:
    """Everything is built here, at startup: an invalid tenant or a missing secret stops the process."""
    secret, verify_token, master = (
        settings.whatsapp_app_secret,
        settings.whatsapp_verify_token,
        settings.master_key,
    )
    if secret is None or verify_token is None or master is None:
        raise RuntimeConfigError(
            "serve needs LEADCLOSE_WHATSAPP_APP_SECRET, LEADCLOSE_WHATSAPP_VERIFY_TOKEN and LEADCLOSE_MASTER_KEY"
        )
    metrics = metrics or Metrics()
    tenants = TenantRegistry.load(settings.prompts_dir)
    # Few retries: a webhook that cannot be made durable quickly is answered 503 and Meta retries it.
    redis = redis_client(settings.redis_url, socket_timeout_s=2.0, retries=3)
    key_store = redis_client(settings.key_store_url, socket_timeout_s=2.0) if settings.key_store_url else None
    keyring = Keyring.from_settings(settings)
    shards = QueueConfig().shards
    store = ConversationStore(redis, keyring, shards=shards, key_store=key_store)
    privacy = Privacy.build(redis, store, keyring, tenants, shards=shards, recipients=recipients(settings))
    ingress = Ingress(
        tenants,
        privacy.subjects,
        ConversationQueue(redis),
        CallQueue(redis, store),
        DeliveryStatuses(redis),
        Durability(redis),
        metrics,
        consent=privacy.ingress,
        sealer=store,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()  # a new tenant's phone number is routed without a restart
        watcher = asyncio.create_task(watch_tenants(tenants, stop, every_s=settings.prompts_reload_s))
        yield
        stop.set()
        await watcher
        await redis.aclose()
        if key_store is not None:
            await key_store.aclose()

    app = FastAPI(title="leadclose-agent", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(
        webhook_router(
            ingress,
            app_secret=secret.get_secret_value().encode(),
            verify_token=verify_token.get_secret_value(),
            metrics=metrics,
        )
    )

    operator = settings.admin_token.get_secret_value().encode() if settings.admin_token else None
    app.include_router(admin_router(privacy, tenants, AdminTokens(tenants, operator=operator)))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, __: RequestValidationError) -> Response:
        # FastAPI's default 422 echoes the input (a phone number, say): answer with a fixed text instead.
        return JSONResponse({"error": "invalid request"}, status_code=400)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> Response:
        try:
            await redis.ping()
        except RedisError:
            return JSONResponse({"status": "redis unreachable"}, status_code=503)
        return JSONResponse({"status": "ready", "tenants": len(tenants)})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
