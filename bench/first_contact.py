"""A person's first voice-note turn: the reply carries the AI disclosure. Before and after, in one process.

Runs `TurnRunner.run` (the worker's composition) on the offline defaults (PyAV, tiny.en, the embedded
llama.cpp SmolLM2 server, Piper) with the demo's first-contact gate (`with_disclosure`, the worker's rule),
on a 10 s note of the shared corpus, the ways alternating. The LLM decodes greedily (`--temperature 0`), so
every run answers the same words and the ways differ only in how the disclosure is spoken:

- `respoken` (before): the gate does not say the disclosure up front, so the note streamed while the model
  wrote does not say what is sent and the whole text (disclosure + reply) is spoken again after the LLM —
  what every first contact did before.
- `cold` (after, the process's first first contact): the disclosure is announced as the reply starts and
  synthesized then (a fresh phrase cache), fed to the encoder before the streamed reply.
- `warm` (after, every later first contact of the process): the disclosure's audio from the phrase cache.
- `no disclosure`: a returning person's turn, for reference.

Prints medians of: `tts` (the speaking on the critical path: after the LLM's last token), the LLM time, the
turn's total, how many texts Piper synthesized and how long the sent note is.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli.demo import FirstContactGate
from agent.engines.runtime import llm_client, open_runtime
from agent.settings import load_settings
from agent.tenants.registry import load_tenant, turn_config
from pipelines.audio import decode
from pipelines.llm import Responder
from pipelines.tts import Synthesizer
from pipelines.turn import Message, OpenGate, Turn, TurnPorts, TurnRunner, given_audio, per_stage_ms

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from agent.tenants.registry import Tenant
    from pipelines.audio import Pcm
    from pipelines.turn import TurnConfig

ROOT = Path(__file__).resolve().parent.parent
NOTE = "ogg/1089-134686-0000.ogg"  # 10 s
WAYS = ("respoken", "cold", "warm", "no disclosure")


class _Counted(Synthesizer):
    """The runtime's voice, counting the texts it is asked to speak; a new one is a new phrase-cache key."""

    def __init__(self, voice: Synthesizer) -> None:
        self.voice = voice
        self.engine = voice.engine
        self.texts = 0

    @property
    def sample_rate(self) -> int:
        return self.voice.sample_rate

    async def stream(self, text: str) -> AsyncIterator[Pcm]:
        self.texts += 1
        async for clip in self.voice.stream(text):
            yield clip


class _Unannounced(FirstContactGate):
    """The first-contact gate as the turn knew it before: the disclosure only appears in `outgoing`."""

    async def disclosure(self, said: str) -> str:
        return ""


async def _turn(
    runner: TurnRunner, voice: _Counted, note: bytes, config: TurnConfig, gate: OpenGate
) -> dict[str, float]:
    turn = Turn("bench", (Message("m", audio=given_audio(note)),), config, voice=lambda _text: voice)
    before = voice.texts
    start = time.perf_counter()
    result = await runner.run(turn, TurnPorts(gate=gate))
    total = (time.perf_counter() - start) * 1000
    assert result.reply_audio is not None
    assert result.reply_audio_says == result.reply_text  # the note says exactly what is sent
    stages = per_stage_ms(result.timings)
    return {
        "tts": stages.get("tts", 0.0),
        "llm": stages.get("llm", 0.0),
        "stt": stages.get("stt", 0.0),
        "total": total,
        "texts": voice.texts - before,
        "note_s": decode(result.reply_audio).duration_s,
    }


def _gate(way: str, tenant: Tenant) -> OpenGate:
    if way == "respoken":
        return _Unannounced(tenant)
    return OpenGate() if way == "no disclosure" else FirstContactGate(tenant)


async def bench(audio_dir: Path, runs: int, temperature: float) -> None:
    settings = load_settings()
    folder = settings.prompts_dir / "default"
    tenant = load_tenant(folder)
    config = turn_config(tenant, folder)
    note = (audio_dir / NOTE).read_bytes()
    async with open_runtime(settings) as runtime, llm_client(settings, runtime.llm_base_url) as client:
        responder = Responder(
            client,
            runtime.llm_model,
            timeout_s=settings.llm_timeout_s,
            max_tokens=settings.llm_max_tokens,
            temperature=temperature,
        )
        transcriber = runtime.speech.router(("en",), "en")
        runner = TurnRunner(transcriber, runtime.pii, responder, runtime.synthesizer)
        warm = _Counted(runtime.synthesizer)
        await _turn(runner, warm, note, config, FirstContactGate(tenant))  # warm-up; fills warm's cache
        rows: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
        for _ in range(runs):
            for way in WAYS:  # alternating, so every way sees the same machine state
                voice = _Counted(runtime.synthesizer) if way == "cold" else warm
                rows[way].append(await _turn(runner, voice, note, config, _gate(way, tenant)))
    print(f"{'way':>14} {'tts':>7} {'llm':>7} {'stt':>7} {'total':>7} {'texts':>5} {'note s':>6}")
    for way, got in rows.items():
        med = {k: statistics.median(r[k] for r in got) for k in got[0]}
        print(
            f"{way:>14} {med['tts']:7.0f} {med['llm']:7.0f} {med['stt']:7.0f} {med['total']:7.0f}"
            f" {med['texts']:5.0f} {med['note_s']:6.1f}"
        )
    print(
        f"ms, medians of {runs} runs; tts = speaking after the LLM's last token (encoding included); texts = "
        "pieces Piper synthesized for the turn (the disclosure, each reply sentence)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.first_contact")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--temperature", type=float, default=0.0, help="the LLM's (0: the same answer each run)"
    )
    parser.add_argument("--audio-dir", type=Path, default=ROOT.parent / "shared" / "audio")
    args = parser.parse_args()
    asyncio.run(bench(args.audio_dir, args.runs, args.temperature))


if __name__ == "__main__":
    main()
