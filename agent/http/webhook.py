"""The webhook Meta calls: verify the signature on the raw bytes, then hand the body to the ingress.

Meta retries anything that is not a 2xx, so the answer is 200 only once every accepted event is durable,
4xx for input that a retry cannot fix, and 503 only when the write really failed (a retry is then safe:
enqueueing is deduplicated by message id).
"""

from __future__ import annotations

import dataclasses
import hmac
from typing import TYPE_CHECKING

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from redis.exceptions import RedisError

from agent.whatsapp.payloads import PayloadError
from agent.whatsapp.signature import verify_signature

if TYPE_CHECKING:
    from agent.messages.ingress import Ingress
    from agent.metrics import Metrics

log = structlog.get_logger()

MAX_BODY_BYTES = 3 * 1024 * 1024  # Meta's documented maximum webhook payload
PATH = "/webhooks/whatsapp"


def webhook_router(ingress: Ingress, *, app_secret: bytes, verify_token: str, metrics: Metrics) -> APIRouter:
    """GET: Meta's subscription handshake. POST: signed events. Raw `Request` everywhere, so FastAPI never
    validates (and echoes) input on our behalf."""
    router = APIRouter()

    @router.get(PATH)
    async def verify(request: Request) -> Response:
        q = request.query_params
        # Bytes, not str: `compare_digest` raises on a non-ASCII str, and that was a 500.
        token = q.get("hub.verify_token", "").encode("utf-8", "replace")
        expected = verify_token.encode("utf-8", "replace")
        if q.get("hub.mode") == "subscribe" and expected and hmac.compare_digest(token, expected):
            return PlainTextResponse(q.get("hub.challenge", ""))
        return PlainTextResponse("forbidden", status_code=403)

    @router.post(PATH)
    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return _refuse(metrics, 413, "body too large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _refuse(metrics, 413, "body too large")
        signature = request.headers.get("x-hub-signature-256")
        if signature is None:
            return _refuse(metrics, 401, "missing X-Hub-Signature-256")
        if not verify_signature(app_secret, bytes(body), signature):
            return _refuse(metrics, 403, "invalid signature")
        try:
            accepted = await ingress.accept(bytes(body))
        except PayloadError as exc:
            log.info("webhook.rejected", reason=exc.reason, location=exc.location, code=exc.code)
            return _refuse(metrics, 400, str(exc))
        except RedisError as exc:
            log.error("webhook.not_durable", error=type(exc).__name__)
            return _refuse(metrics, 503, "temporarily unavailable, retry")
        metrics.webhooks.labels("accepted").inc()
        return JSONResponse(dataclasses.asdict(accepted))

    return router


def _refuse(metrics: Metrics, status: int, message: str) -> Response:
    metrics.webhooks.labels(str(status)).inc()
    return JSONResponse({"error": message}, status_code=status)
