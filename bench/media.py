"""Voice notes from Meta's media host to the prompt: one note at a time, or downloaded ahead while the
previous one is transcribed (`TurnRunner(fetch_ahead=…)`, pipelines/fetch_ahead.py).

The Graph API peer (tests/agent/whatsapp/graph_peer.py) serves the notes over real HTTP on 127.0.0.1 with a
round trip before each media answer (`GET /{media-id}`, then the download) and the body at a given rate; the
real `GraphClient` fetches them (allow-list, cap, sha256), the real TurnRunner decodes and transcribes them
(tiny.en), minimizes the words and asks the LLM peer, which answers at once (text reply), so the turn's time
is hearing. Both ways alternate in one process. Also printed: one note's download against its decode and
STT, the part a streaming decoder could overlap.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from agent.engines.runtime import llm_client, pii_guard
from agent.settings import Settings
from agent.tenants.registry import load_tenant, turn_config
from agent.whatsapp import GraphClient
from pipelines.llm import Responder
from pipelines.stt import WhisperTranscriber, load_whisper
from pipelines.tts import PiperSynthesizer, load_piper
from pipelines.turn import Message, StageTimes, Turn, TurnConfig, TurnRunner, per_stage_ms
from tests.agent.whatsapp.graph_peer import MediaNetwork, serve_graph_peer
from tests.llm_peer import serve_chat_peer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
NOTES = {  # the shared corpus' voice notes (OGG/Opus as WhatsApp sends them)
    "10s": "ogg/1089-134686-0000.ogg",
    "jfk": "ogg/jfk.ogg",
    "30s": "ogg/voicenote_30s_1089-134686.ogg",
    "118s": "ogg/voicenote_118s_1089-134686.ogg",
}
BATCHES = {"1 note (10 s)": ("10s",), "3 notes (10 s, 11 s, 10 s)": ("10s", "jfk", "10s")}


def _fetch(graph: GraphClient, media_id: str, sha256: str) -> Callable[[], Awaitable[bytes]]:
    async def fetch() -> bytes:
        info = await graph.media_url(media_id, TOKEN)
        return await graph.download_media(info, TOKEN, sha256)

    return fetch


async def bench(audio_dir: Path, runs: int, network: MediaNetwork, threads: int) -> None:
    settings = Settings(_env_file=None)
    folder = settings.prompts_dir / "default"
    config: TurnConfig = turn_config(load_tenant(folder), folder)
    with ExitStack() as peers:
        graph_peer = peers.enter_context(serve_graph_peer(TOKEN))
        chat = peers.enter_context(serve_chat_peer(lambda _messages: "Thanks, noted."))
        graph_peer.media_network = network
        shas: dict[str, str] = {}
        for name, path in NOTES.items():
            data = (audio_dir / path).read_bytes()
            graph_peer.add_media(f"77{len(shas)}", data)
            shas[name] = hashlib.sha256(data).hexdigest()
        ids = {name: f"77{i}" for i, name in enumerate(NOTES)}
        transcriber = WhisperTranscriber(load_whisper("tiny.en", cpu_threads=threads))
        pii = pii_guard(settings)
        async with httpx.AsyncClient(timeout=30) as http:
            graph = GraphClient(
                http, graph_peer.base_url, media_hosts=("127.0.0.1",), allow_insecure_loopback=True
            )
            responder = Responder(llm_client(settings, chat.base_url, http=http), "bench", timeout_s=10)
            synthesizer = PiperSynthesizer(load_piper())  # not used: the replies are text
            ways = {
                "one at a time": TurnRunner(transcriber, pii, responder, synthesizer, fetch_ahead=0),
                "1 ahead": TurnRunner(transcriber, pii, responder, synthesizer, fetch_ahead=1),
                "2 ahead": TurnRunner(transcriber, pii, responder, synthesizer, fetch_ahead=2),
            }

            async def turn(runner: TurnRunner, notes: tuple[str, ...]) -> float:
                messages = tuple(
                    Message(f"m{i}", audio=_fetch(graph, ids[n], shas[n])) for i, n in enumerate(notes)
                )
                start = time.perf_counter()
                result = await runner.run(Turn("bench", messages, config))
                assert result.said, "the notes were heard"
                return (time.perf_counter() - start) * 1000

            await turn(ways["1 ahead"], ("10s",))  # warm-up
            print(
                f"media network: {network.rtt_s * 1000:.0f} ms round trip per request, "
                f"{network.bytes_per_s / 1000:.0f} kB/s; STT threads {threads}; {runs} runs, alternating"
            )
            print(f"{'batch':>28} {'way':>16} {'p50 ms':>8} {'min ms':>8}")
            for label, notes in BATCHES.items():
                got: dict[str, list[float]] = {way: [] for way in ways}
                for _ in range(runs):
                    for way, runner in ways.items():
                        got[way].append(await turn(runner, notes))
                for way, times in got.items():
                    print(f"{label:>28} {way:>16} {statistics.median(times):8.0f} {min(times):8.0f}")

            print("\none note: download (GET /{media-id} + file) against decode and STT, medians")
            for name in ("10s", "118s"):
                rows: list[dict[str, float]] = []
                for _ in range(runs):
                    start = time.perf_counter()
                    data = await _fetch(graph, ids[name], shas[name])()
                    download = (time.perf_counter() - start) * 1000
                    stages = StageTimes()
                    await ways["one at a time"].transcribe(data, stages)
                    rows.append(
                        {"download": download, "kB": len(data) / 1000} | per_stage_ms(stages.frozen())
                    )
                med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
                print(
                    f"{name:>5}: {med['kB']:.0f} kB, download {med['download']:.0f} ms, "
                    f"decode {med['decode']:.0f} ms, STT {med['stt']:.0f} ms"
                )
        pii.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.media")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rtt-ms", type=float, default=150.0, help="per media request")
    parser.add_argument("--kbytes-per-s", type=float, default=1000.0, help="download rate (0: at once)")
    parser.add_argument("--stt-threads", type=int, default=2)
    parser.add_argument("--audio-dir", type=Path, default=ROOT.parent / "shared" / "audio")
    args = parser.parse_args()
    network = MediaNetwork(rtt_s=args.rtt_ms / 1000, bytes_per_s=args.kbytes_per_s * 1000)
    asyncio.run(bench(args.audio_dir, args.runs, network, args.stt_threads))


if __name__ == "__main__":
    main()
