"""The staff console on a real port (uvicorn in the test's event loop) over the whole product stack
(tests/agent/stack.py: ingress, worker, real redis-server, the Graph and LLM peers on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from argon2 import PasswordHasher

from agent.console import ConsoleParts, console_parts, create_console_app
from agent.metrics import Metrics
from agent.whatsapp import GraphClient, RetryPolicy
from tests.agent.stack import TOKEN, Stack, eventually, now
from tests.agent.whatsapp import webhooks as wh
from tests.pii_guard import pii_guard
from tests.redis_server import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from agent.storage.redis_client import RedisClient

PASSWORD = "correct horse battery staple"
OWNER = "owner@default.example"
AGENT = "agent@default.example"
OTHER = "owner@clinic.example"  # staff of another tenant (prompts/sunrise-clinic)
# Argon2id with small costs: the tests log in dozens of times on 2 shared cores (production: the defaults).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Console:
    url: str
    parts: ConsoleParts
    stack: Stack
    metrics: Metrics

    async def customer_says(self, user: str, text: str, mid: str) -> None:
        body = wh.payload(messages=[wh.text(user, mid, text, ts=now())])
        assert (await self.stack.post(body)).status_code == 200

    @asynccontextmanager
    async def client(self, email: str = OWNER, password: str = PASSWORD) -> AsyncIterator[httpx.AsyncClient]:
        """A logged-in API client (its cookie jar holds the session); `.headers` carries the CSRF token."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await login(client, email, password)
            assert response.headers.get("location") == "/inbox", response.status_code
            client.headers["X-CSRF-Token"] = (await client.get("/api/me")).json()["csrf"]
            yield client


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return await client.post("/login", data={"email": email, "password": password, "csrf": match.group(1)})


@asynccontextmanager
async def running_console(
    stack: Stack, redis: RedisClient, *, clock: Callable[[], float] = time.time, **options: Any
) -> AsyncIterator[Console]:
    """`clock`: the console's (the service window, waiting times); `options` replace `ConsoleParts` fields."""
    async with httpx.AsyncClient(timeout=5) as http:
        graph = GraphClient(
            http,
            stack.graph.base_url,
            media_hosts=("127.0.0.1",),
            allow_insecure_loopback=True,
            retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05),
        )
        metrics = Metrics()
        parts = console_parts(
            redis,
            stack.privacy,
            stack.tenants,
            graph,
            metrics,
            pii_guard(),
            ref_key=b"k" * 32,
            shards=stack.queue.config.shards,
            secure_cookies=False,  # plain http on 127.0.0.1
            hasher=FAST_HASHER,
            clock=clock,
        )
        if options:
            parts = ConsoleParts(**{f: getattr(parts, f) for f in parts.__dataclass_fields__} | options)
        for tenant, email, role in (("default", OWNER, "owner"), ("default", AGENT, "agent"),
                                    ("sunrise-clinic", OTHER, "owner")):  # fmt: skip
            await parts.accounts.add(tenant, email, role, PASSWORD)  # type: ignore[arg-type]
        port = free_port()
        config = uvicorn.Config(
            create_console_app(parts), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await eventually(lambda: server.started, 10)
        try:
            yield Console(f"http://127.0.0.1:{port}", parts, stack, metrics)
        finally:
            server.should_exit = True
            await task


__all__ = ["AGENT", "OTHER", "OWNER", "PASSWORD", "TOKEN", "Console", "login", "running_console"]
