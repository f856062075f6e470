"""Calls: end of the caller's speech → the agent's first audio, CPU per call, and concurrent calls per process.

Everything runs on loopback, as in tests/agent/calls: signed `connect` webhooks into the real app, the real call
worker with tiny.en, Piper and Silero VAD, the local Graph API peer and a local OpenAI-compatible peer answering
in ~50 ms and then writing the reply at `--token-ms` per word (streamed as server-sent events); aiortc callers
speak corpus clips at real-time pace. Latency is measured where a person would feel it,
at the caller: from the end of the clip's speech (trailing silence in the file is subtracted) to the first
audible agent frame, after Opus, RTP and the agent's 20 ms pacing. The callers run in the same process, so the
CPU figures include the callers' own Opus work and pacing (an overestimate of the agent's share).

Each run compares end of turn by silence alone with Smart Turn (same process, same machine state), and counts
on the pause set (English clips of bench/pauses.py with an inner pause of ≥ 0.3 s, said whole) how often the
agent started speaking before the caller had finished.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from agent.calls.call import CallConfig
from agent.calls.loaded import END_OF_SPEECH_SILENCE_S, CallModels, load_turn_model
from agent.settings import CALL_STT_WINDOW_S
from bench.pauses import speech_of
from pipelines.audio import STT_SAMPLE_RATE, decode
from pipelines.pii import Minimizer, PiiGuard
from pipelines.stt import WhisperTranscriber, load_whisper
from pipelines.tts import PiperSynthesizer, load_piper
from tests.agent.calls.caller import RATE, Caller, to_call_rate
from tests.agent.calls.stack import CallStack, call_stack
from tests.agent.stack import TOKEN, TOKEN_ENV
from tests.conftest import redis_client
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT.parent / "shared" / "audio"
SHORT_REPLY = "Sure. We are open from nine to six, Monday to Saturday."
LONG_REPLY = " ".join(["We deliver every afternoon, and orders placed before noon arrive the next day."] * 6)


def _clips(max_s: float = 5.0) -> list[np.ndarray]:
    rows = [json.loads(line) for line in (AUDIO / "manifest.jsonl").read_text().splitlines()]
    picked = [r for r in rows if r["language"] == "en" and 1.5 <= float(r["duration_s"]) <= max_s]
    return [to_call_rate(decode((AUDIO / r["file"]).read_bytes())) for r in picked]


def _paused_clips(max_s: float = 12.0) -> list[np.ndarray]:
    """English clips with an inner pause the VAD alone ends a turn at (≥ 0.3 s, ≥ 1 s from either end)."""
    rows = [json.loads(line) for line in (AUDIO / "manifest.jsonl").read_text().splitlines()]
    out = []
    for r in rows:
        if r["language"] != "en" or not r["file"].startswith("en/") or float(r["duration_s"]) > max_s:
            continue
        pcm = decode((AUDIO / r["file"]).read_bytes())
        speech = speech_of(pcm.samples)
        second = STT_SAMPLE_RATE
        if any(a - speech.start >= second and speech.end - b >= second for a, b in speech.pauses):
            out.append(to_call_rate(pcm))
    return out


async def _pauses(stack: CallStack, call_id: str, clips: list[np.ndarray]) -> tuple[int, int]:
    """(turns the agent started speaking in before the caller had finished, turns said)."""
    cut = said = 0
    async with stack.call(call_id) as caller:
        await caller.wait_quiet(0.6)
        for clip in clips:
            started = time.monotonic()
            try:
                answer = await caller.turn(clip, quiet_s=0.6, within_s=10.0)
            except TimeoutError:
                continue
            said += 1
            first = caller.first_speech_after(started)
            cut += first is not None and first < answer.said_until - _trailing_silence_s(clip)
    return cut, said


def _loud_frames(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """Indexes of the clip's 10 ms frames that carry speech, and the number of frames."""
    frames = samples[: len(samples) // 480 * 480].reshape(-1, 480).astype(np.float64)
    return np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 500), len(frames)


def _trailing_silence_s(samples: np.ndarray) -> float:
    loud, n = _loud_frames(samples)
    return 0.0 if not len(loud) else (n - loud[-1] - 1) * 480 / RATE


def _leading_silence_s(samples: np.ndarray) -> float:
    loud, _ = _loud_frames(samples)
    return 0.0 if not len(loud) else loud[0] * 480 / RATE


def _stage_means(metrics: Any) -> str:
    out = []
    for family in (*metrics.call_stage_seconds.collect(), *metrics.call_response_seconds.collect()):
        sums: dict[str, float] = {}
        counts: dict[str, float] = {}
        for sample in family.samples:
            key = sample.labels.get("stage", "response")
            if sample.name.endswith("_sum"):
                sums[key] = sample.value
            elif sample.name.endswith("_count"):
                counts[key] = sample.value
        out += [f"{k} {sums[k] / counts[k]:.2f} s" for k in sums if counts.get(k)]
    return ", ".join(out)


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def _talk(stack: CallStack, call_id: str, clips: list[np.ndarray], turns: int) -> list[float]:
    latencies = []
    async with stack.call(call_id) as caller:
        await caller.wait_quiet(0.6)
        for i in range(turns):
            clip = clips[i % len(clips)]
            try:
                answer = await caller.turn(clip, quiet_s=0.6, within_s=10.0)
            except TimeoutError:
                print(f"  {call_id}: no answer to turn {i} (nothing understood)", flush=True)
                continue
            latencies.append(answer.start - (answer.said_until - _trailing_silence_s(clip)))
    return latencies


