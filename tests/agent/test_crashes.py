"""Real `leadclose worker` processes killed with SIGKILL, drained with SIGTERM, and a redis-server killed and
restarted under load. The Graph API and the LLM are the local peers (tests/agent/whatsapp/graph_peer.py,
tests/llm_peer.py); the webhook is the real app in this process."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio

from agent.analytics.reader import AnalyticsReader
from agent.http.app import create_app
from agent.messages.queue import ConversationQueue
from agent.metrics import Metrics
from tests.agent.stack import MASTER, TOKEN, TOKEN_ENV, echo_reply, eventually, first_reply, settings
from tests.agent.whatsapp import webhooks as wh
from tests.agent.whatsapp.graph_peer import GraphPeer, serve_graph_peer
from tests.agent.worker_process import WorkerProcess
from tests.conftest import ROOT, redis_client
from tests.llm_peer import ChatPeer, serve_chat_peer
from tests.redis_cluster import RedisClusterServers
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from agent.storage.redis_client import RedisClient
    from tests.conftest import RedisBackend

ALICE = "919876543210"
LEASE_S = 2


@dataclass
class Rig:
    redis_url: str
    graph: GraphPeer
    llm: ChatPeer
    queue: ConversationQueue
    http: httpx.AsyncClient
    workers: list[WorkerProcess]
    redis: RedisClient

    def worker(self, **extra: str) -> WorkerProcess:
        env = {
            "LEADCLOSE_REDIS_URL": self.redis_url,
            "LEADCLOSE_PROMPTS_DIR": str(ROOT / "prompts"),
            "LEADCLOSE_MASTER_KEY": MASTER,
            "LEADCLOSE_GRAPH_API_URL": self.graph.base_url,
            "LEADCLOSE_MEDIA_HOSTS": '["127.0.0.1"]',
            "LEADCLOSE_GRAPH_ALLOW_INSECURE_LOOPBACK": "true",
            "LEADCLOSE_LLM_BASE_URL": self.llm.base_url,
            "LEADCLOSE_LLM_API_KEY": "test",
            "LEADCLOSE_LLM_MODEL": "test-model",
            "LEADCLOSE_LLM_MAX_RETRIES": "0",
            "LEADCLOSE_QUEUE_LEASE_S": str(LEASE_S),
            TOKEN_ENV: TOKEN,
            **extra,
        }
        process = WorkerProcess(env)
        self.workers.append(process)
        return process

    async def start_worker(self, **extra: str) -> WorkerProcess:
        return await asyncio.to_thread(self.worker(**extra).start)

    async def post(self, body: bytes) -> None:
        """Deliver like Meta: retry until the webhook answers 200."""
        for _ in range(200):
            response = await self.http.post("/webhooks/whatsapp", content=body, headers=wh.headers(body))
            if response.status_code == 200:
                return
            assert response.status_code == 503
            await asyncio.sleep(0.1)
        raise AssertionError("webhook never accepted the delivery")

    async def drained(self) -> bool:
        return (await self.queue.backlog()).pending_messages == 0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    own = RedisServer(tmp_path / "redis")  # killed and restarted by some tests: not the shared one
    own.start()
    yield own
    own.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    cluster = RedisClusterServers(tmp_path / "cluster")  # a primary is restarted: not the shared one
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["server"])
def backend(request: pytest.FixtureRequest) -> RedisBackend:
    """The test's own server, or (parametrized) the shared 3-primary cluster or one of its own."""
    fixtures = {"server": "server", "cluster": "redis_cluster", "own cluster": "own_cluster"}
    chosen: RedisBackend = request.getfixturevalue(fixtures[request.param])
    return chosen


ON_THE_CLUSTER_TOO = pytest.mark.parametrize("backend", ["server", "cluster"], indirect=True)


@pytest_asyncio.fixture
async def rig(backend: RedisBackend) -> AsyncIterator[Rig]:
    with ExitStack() as stack:
        graph = stack.enter_context(serve_graph_peer(TOKEN))
        llm = stack.enter_context(serve_chat_peer(echo_reply))
        client = redis_client(backend.url)
        await client.flushdb()  # the cluster is shared by the session
        app = create_app(settings(backend.url), metrics=Metrics())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingress"
        ) as http:
            r = Rig(backend.url, graph, llm, ConversationQueue(client), http, [], client)
            try:
                yield r
            finally:
                for w in r.workers:
                    w.stop()
                await client.aclose()


@ON_THE_CLUSTER_TOO
async def test_kill_9_before_the_send_another_worker_finishes_with_one_reply(rig: Rig) -> None:
    first = await rig.start_worker()
    rig.llm.delay_s = 30.0  # the turn is stuck in the LLM call when the worker dies
    await rig.post(wh.payload(messages=[wh.text(ALICE, "wamid.k1", "are you there?")]))
    await eventually(lambda: len(rig.llm.bodies) == 1)
    first.kill()
    rig.llm.delay_s = 0.0
    await rig.start_worker()
    await eventually(rig.drained, 30)
    assert [m["text"]["body"] for m in rig.graph.messages] == [first_reply("You said: are you there?")]
    # The analytics count the turn once: the dead worker's attempt recorded nothing.
    await eventually(lambda: _answered(rig, 1))
    assert await rig.queue.dead_letters() == []
    assert await _answered(rig, 1)


