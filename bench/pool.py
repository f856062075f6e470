"""End-to-end turnaround and worker scaling on the offline defaults.

Signed voice-note webhooks (a real 10 s note) go into the real app; `leadclose worker` processes (each with
tiny.en, Piper and its own embedded llama.cpp SmolLM2 server) answer them through the local Graph API peer
(tests/agent/whatsapp/graph_peer.py). Prints turnaround p50/p95 one note at a time, and the throughput of a
burst of notes from different users, for 1 and 2 worker processes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from agent.http.app import create_app
from agent.metrics import Metrics
from agent.settings import Settings
from tests.agent.whatsapp import webhooks as wh
from tests.agent.whatsapp.graph_peer import GraphPeer, serve_graph_peer
from tests.agent.worker_process import WorkerProcess
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
NOTE = "ogg/1089-134686-0000.ogg"  # 10.4 s
TOKEN, MASTER = "bench-token", "bench-master-key-123456"


async def _turnarounds(http: httpx.AsyncClient, graph: GraphPeer, sha: str, users: list[str]) -> list[float]:
    """Send one note per user at once; return each user's time from webhook to reply sent."""
    start = time.perf_counter()
    done: dict[str, float] = {}
    for i, user in enumerate(users):
        body = wh.payload(messages=[wh.voice(user, f"wamid.{user}.{i}.{start}", "1000000001", sha)])
        response = await http.post("/webhooks/whatsapp", content=body, headers=wh.headers(body))
        response.raise_for_status()
    while len(done) < len(users):
        for message in graph.messages:
            done.setdefault(message["to"], time.perf_counter() - start)
        await asyncio.sleep(0.01)
    graph.messages.clear()
    return [done[u] for u in users]


async def _run(workers: int, audio_dir: Path, rounds: int, burst: int) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        redis = RedisServer(Path(folder) / "redis")
        redis.start()
        stack.callback(redis.stop)
        graph = stack.enter_context(serve_graph_peer(TOKEN))
        data = (audio_dir / NOTE).read_bytes()
        graph.add_media("1000000001", data)
        sha = hashlib.sha256(data).hexdigest()
        env = {
            "LEADCLOSE_REDIS_URL": redis.url,
            "LEADCLOSE_PROMPTS_DIR": str(ROOT / "prompts"),
            "LEADCLOSE_MASTER_KEY": MASTER,
            "LEADCLOSE_GRAPH_API_URL": graph.base_url,
            "LEADCLOSE_MEDIA_HOSTS": '["127.0.0.1"]',
            "LEADCLOSE_GRAPH_ALLOW_INSECURE_LOOPBACK": "true",
            "LEADCLOSE_LLM_MAX_TOKENS": "60",
            "LEADCLOSE_TENANT_DEFAULT__ACCESS_TOKEN": TOKEN,
        }
        for _ in range(workers):
            process = WorkerProcess(env, concurrency=1).start()
            stack.callback(process.stop)
        settings = Settings(
            _env_file=None,
            redis_url=redis.url,
            prompts_dir=ROOT / "prompts",  # type: ignore[call-arg]
            whatsapp_app_secret=wh.APP_SECRET,
            whatsapp_verify_token="v",  # type: ignore[arg-type]
            master_key=MASTER,
        )  # type: ignore[arg-type]
        app = create_app(settings, metrics=Metrics())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingress"
        ) as http:
            await _turnarounds(http, graph, sha, ["919000000000"])  # warm-up
            single = [(await _turnarounds(http, graph, sha, [f"9191{r:08d}"]))[0] for r in range(rounds)]
            start = time.perf_counter()
            await _turnarounds(http, graph, sha, [f"9192{u:08d}" for u in range(burst)])
            burst_s = time.perf_counter() - start
    return single, burst_s


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.pool")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--burst", type=int, default=12)
    parser.add_argument("--audio-dir", type=Path, default=ROOT.parent / "shared" / "audio")
    args = parser.parse_args()
    print(
        f"pool: 10.4 s voice note → reply sent, offline defaults (LLM max 60 tokens), {args.rounds} single "
        f"notes then a burst of {args.burst} users"
    )
    rates = {}
    for workers in (1, 2):
        single, burst_s = asyncio.run(_run(workers, args.audio_dir, args.rounds, args.burst))
        q = statistics.quantiles(single, n=20)
        rates[workers] = args.burst / burst_s * 60
        print(
            f"  {workers} worker process(es): turnaround p50 {statistics.median(single):.2f} s, "
            f"p95 {q[18]:.2f} s; burst {burst_s:.1f} s = {rates[workers]:.1f} notes/min"
        )
    print(f"  scaling 1 → 2 processes: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
