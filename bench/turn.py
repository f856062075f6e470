"""Per-stage time and real-time factor of a voice-note turn on the offline defaults, sequential and pipelined.

Runs the real pipeline (PyAV, faster-whisper tiny.en int8, the embedded llama.cpp SmolLM2 server, Piper)
on 5 s, 10 s, 30 s and 118 s notes from the shared corpus, `--runs` times each, both ways in the same process,
alternating: `sequential` asks the LLM for the whole reply, then speaks it (the turn before issue 19);
`pipelined` streams the reply and speaks each sentence while the model writes the next (what the worker does).
Prints medians, the share of a turn spent outside model inference, the time from the LLM's last token to the
finished voice note ('after LLM': the part of speaking on the critical path), TTS first-audio latency and peak
memory. The LLM's answers differ run to run (sampling), so compare 'after LLM', not totals.

`--pair`: two pipelined turns at once (a worker with concurrency 2), the second started `PAIR_STAGGER_S`
after the first, so one note's STT runs while the other's LLM and TTS do: what inference thread counts
(`LEADCLOSE_STT_THREADS`, `LEADCLOSE_TTS_THREADS`, `LEADCLOSE_LLM_THREADS`) are about. Thread counts are
set when the models load, so compare settings in separate processes, alternating (docs/latency.md).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from pathlib import Path

from agent.engines.runtime import open_runtime
from agent.settings import load_settings
from agent.tenants.registry import load_tenant, turn_config
from pipelines.audio import decode, encode_voice_note
from pipelines.turn import Conversation, StageTimes, TurnConfig, TurnRunner, per_stage_ms

ROOT = Path(__file__).resolve().parent.parent
NOTES = {
    "5s": "en/1089-134686-0004.flac",  # re-encoded below as an OGG/Opus voice note
    "10s": "ogg/1089-134686-0000.ogg",
    "30s": "ogg/voicenote_30s_1089-134686.ogg",
    "118s": "ogg/voicenote_118s_1089-134686.ogg",
}
STAGES = ("decode", "stt", "pii", "llm", "restore", "tts")
PAIR_STAGGER_S = 0.5
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


async def _turn(runner: TurnRunner, data: bytes, config: TurnConfig, *, pipelined: bool) -> dict[str, float]:
    """One voice-note turn; its stage times (ms), 'after_llm' and the reply's duration."""
    start = time.perf_counter()
    times = StageTimes()
    transcript = await runner.transcribe(data, times)
    voice = runner.voice
    result = await runner.answer(
        transcript.text, Conversation(), config, times, voice=(lambda _text: voice) if pipelined else None
    )
    if result.reply_audio is None:  # sequential, or the reply became a fixed text
        llm_done = time.perf_counter()
        audio = await runner.speak(result.reply_text, times)
        after_llm = (time.perf_counter() - llm_done) * 1000
    timings = per_stage_ms(times.frozen())
    if result.reply_audio is not None:
        audio, after_llm = result.reply_audio, timings["tts"]
    total = (time.perf_counter() - start) * 1000
    reply_s = decode(audio).duration_s
    return {
        **timings,
        "total": total,
        "after_llm": after_llm,
        "dur": transcript.duration_s,
        "reply_s": reply_s,
        "stt_rtf": timings["stt"] / 1000 / transcript.duration_s,
        "outside": 100 * (total - sum(timings.get(s, 0) for s in INFERENCE)) / total,
        "no_llm": total - timings.get("llm", 0),
    }


async def _pair(runner: TurnRunner, data: bytes, config: TurnConfig) -> list[dict[str, float]]:
    """Two pipelined turns of the same note, the second `PAIR_STAGGER_S` after the first."""

    async def later() -> dict[str, float]:
        await asyncio.sleep(PAIR_STAGGER_S)
        return await _turn(runner, data, config, pipelined=True)

    return list(await asyncio.gather(_turn(runner, data, config, pipelined=True), later()))


async def bench(audio_dir: Path, runs: int, notes: list[str], *, pair: bool = False) -> None:
    settings = load_settings()
    folder = settings.prompts_dir / "default"
    config = turn_config(load_tenant(folder), folder)
    async with open_runtime(settings) as runtime:
        runner = runtime.runner
        await runner.voice_note(_note(audio_dir, NOTES["5s"]), Conversation(), config)  # warm-up
        print(
            f"threads: STT {settings.stt_threads}, TTS {settings.tts_threads}, LLM {settings.llm_threads} "
            "(0: the library's default)"
        )
        if pair:
            await _pairs(runner, audio_dir, runs, notes, config)
            return
        print(
            f"{'note':>5} {'way':>10} {'dur s':>6} "
            + " ".join(f"{s:>7}" for s in STAGES)
            + f" {'total':>7} {'after LLM':>9} {'reply s':>7} {'stt RTF':>7} {'outside%':>8} {'no-LLM':>7}"
        )
        for label in notes:
            data = _note(audio_dir, NOTES[label])
            rows: dict[str, list[dict[str, float]]] = {"sequential": [], "pipelined": []}
            for _ in range(runs):
                for way in rows:  # alternating, so both see the same machine state
                    rows[way].append(await _turn(runner, data, config, pipelined=way == "pipelined"))
            for way, got in rows.items():
                med = {k: statistics.median(r.get(k, 0.0) for r in got) for k in got[0]}
                print(
                    f"{label:>5} {way:>10} {med['dur']:6.1f} "
                    + " ".join(f"{med.get(s, 0):7.0f}" for s in STAGES)
                    + f" {med['total']:7.0f} {med['after_llm']:9.0f} {med['reply_s']:7.1f}"
                    + f" {med['stt_rtf']:7.3f} {med['outside']:8.1f} {med['no_llm']:7.0f}"
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
        "times in ms, medians; pipelined: 'llm' = until the last token, 'tts' = speaking after it (encoding "
        "included); sequential: 'tts' includes encoding of all but the last sentence. 'after LLM' = last token "
        "→ voice note ready; 'outside%' = share of the turn outside STT/LLM/TTS inference; 'no-LLM' = turn "
        "time excluding the LLM call"
    )


async def _pairs(
    runner: TurnRunner, audio_dir: Path, runs: int, notes: list[str], config: TurnConfig
) -> None:
    print(
        f"{'note':>5} {'pair':>10} {'stt':>7} {'llm':>7} {'tts':>7} {'total':>7} {'after LLM':>9} {'no-LLM':>7}"
    )
    for label in notes:
        data = _note(audio_dir, NOTES[label])
        got = [row for _ in range(runs) for row in await _pair(runner, data, config)]
        keys = ("stt", "llm", "tts", "total", "after_llm", "no_llm")
        med = {k: statistics.median(r.get(k, 0.0) for r in got) for k in keys}
        print(
            f"{label:>5} {'2 at once':>10} "
            + " ".join(f"{med[k]:{9 if k == 'after_llm' else 7}.0f}" for k in keys)
        )
    print("times in ms, medians over both turns of every pair")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.turn")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--notes", default=",".join(NOTES), help="which notes, comma-separated")
    parser.add_argument("--audio-dir", type=Path, default=ROOT.parent / "shared" / "audio")
    parser.add_argument("--pair", action="store_true", help="two turns at once (see the module's doc)")
    args = parser.parse_args()
    asyncio.run(bench(args.audio_dir, args.runs, args.notes.split(","), pair=args.pair))


if __name__ == "__main__":
    main()
