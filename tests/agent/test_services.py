"""The composition root (agent/services.py) on the real redis-server, with the local Graph, LLM and tenant
peers on 127.0.0.1: one HTTP client carries Graph and LLM requests (each with its own deadline), tenants'
endpoints never go through it, and closing the services leaves no connection or client open."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from agent.services import Overrides, Services, ServicesClosedError
from tests.agent.stack import TOKEN, echo_reply, eventually, settings
from tests.agent.tenant_peer import serve_tenant_peer
from tests.agent.whatsapp import webhooks as wh
from tests.agent.whatsapp.graph_peer import serve_graph_peer
from tests.llm_peer import serve_chat_peer

if TYPE_CHECKING:
    from agent.storage.redis_client import RedisClient
    from tests.redis_server import RedisServer

NAME = "leadclose-services-test"  # the services' Redis connections carry it, so only theirs are counted


async def _connections(redis: RedisClient) -> int:
    return sum(1 for c in await redis.client_list() if c.get("name") == NAME)


async def test_opening_and_closing_leaves_no_connection_and_one_http_client_is_shared(
    redis: RedisClient, redis_server: RedisServer
) -> None:
    url = f"{redis_server.url}?client_name={NAME}"
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    with serve_graph_peer(TOKEN) as graph_peer, serve_chat_peer(echo_reply) as llm_peer:
        with serve_tenant_peer(b"crm-secret") as crm:
            configured = settings(
                url,
                key_store_url=url,
                graph_api_url=graph_peer.base_url,
                graph_allow_insecure_loopback=True,
                graph_timeout_s=7.0,
                llm_timeout_s=11.0,
            )
            async with Services.open(configured) as services:
                services.http.event_hooks = {"request": [record]}
                llm = services.llm(llm_peer.base_url)
                answer = await llm.chat.completions.create(
                    model="test-model", messages=[{"role": "user", "content": "hello"}]
                )
                assert answer.choices[0].message.content == "You said: hello"
                await services.graph().send_text(wh.PHONE_NUMBER_ID, TOKEN, "919876543210", "hi")
                await services.caller.call(
                    "POST",
                    f"{crm.base_url}/leads",
                    b"crm-secret",
                    {"event": "probe"},
                    timeout_s=2.0,
                    max_bytes=1024,
                    idempotency_key="probe-1",
                )
                subject = await services.privacy.enrol("default", "919876543210")  # Redis, keys, stores
                assert await services.privacy.consent.events_of(subject) == []
                key_store = services.key_store
                assert key_store is not None
                assert await key_store.ping()
                assert await _connections(redis) >= 2  # the data's and the keys' clients did connect
                http, caller = services.http, services.caller
        assert len(crm.received) == 1  # the tool call arrived, through the egress-checked client …
    # … and only Graph and the LLM went through the shared one, each with its own deadline.
    by_host = {r.url.port: r for r in seen}
    assert set(by_host) == {httpx.URL(graph_peer.base_url).port, httpx.URL(llm_peer.base_url).port}
    assert by_host[httpx.URL(graph_peer.base_url).port].extensions["timeout"]["read"] == 7.0
    assert by_host[httpx.URL(llm_peer.base_url).port].extensions["timeout"]["read"] == 11.0
    assert http.is_closed
    assert caller.is_closed
    assert llm.is_closed()

    async def all_gone() -> bool:
        return await _connections(redis) == 0

    await eventually(all_gone, within_s=5.0)  # the server sees each close as the socket goes


async def test_what_a_test_hands_in_stays_open_and_a_closed_services_builds_nothing(
    redis: RedisClient, redis_server: RedisServer
) -> None:
    async with httpx.AsyncClient() as own_http:
        async with Services.open(
            settings(redis_server.url), overrides=Overrides(redis=redis, http=own_http)
        ) as services:
            assert services.redis is redis
            assert services.http is own_http
            assert services.queue.config.shards == services.shards
            await services.privacy.enrol("default", "919876543210")
        assert await redis.ping()  # handed in: the test's to close
        assert not own_http.is_closed
        with pytest.raises(ServicesClosedError):
            _ = services.caller  # built now, it would never be closed
