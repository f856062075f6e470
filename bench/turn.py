"""Per-stage time and real-time factor of a voice-note turn on the offline defaults.

Runs the real pipeline (PyAV, faster-whisper tiny.en int8, the embedded llama.cpp SmolLM2 server, Piper)
on 5 s, 10 s, 30 s and 118 s notes from the shared corpus, `--runs` times each, and prints medians, the
share of a turn spent outside model inference, TTS first-audio latency and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from pathlib import Path

from agent.runtime import open_runtime
from agent.settings import load_settings
from agent.tenants import load_tenant, turn_config
from pipelines.audio import decode, encode_voice_note
from pipelines.turn import Conversation

ROOT = Path(__file__).resolve().parent.parent
NOTES = {
    "5s": "en/1089-134686-0004.flac",  # re-encoded below as an OGG/Opus voice note
    "10s": "ogg/1089-134686-0000.ogg",
    "30s": "ogg/voicenote_30s_1089-134686.ogg",
    "118s": "ogg/voicenote_118s_1089-134686.ogg",
}
STAGES = ("decode", "stt", "pii", "llm", "restore", "tts", "encode")
INFERENCE = ("stt", "llm", "tts")


def _note(audio_dir: Path, name: str) -> bytes:
    data = (audio_dir / name).read_bytes()
    return data if name.endswith(".ogg") else encode_voice_note(decode(data))


def _rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def bench(audio_dir: Path, runs: int) -> None:
    settings = load_settings()
    folder = settings.prompts_dir / "default"
    config = turn_config(load_tenant(folder), folder)
    async with open_runtime(settings) as runtime:
        runner = runtime.runner
        await runner.voice_note(_note(audio_dir, NOTES["5s"]), Conversation(), config)  # warm-up
        print(
            f"{'note':>5} {'dur s':>6} "
            + " ".join(f"{s:>8}" for s in STAGES)
            + f" {'total':>8} {'stt RTF':>8} {'tts RTF':>8} {'outside%':>8} {'no-LLM':>8}"
        )
        for label, name in NOTES.items():
            data = _note(audio_dir, name)
            rows: list[dict[str, float]] = []
            for _ in range(runs):
                start = time.perf_counter()
                result = await runner.voice_note(data, Conversation(), config)
                total = (time.perf_counter() - start) * 1000
                assert result.transcript is not None
                assert result.reply_audio is not None
                reply_s = decode(result.reply_audio).duration_s
                t = result.timings_ms
                rows.append(
                    {
                        **t,
                        "total": total,
                        "dur": result.transcript.duration_s,
                        "stt_rtf": t["stt"] / 1000 / result.transcript.duration_s,
                        "tts_rtf": t["tts"] / 1000 / reply_s,
                        "outside": 100 * (total - sum(t.get(s, 0) for s in INFERENCE)) / total,
                        "no_llm": total - t.get("llm", 0),
                    }
                )
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(
                f"{label:>5} {med['dur']:6.1f} "
                + " ".join(f"{med.get(s, 0):8.0f}" for s in STAGES)
                + f" {med['total']:8.0f} {med['stt_rtf']:8.3f} {med['tts_rtf']:8.3f} {med['outside']:8.1f}"
                + f" {med['no_llm']:8.0f}"
            )
        firsts = []
        for _ in range(max(runs, 5)):
            start = time.perf_counter()
            async for _clip in runtime.synthesizer.stream(
                "Thanks for your message. A three kilowatt system costs about one point nine lakh rupees."
            ):
                firsts.append((time.perf_counter() - start) * 1000)
                break
        print(f"\nTTS first audio: median {statistics.median(firsts):.0f} ms over {len(firsts)} runs")
        print(
            f"peak RSS: worker {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
            f"embedded LLM server {_rss_mb(runtime.llm_pid):.0f} MB"
        )
    print(
        "times in ms, medians; 'outside%' = share of the turn outside STT/LLM/TTS inference; "
        "'no-LLM' = turn time excluding the LLM call"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.turn")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--audio-dir", type=Path, default=ROOT.parent / "shared" / "audio")
    args = parser.parse_args()
    asyncio.run(bench(args.audio_dir, args.runs))


if __name__ == "__main__":
    main()
