"""The whole product in one test process: the real HTTP app and a real Worker on a real redis-server, with
the real models, talking to the local Graph API peer (tests/agent/whatsapp/graph_peer.py) and the local
OpenAI-compatible peer (tests/llm_peer.py) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import time
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest_asyncio

from agent.egress import EgressPolicy
from agent.engines.voices import Voices
from agent.http.app import create_app
from agent.messages.queue import ConversationQueue, QueueConfig
from agent.messages.worker import Worker, turn_handler
from agent.metrics import Metrics
from agent.services import Overrides, Services
from agent.settings import Settings
from agent.tenants.registry import TenantRegistry
from agent.whatsapp import RetryPolicy
from pipelines.llm import Responder
from pipelines.tts import BUNDLED_VOICE, OpenAISynthesizer
from pipelines.turn import TurnRunner
from tests.agent.whatsapp import webhooks as wh
from tests.agent.whatsapp.graph_peer import GraphPeer, serve_graph_peer
from tests.conftest import ROOT
from tests.llm_peer import ChatPeer, Reply, serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    import pytest
    from redis.asyncio import Redis

    from agent.engines.speech import SpeechEngines
    from agent.privacy.assembly import Privacy
    from pipelines.pii import PiiGuard
    from pipelines.stt import Transcriber, WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.conftest import RedisBackend

TOKEN = "EAAG-test-business-token"
TOKEN_ENV = "LEADCLOSE_TENANT_DEFAULT__ACCESS_TOKEN"  # prompts/default/tenant.yaml
MASTER = "test-master-key-123456"
# The local peers (the tenant's CRM among them) listen on 127.0.0.1: ops open it the documented way.
PEERS_NETWORK = "127.0.0.1/32"
PEERS = EgressPolicy.from_setting(PEERS_NETWORK)


def settings(redis_url: str, prompts_dir: Path = ROOT / "prompts", **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=redis_url,
        prompts_dir=prompts_dir,
        whatsapp_app_secret=wh.APP_SECRET,  # type: ignore[arg-type]
        whatsapp_verify_token="verify-me",  # type: ignore[arg-type]
        **({"master_key": MASTER, "tools_allow_networks": PEERS_NETWORK} | extra),
    )


@dataclass
class Stack:
    http: httpx.AsyncClient
    graph: GraphPeer
    llm: ChatPeer
    queue: ConversationQueue
    metrics: Metrics
    privacy: Privacy
    tenants: TenantRegistry

    async def post(self, body: bytes) -> httpx.Response:
        return await self.http.post("/webhooks/whatsapp", content=body, headers=wh.headers(body))

    def add_voice_note(self, media_id: str, data: bytes) -> str:
        """Registers inbound media on the Graph peer; returns the sha256 the webhook carries."""
        self.graph.add_media(media_id, data, "audio/ogg")
        return hashlib.sha256(data).hexdigest()

    async def has_dead_letters(self) -> bool:
        return bool(await self.queue.dead_letters())

    def sent_to(self, user: str) -> list[dict[str, Any]]:
        return [m for m in self.graph.messages if m["to"] == user]


def first_reply(text: str, language: str = "en") -> str:
    """`text` as the first reply of a conversation carries it: after the default tenant's AI disclosure."""
    tenant = TenantRegistry.load(ROOT / "prompts").get("default").config
    disclosure = tenant.catalogue.get(language).disclosure
    return f"{disclosure.replace('{business}', tenant.name)}\n\n{text}"


def echo_reply(messages: list[dict[str, Any]]) -> str:
    return "You said: " + messages[-1]["content"].replace("\n", " / ")


async def eventually(predicate: Callable[[], bool | Awaitable[bool]], within_s: float = 30.0) -> None:
    """Wait until `predicate()` holds. The state lives in other processes (HTTP peers, Redis) that offer no
    event to await, so it is polled."""

    async def poll() -> None:
        while True:
            held = predicate()
            if await held if inspect.isawaitable(held) else held:
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), within_s)


@asynccontextmanager
async def running_stack(
    redis: Redis,
    redis_url: str,
    transcriber: Transcriber,
    synthesizer: PiperSynthesizer,
    *,
    reply: Reply = echo_reply,
    prompts_dir: Path = ROOT / "prompts",
    lease_ms: int = 5_000,
    max_attempts: int = 3,
    concurrency: int = 4,
    key_store: Redis | None = None,
    graph_timeout_s: float = 5.0,
    pii: PiiGuard | None = None,
    speech: SpeechEngines | None = None,
    voices: Voices | None = None,
) -> AsyncIterator[Stack]:
    with ExitStack() as peers:
        graph_peer = peers.enter_context(serve_graph_peer(TOKEN))
        llm_peer = peers.enter_context(serve_chat_peer(reply))
        metrics = Metrics()
        extra = {} if key_store is None else {"key_store_url": _url(key_store)}  # ingress seals with it
        config = settings(
            redis_url,
            prompts_dir,
            graph_api_url=graph_peer.base_url,
            media_hosts=("127.0.0.1",),
            graph_allow_insecure_loopback=True,
            graph_timeout_s=graph_timeout_s,
            llm_max_retries=0,
            **extra,
        )
        app = create_app(config, metrics=Metrics())  # the `serve` process, with services of its own
        # The worker process's services, on the test's Redis clients and with a quick queue.
        overrides = Overrides(
            redis=redis,
            key_store=key_store,
            queue=QueueConfig(
                lease_ms=lease_ms, max_attempts=max_attempts, backoff_base_ms=50, backoff_max_ms=200
            ),
        )
        async with (
            Services.open(config, overrides=overrides) as services,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress") as ingress,
            app.router.lifespan_context(app),  # closes the app's services when the stack ends
        ):
            llm_client = services.llm(llm_peer.base_url)
            runner = TurnRunner(
                transcriber,
                pii or pii_guard(),
                Responder(llm_client, "test-model", timeout_s=2.0),
                synthesizer,
            )
            graph = services.graph(retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05))
            queue, privacy, tenants = services.queue, services.privacy, services.tenants
            # The bundled Piper voice, and one hosted voice (served by the LLM peer) a tenant may choose.
            voices = voices or Voices(
                synthesizer,
                ("piper", BUNDLED_VOICE),
                {("openai", "alloy"): OpenAISynthesizer(llm_client, voice="alloy")},
            )
            handler = turn_handler(services, graph, runner, metrics, voices=voices, speech=speech)
            worker = Worker(
                queue,
                handler,
                metrics,
                concurrency=concurrency,
                min_poll_s=0.005,
                max_poll_s=0.05,
                drain_s=10,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                yield Stack(ingress, graph_peer, llm_peer, queue, metrics, privacy, tenants)
            finally:
                stop.set()
                await task


def _url(client: Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def now() -> int:
    return int(time.time())


def stack_fixture(**options: Any) -> Any:
    """A module's `stack` fixture: the running stack with `options` (see `running_stack`), the default
    tenant's access token in the environment."""

    @pytest_asyncio.fixture
    async def stack(
        redis: Redis,
        redis_backend: RedisBackend,
        transcriber: WhisperTranscriber,
        synthesizer: PiperSynthesizer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> AsyncIterator[Stack]:
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        async with running_stack(redis, redis_backend.url, transcriber, synthesizer, **options) as s:
            yield s

    return stack
