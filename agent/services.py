"""The one composition root: every long-lived part a process shares, built from the settings and closed once.

    async with Services.open(settings) as services:
        privacy, graph = services.privacy, services.graph()

`serve`, `worker`, `calls`, the LiveKit room worker, the CLI commands and the test stacks all take their
Redis client, HTTP client, keyring, stores, privacy parts and tools from here, so each is wired once. A part
is built when first asked for (a `consent` command opens no HTTP client, `serve` no tool caller) and closed,
in reverse order of building, when the services close. Tests hand in their own parts through `Overrides`
(the way FastAPI overrides a dependency); what was handed in is the caller's to close.

Two HTTP clients, on purpose:
- `http`: the process's one `httpx.AsyncClient` (explicit timeouts and pool limits) for the Graph API and
  media, the LLM endpoint and hosted speech (`AsyncOpenAI(http_client=…)`). Each user sets its own deadline
  per request (`GraphClient(timeout=…)`, the openai client's `timeout`).
- `caller`: the tools' and tenant webhooks' client over the egress-checked transport (agent/egress.py). The
  SSRF guarantee lives in the transport's connection pool (addresses checked when a socket opens), and
  httpx chooses a transport per client, not per request: sharing one client would either refuse our own
  endpoints on 127.0.0.1 or private networks (the embedded LLM, a Graph peer) or let a tenant's URL reach
  them. So tenant requests keep a client of their own that cannot leave through an unguarded pool.

Models are not built here: they load once per process (`agent.engines.runtime.open_runtime`, `CallModels`)
and are handed this `http` for their clients. Opening the services stays cheap for the CLI and the tests,
which share models loaded once per session.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import httpx
import structlog

from agent.egress import GuardedTransport
from agent.engines.runtime import llm_client
from agent.messages.queue import CallQueue, ConversationQueue, QueueConfig
from agent.privacy.assembly import Privacy, recipients
from agent.settings import RuntimeConfigError
from agent.storage.conversations import ConversationStore
from agent.storage.handoff import HandoffFlags
from agent.storage.keyring import Keyring
from agent.storage.leads import LeadStore
from agent.storage.redis_client import redis_client
from agent.tenants.registry import TenantRegistry
from agent.tools.conversation import EndpointCaller, ToolFactory
from agent.whatsapp import GraphClient, RetryPolicy
from pipelines.audio import MAX_INPUT_BYTES

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    from openai import AsyncOpenAI

    from agent.calls.assembly import ConversationState
    from agent.settings import Settings
    from agent.storage.redis_client import RedisClient

log = structlog.get_logger()

# The shared client's defaults; a user with another deadline passes its own per request.
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
HTTP_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


@dataclass(frozen=True, slots=True)
class RedisOptions:
    """How long one Redis call may take and how often a failed one is tried again."""

    socket_timeout_s: float = 5.0
    retries: int = 8


# Workers ride out a Redis restart or a cluster failover.
WORKER_REDIS = RedisOptions()
# The webhook gives up quickly: a webhook not made durable in time is answered 503 and Meta retries it.
WEBHOOK_REDIS = RedisOptions(socket_timeout_s=2.0, retries=3)


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """Parts handed in instead of built from the settings (tests, benchmarks). The services never close what
    was handed in."""

    redis: RedisClient | None = None
    key_store: RedisClient | None = None
    http: httpx.AsyncClient | None = None
    tenants: TenantRegistry | None = None
    queue: QueueConfig | None = None
    environ: Mapping[str, str] | None = None  # where tools find their signing secrets
    clock: Callable[[], float] = field(default=time.time)


class ServicesClosedError(RuntimeError):
    """A part was asked for after the services closed (it would never be closed)."""


class Services:
    """A process's shared parts, each built on first use and closed by `aclose()` (see the module doc)."""

    def __init__(
        self, settings: Settings, *, redis: RedisOptions = WORKER_REDIS, overrides: Overrides | None = None
    ) -> None:
        self.settings = settings
        self._redis_options = redis
        self._overrides = overrides or Overrides()
        self._closing = contextlib.AsyncExitStack()
        self._closed = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, settings: Settings, *, redis: RedisOptions = WORKER_REDIS, overrides: Overrides | None = None
    ) -> AsyncIterator[Services]:
        services = cls(settings, redis=redis, overrides=overrides)
        try:
            yield services
        finally:
            await services.aclose()

    async def aclose(self) -> None:
        """Closes every part built so far, the last built first."""
        self._closed = True
        await self._closing.aclose()

    def _owned(self, close: Callable[[], Awaitable[object]]) -> None:
        if self._closed:
            raise ServicesClosedError("the services are closed")
        self._closing.push_async_callback(close)

    # --- configuration --------------------------------------------------------------------------------------

    @cached_property
    def tenants(self) -> TenantRegistry:
        """Loaded (and validated) once: an invalid tenant stops the process at start."""
        if self._overrides.tenants is not None:
            return self._overrides.tenants
        return TenantRegistry.load(self.settings.prompts_dir, egress=self.settings.egress_policy())

    @cached_property
    def queue_config(self) -> QueueConfig:
        """One for the process: the shard count (fixed for a deployment) is read here and nowhere else."""
        if self._overrides.queue is not None:
            return self._overrides.queue
        s = self.settings
        return QueueConfig(
            lease_ms=int(s.queue_lease_s * 1000),
            max_attempts=s.queue_max_attempts,
            coalesce_ms=s.queue_coalesce_ms,
        )

    @property
    def shards(self) -> int:
        return self.queue_config.shards

    @cached_property
    def keyring(self) -> Keyring:
        if self.settings.master_key is None:
            raise RuntimeConfigError("LEADCLOSE_MASTER_KEY is not set (it derives subjects and data keys)")
        return Keyring.from_settings(self.settings)

    # --- connections ----------------------------------------------------------------------------------------

    @cached_property
    def redis(self) -> RedisClient:
        """The process's Redis client (one server or a cluster, by the URL's scheme)."""
        if self._overrides.redis is not None:
            return self._overrides.redis
        options = self._redis_options
        client = redis_client(
            self.settings.redis_url, socket_timeout_s=options.socket_timeout_s, retries=options.retries
        )
        self._owned(client.aclose)
        return client

    @cached_property
    def key_store(self) -> RedisClient | None:
        """The data keys' own server (`LEADCLOSE_KEY_STORE_URL`); None: they sit beside the data."""
        if self._overrides.key_store is not None:
            return self._overrides.key_store
        url = self.settings.key_store_url
        if url is None:
            return None
        client = redis_client(url, socket_timeout_s=self._redis_options.socket_timeout_s)
        self._owned(client.aclose)
        return client

    @cached_property
    def http(self) -> httpx.AsyncClient:
        """The one HTTP client for Graph, media, the LLM and hosted speech (never for tenants' endpoints)."""
        if self._overrides.http is not None:
            return self._overrides.http
        client = httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS, follow_redirects=False)
        self._owned(client.aclose)
        return client

    @cached_property
    def caller(self) -> EndpointCaller:
        """Tenants' tools and webhooks, only through the egress-checked transport (see the module doc)."""
        caller = EndpointCaller(GuardedTransport(self.settings.egress_policy()))
        self._owned(caller.aclose)
        return caller

    # --- stores and privacy ---------------------------------------------------------------------------------

    @cached_property
    def store(self) -> ConversationStore:
        return ConversationStore(self.redis, self.keyring, shards=self.shards, key_store=self.key_store)

    @cached_property
    def privacy(self) -> Privacy:
        return Privacy.build(
            self.redis,
            self.store,
            self.keyring,
            self.tenants,
            shards=self.shards,
            recipients=recipients(self.settings),
            clock=self._overrides.clock,
        )

    @cached_property
    def tools(self) -> ToolFactory:
        return ToolFactory(
            redis=self.redis,
            leads=LeadStore(self.redis, self.store, shards=self.shards),
            handoff=HandoffFlags(self.redis, shards=self.shards),
            caller=self.caller,
            environ=self._overrides.environ if self._overrides.environ is not None else os.environ,
            clock=self._overrides.clock,
        )

    @cached_property
    def queue(self) -> ConversationQueue:
        return ConversationQueue(self.redis, self.queue_config)

    @cached_property
    def call_queue(self) -> CallQueue:
        return CallQueue(self.redis, self.store)

    # --- clients over the shared HTTP client ----------------------------------------------------------------

    def graph(self, *, timeout_s: float | None = None, retry: RetryPolicy | None = None) -> GraphClient:
        """The Graph API (`LEADCLOSE_GRAPH_API_URL`) over `http`; each request waits up to `timeout_s`
        (default `LEADCLOSE_GRAPH_TIMEOUT_S`; a call worker answers sooner)."""
        s = self.settings
        return GraphClient(
            self.http,
            str(s.graph_api_url).rstrip("/"),
            media_hosts=s.media_hosts,
            max_media_bytes=MAX_INPUT_BYTES,
            retry=retry or RetryPolicy(),
            allow_insecure_loopback=s.graph_allow_insecure_loopback,
            timeout=httpx.Timeout(timeout_s or s.graph_timeout_s, connect=HTTP_TIMEOUT.connect),
        )

    def llm(self, base_url: str) -> AsyncOpenAI:
        """An OpenAI-compatible client of `base_url` over `http` (closed with it: never `close()` it)."""
        return llm_client(self.settings, base_url, http=self.http)


def conversation_state(services: Services) -> ConversationState | None:
    """What a call acts on (tools, consent, identities) from the process's services; None without the master
    key."""
    from agent.calls.assembly import ConversationState  # the calls extra: only call processes import it

    if services.settings.master_key is None:
        log.warning(
            "calls.no_conversation_state", reason="no LEADCLOSE_MASTER_KEY: no tools, no consent ledger"
        )
        return None
    privacy = services.privacy
    return ConversationState(services.keyring, services.tools, privacy.gate, privacy.identities)