async def _barge_in(stack: Any, mode: dict[str, str], clips: list[np.ndarray], trials: int) -> list[float]:
    caller = Caller()
    await stack.ring(caller, "wacid.barge")
    await caller.wait_quiet(0.6)
    cuts = []
    for i in range(trials):
        mode["reply"] = LONG_REPLY
        try:
            await caller.answer_starts(await caller.say(clips[i % len(clips)]), 10.0)
        except TimeoutError:
            continue
        await asyncio.sleep(1.0)
        mode["reply"] = SHORT_REPLY
        barge = clips[(i + 1) % len(clips)]
        barge_at = time.monotonic() + _leading_silence_s(barge)  # when the caller's voice starts
        await caller.say(barge)
        # Stopped: the start of half a second without agent speech (longer than its pauses between sentences).
        quiet = next(
            (
                h.at
                for j, h in enumerate(caller.heard)
                if h.at > barge_at and not h.speech and not any(x.speech for x in caller.heard[j : j + 25])
            ),
            None,
        )
        if quiet is not None:
            cuts.append(quiet - barge_at)
        await caller.wait_quiet(0.6)
    await stack.hang_up(caller, "wacid.barge")
    return cuts


async def run(
    turns: int, levels: list[int], trials: int, token_s: float, window_s: float, detectors: list[str]
) -> None:
    os.environ[TOKEN_ENV] = TOKEN
    clips, paused = _clips(), _paused_clips()
    from livekit.plugins import silero

    smart = CallModels(
        WhisperTranscriber(load_whisper("tiny.en", window_s=window_s)),
        PiperSynthesizer(load_piper()),
        silero.VAD.load(min_silence_duration=END_OF_SPEECH_SILENCE_S),
        ThreadPoolExecutor(max_workers=2),
        PiiGuard(Minimizer(), ThreadPoolExecutor(max_workers=1)),
        load_turn_model(),
        ThreadPoolExecutor(max_workers=1),
    )
    for detector in detectors:
        if detector == "silence":
            models = dataclasses.replace(smart, turn_model=None)
        elif detector == "smart":
            models = smart
        else:
            asks = tuple((float(a), float(b)) for a, b in (x.split(":") for x in detector.split("/")))
            models = dataclasses.replace(smart, turn_asks=asks)
        print(f"--- end of turn: {detector}", flush=True)
        await _run_levels(models, clips, paused, turns, levels, trials, token_s)
    smart.close()


async def _run_levels(
    models: CallModels,
    clips: list[np.ndarray],
    paused: list[np.ndarray],
    turns: int,
    levels: list[int],
    trials: int,
    token_s: float,
) -> None:
    mode = {"reply": SHORT_REPLY}
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        redis = redis_client(server.url)
        try:
            for n in levels:
                await redis.flushdb()
                async with call_stack(
                    redis,
                    server.url,
                    models,
                    reply=lambda _: mode["reply"],
                    capacity=max(levels),
                    config=CallConfig(silence_timeout_s=120.0),
                ) as stack:
                    stack.llm.delay_s = 0.05
                    stack.llm.token_delay_s = token_s
                    per_call = max(3, turns // n) if n > 1 else turns
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    results = await asyncio.gather(
                        *(_talk(stack, f"wacid.b{n}.{k}", clips[k:] + clips[:k], per_call) for k in range(n))
                    )
                    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                    lat = [x for r in results for x in r]
                    print(
                        f"calls={n}  turns={len(lat):3d}  first agent audio after end of speech: "
                        f"p50 {_pct(lat, 50):.2f} s  p95 {_pct(lat, 95):.2f} s  max {max(lat):.2f} s  |  "
                        f"process CPU {cpu / wall:.2f} cores ({cpu / wall / n:.2f} per call)",
                        flush=True,
                    )
                    print(f"  each turn (s): {' '.join(f'{x:.2f}' for x in sorted(lat))}", flush=True)
                    print(f"  service side (means): {_stage_means(stack.metrics)}", flush=True)
                    if n == levels[0] and paused:
                        cut, said = await _pauses(stack, "wacid.pauses", paused)
                        print(
                            f"pause set: the agent spoke before the caller had finished in {cut}/{said} turns",
                            flush=True,
                        )
                    if n == levels[0] and trials:
                        cuts = await _barge_in(stack, mode, clips, trials)
                        print(
                            f"barge-in: caller starts talking → agent audio stops: "
                            f"p50 {_pct(cuts, 50):.2f} s  max {max(cuts, default=float('nan')):.2f} s "
                            f"({len(cuts)}/{trials} trials cut)",
                            flush=True,
                        )
        finally:
            await redis.aclose()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20, help="turns of the single call (the p50/p95 sample)")
    parser.add_argument("--levels", default="1,2,3", help="concurrent calls to try, comma-separated")
    parser.add_argument("--barge-trials", type=int, default=5)
    parser.add_argument(
        "--stt-window-s", type=float, default=CALL_STT_WINDOW_S, help="whisper's window (30 = Whisper's own)"
    )
    parser.add_argument(
        "--turn",
        default="silence,smart",
        help="end-of-turn detectors to compare: silence, smart (the asks in use) or asks such as 0.2:0.5/0.6:0.5",
    )
    parser.add_argument(
        "--token-ms", type=float, default=25.0, help="the LLM peer's pace per word of a reply"
    )
    args = parser.parse_args()
    print(
        f"calls bench: {os.cpu_count()} cores, LLM peer answering in 50 ms + {args.token_ms:.0f} ms per word, "
        f"tiny.en ({args.stt_window_s:.0f} s window) + Piper + Silero"
    )
    levels = [int(x) for x in args.levels.split(",")]
    asyncio.run(
        run(
            args.turns,
            levels,
            args.barge_trials,
            args.token_ms / 1000,
            args.stt_window_s,
            args.turn.split(","),
        )
    )


if __name__ == "__main__":
    main()
