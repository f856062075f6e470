"""The call path in one test process: the real HTTP app (signed webhooks in), a real `CallWorker` on a real
redis-server, the real models, the local Graph API peer (`/calls`: it relays our SDP answer to the caller as
Meta does) and the local OpenAI-compatible peer, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from contextlib import ExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from agent.calls.call import CallConfig, CallHandler
from agent.calls.worker import CallWorker
from agent.http.app import create_app
from agent.metrics import Metrics
from agent.services import Overrides, Services, conversation_state
from agent.storage.keyring import Keyring, master_secret
from agent.whatsapp import RetryPolicy
from pipelines.llm import Responder
from tests.agent.calls.caller import Answer, Caller
from tests.agent.calls.hearing import Ears
from tests.agent.stack import MASTER, TOKEN, echo_reply, eventually, now, settings
from tests.agent.whatsapp import webhooks as wh
from tests.agent.whatsapp.graph_peer import GraphPeer, serve_graph_peer
from tests.conftest import ROOT
from tests.ears import ear_model
from tests.llm_peer import ChatPeer, Reply, serve_chat_peer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import numpy as np
    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from agent.privacy.assembly import Privacy

CALLER = "919876543210"


def call_event(call_id: str, event: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "from": CALLER,
        "to": "15550001111",
        "event": event,
        "timestamp": str(now()),
        "direction": "USER_INITIATED",
        **extra,
    }


@dataclass
class CallStack:
    http: httpx.AsyncClient
    graph: GraphPeer
    llm: ChatPeer
    metrics: Metrics
    stop: asyncio.Event
    worker: asyncio.Task[None]
    privacy: Privacy
    ears: Ears

    async def post(self, call: dict[str, Any], pnid: str = wh.PHONE_NUMBER_ID) -> None:
        body = wh.payload(calls=[call], phone_number_id=pnid)
        response = await self.http.post("/webhooks/whatsapp", content=body, headers=wh.headers(body))
        assert response.status_code == 200

    async def connect(self, call_id: str, sdp: str, pnid: str = wh.PHONE_NUMBER_ID) -> None:
        """The signed `connect` webhook carrying a caller's SDP offer."""
        await self.post(call_event(call_id, "connect", session={"sdp_type": "offer", "sdp": sdp}), pnid)

    @asynccontextmanager
    async def call(self, call_id: str, pnid: str = wh.PHONE_NUMBER_ID) -> AsyncIterator[Caller]:
        """A caller who can hear, rung through to an answered call; on leaving, the caller hangs up (the
        `terminate` webhook and the business's `terminate`) unless the business already ended the call. After
        a failure inside, the phone still hangs up without waiting on the business."""
        caller = Caller(ears=self.ears)
        await self.ring(caller, call_id, pnid)
        try:
            yield caller
        except BaseException:
            with suppress(Exception):
                await self.post(call_event(call_id, "terminate", status="COMPLETED"), pnid)
            await caller.hang_up()
            raise
        if "terminate" in self.graph.actions_of(call_id):
            await caller.hang_up()
        else:
            await self.hang_up(caller, call_id, pnid)

    async def ring(self, caller: Caller, call_id: str, pnid: str = wh.PHONE_NUMBER_ID) -> None:
        """The caller rings: `connect` with its offer; Meta relays the business's answer back to the phone."""
        await self.connect(call_id, await caller.offer(), pnid)
        await eventually(lambda: self.graph.answer_sdp(call_id) is not None, 20)
        answer = self.graph.answer_sdp(call_id)
        assert answer is not None
        await caller.answer_with(answer)
        await eventually(lambda: "accept" in self.graph.actions_of(call_id), 20)

    async def hang_up(self, caller: Caller, call_id: str, pnid: str = wh.PHONE_NUMBER_ID) -> None:
        """The `terminate` webhook first; the phone's media goes once the business has ended its side."""
        await self.post(call_event(call_id, "terminate", status="COMPLETED"), pnid)
        await eventually(lambda: "terminate" in self.graph.actions_of(call_id), 30)
        await caller.hang_up()

    async def final_answer(self, caller: Caller, samples: np.ndarray) -> Answer:
        """The caller says `samples` and the agent answers by ending the call."""
        said_until = await caller.say(samples)
        await eventually(lambda: self.outcomes().get("agent_ended") == 1, 60)
        return caller.answer_since(said_until)

    async def call_record(self, within_s: float = 20.0) -> dict[str, Any]:
        """The caller's one content-free T0 record of the call, once the call worker has written it."""
        records: list[dict[str, Any]] = []

        async def written() -> bool:
            logged = await self.privacy.processing.records("default", subject())
            records[:] = [r for r in logged if r["event"] == "call"]
            return bool(records)

        await eventually(written, within_s)
        (record,) = records
        return record

    def outcomes(self) -> dict[str, float]:
        return {
            s.labels["outcome"]: s.value
            for metric in self.metrics.calls.collect()
            for s in metric.samples
            if s.name.endswith("_total")
        }


@asynccontextmanager
async def call_stack(
    redis: Redis,
    redis_url: str,
    models: CallModels,
    *,
    reply: Reply = echo_reply,
    capacity: int = 2,
    config: CallConfig | None = None,
    llm_timeout_s: float = 3.0,
    prompts_dir: Path = ROOT / "prompts",
) -> AsyncIterator[CallStack]:
    with ExitStack() as peers:
        graph_peer = peers.enter_context(serve_graph_peer(TOKEN))
        llm_peer = peers.enter_context(serve_chat_peer(reply))
        metrics = Metrics()
        configured = settings(
            redis_url,
            prompts_dir,
            graph_api_url=graph_peer.base_url,
            graph_allow_insecure_loopback=True,
            llm_max_retries=0,
        )
        app = create_app(configured, metrics=Metrics())  # the `serve` process, with services of its own
        async with (
            Services.open(configured, overrides=Overrides(redis=redis)) as services,  # the call worker's
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress") as ingress,
            app.router.lifespan_context(app),
        ):
            graph = services.graph(
                timeout_s=5.0, retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05)
            )
            responder = Responder(services.llm(llm_peer.base_url), "test-model", timeout_s=llm_timeout_s)
            handler = CallHandler(
                graph, models, responder, "test-model", metrics, config or CallConfig(silence_timeout_s=60.0)
            )
            privacy = services.privacy
            worker = CallWorker(
                services.redis,
                handler,
                services.tenants,
                metrics,
                events=services.call_queue,
                capacity=capacity,
                block_ms=100,
                drain_s=20,
                state=conversation_state(services),
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                yield CallStack(
                    ingress, graph_peer, llm_peer, metrics, stop, task, privacy, Ears(ear_model())
                )
            finally:
                stop.set()
                await task


def subject() -> str:
    """The caller's conversation reference: the key of their consent ledger and logs."""
    return Keyring(master_secret(MASTER)).conversation_ref("default", CALLER)


def llm_user_texts(peer: ChatPeer) -> list[str]:
    return [json.loads(b)["messages"][-1]["content"] for b in peer.bodies]