async def _answered(rig: Rig, turns: int) -> bool:
    today = datetime.now(UTC).date()
    report = await AnalyticsReader(rig.redis).report("default", today - timedelta(days=1), today)
    return report.channel("text")["answered"] == report.channel("all")["turns"] == turns


@ON_THE_CLUSTER_TOO
async def test_kill_9_during_the_send_never_sends_twice(rig: Rig) -> None:
    first = await rig.start_worker()
    rig.graph.hold_accepted_sends_s = 30.0  # Meta has the message; the worker dies before the answer
    await rig.post(wh.payload(messages=[wh.text(ALICE, "wamid.k2", "hello")]))
    await eventually(lambda: len(rig.graph.messages) == 1)
    first.kill()
    rig.graph.hold_accepted_sends_s = 0.0
    await rig.start_worker()
    await eventually(rig.drained, 30)
    await asyncio.sleep(0.5)
    assert len(rig.graph.messages) == 1


async def test_a_send_stalled_past_the_timeout_is_never_sent_again_by_any_worker(rig: Rig) -> None:
    """Meta has the message but its answer comes after the worker's Graph timeout: outcome unknown. Neither
    that worker, nor new ones after a kill -9, nor Meta's redeliveries of the webhook ever send it again."""
    quick = {"LEADCLOSE_GRAPH_TIMEOUT_S": "1"}
    first = await rig.start_worker(**quick)
    rig.graph.hold_accepted_sends_s = 3.0
    body = wh.payload(messages=[wh.text(ALICE, "wamid.k5", "hello")])
    await rig.post(body)
    await eventually(lambda: len(rig.graph.messages) == 1)
    await eventually(rig.drained, 30)  # the turn ended, with the outcome unknown
    assert any("turn.send_outcome_unknown" in line for line in first.log)
    first.kill()
    rig.graph.hold_accepted_sends_s = 0.0
    await rig.start_worker(**quick)
    await rig.start_worker(**quick)
    for _ in range(3):
        await rig.post(body)  # Meta redelivers
    await rig.post(wh.payload(messages=[wh.text(ALICE, "wamid.k6", "anyone?")]))
    await eventually(lambda: len(rig.graph.messages) == 2, 30)  # the next message is answered ...
    assert [m["text"]["body"] for m in rig.graph.messages][1].endswith("You said: anyone?")
    await eventually(rig.drained, 30)
    assert len(rig.graph.messages) == 2  # ... and the first one never again


@ON_THE_CLUSTER_TOO
async def test_sigterm_drains_the_turn_in_flight(rig: Rig) -> None:
    worker = await rig.start_worker()
    rig.llm.delay_s = 1.5
    await rig.post(wh.payload(messages=[wh.text(ALICE, "wamid.k3", "one more")]))
    await eventually(lambda: len(rig.llm.bodies) == 1)
    assert await asyncio.to_thread(worker.terminate) == 0
    assert len(rig.graph.messages) == 1
    assert await rig.drained()


@pytest.mark.parametrize("backend", ["server", "own cluster"], indirect=True)
async def test_redis_restart_during_200_messages_loses_none_and_doubles_none(
    rig: Rig, backend: RedisServer | RedisClusterServers
) -> None:
    """On a cluster, the primary of slots 0-5460 (queue shards {3} and {7}) goes down and comes back with
    its AOF and its node id."""
    server = backend.nodes[0] if isinstance(backend, RedisClusterServers) else backend
    await rig.start_worker()
    await rig.start_worker()
    users = [f"9198700{i:05d}" for i in range(40)]
    sends = [(u, n) for n in range(5) for u in users]
    for index, (user, n) in enumerate(sends):
        if index == 100:
            await asyncio.to_thread(server.stop)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)
        await rig.post(wh.payload(messages=[wh.text(user, f"wamid.{user}.{n}", f"token-{user[-5:]}-{n}")]))
    await eventually(rig.drained, 120)
    dead = {job["id"] for letter in await rig.queue.dead_letters() for job in letter["jobs"]}
    said = Counter(
        word for m in rig.graph.messages for word in m["text"]["body"].split() if word.startswith("token-")
    )
    for user, n in sends:
        token = f"token-{user[-5:]}-{n}"  # not the sender's number: that one is masked as PII
        if f"wamid.{user}.{n}" in dead:
            assert said[token] == 0
        else:
            assert said[token] == 1, f"{token} answered {said[token]} times"
    assert sum(said.values()) + len(dead) == 200
    replies_per_user = Counter(m["to"] for m in rig.graph.messages)
    assert set(replies_per_user) <= set(users)
    print(json.dumps({"replies": len(rig.graph.messages), "dead": len(dead)}))
