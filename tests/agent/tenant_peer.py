"""A business's own HTTP endpoint on 127.0.0.1, standing in for a tenant's CRM/booking system (which cannot
exist here). It checks what a real receiver must check: the `X-Leadclose-Timestamp` header is recent and
`X-Leadclose-Signature` is `sha256=` HMAC-SHA256 of `"<timestamp>." + body` (POST) or `+ query` (GET) under
the tenant's secret (compared in constant time). Signed requests are recorded and answered from a table
by path (status, body); unsigned or wrongly signed ones get 401 and are recorded apart."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from tests.local_server import serve_in_thread

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.requests import Request

MAX_SKEW_S = 300


@dataclass
class Received:
    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class TenantPeer:
    secret: bytes
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # path → (status, body)
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    base_url: str = ""

    def events(self, event: str) -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.body.get("event") == event]

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        signed = raw if request.method == "POST" else request.url.query.encode()
        timestamp = request.headers.get("x-leadclose-timestamp", "")
        given = request.headers.get("x-leadclose-signature", "")
        expected = (
            "sha256=" + hmac.new(self.secret, f"{timestamp}.".encode() + signed, hashlib.sha256).hexdigest()
        )
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= MAX_SKEW_S
        if not fresh or not hmac.compare_digest(given, expected):
            self.rejected.append(request.url.path)
            return Response(b'{"error":"bad signature"}', status_code=401, media_type="application/json")
        body = json.loads(raw) if raw else dict(request.query_params)
        self.received.append(Received(request.method, request.url.path, body, dict(request.headers)))
        status, answer = self.answers.get(request.url.path, (200, b'{"ok":true}'))
        return Response(answer, status_code=status, media_type="application/json")


@contextmanager
def serve_tenant_peer(secret: bytes) -> Iterator[TenantPeer]:
    peer = TenantPeer(secret)
    app = Starlette(routes=[Route("/{path:path}", peer._handle, methods=["GET", "POST"])])
    with serve_in_thread(app) as port:
        peer.base_url = f"http://127.0.0.1:{port}"
        yield peer
