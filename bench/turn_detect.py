"""Smart Turn v3 on the labelled pause set (bench/pauses.py): precision and recall of "finished", per language,
for the asks in use and the alternatives, against silence alone, and the wait each adds to a finished turn.

A pause is judged at each ask (seconds of silence, threshold): the first ask at or above its threshold ends the
turn, which takes effect no sooner than the policy's floor (the VAD's 0.3 s, or the answer floor in use); a
turn no ask ends waits for the session's maximum. "+ text" rows also apply the calls' transcript check: what
tiny.en (the calls' window) writes for the speech is never a turn's end when it stops where a sentence cannot
(`reads_unfinished`).
A mid-sentence pause is a caller cut off when it is judged finished and that takes effect before the reader
goes on; an ask later than the pause is never made (the caller is talking again).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from agent.calls.loaded import ANSWER_AFTER_S, END_OF_SPEECH_SILENCE_S, MAX_TURN_WAIT_S, TURN_ASKS
from agent.settings import CALL_STT_WINDOW_S
from bench.pauses import TurnSample, turn_samples
from pipelines.audio import STT_SAMPLE_RATE, Pcm
from pipelines.stt import WhisperTranscriber, load_whisper
from pipelines.turn_end import SmartTurn, reads_unfinished

Asks = tuple[tuple[float, float], ...]
# (asks, no answer sooner than this after the speech)
POLICIES: dict[str, tuple[Asks, float]] = {
    "silence only": (((0.0, 0.0),), END_OF_SPEECH_SILENCE_S),
    "last session: 0.2 s ≥ 0.5, answer ≥ 0.6 s": (((0.2, 0.5),), 0.6),
    "0.2 s ≥ 0.5": (((0.2, 0.5),), END_OF_SPEECH_SILENCE_S),
    "0.2 s ≥ 0.7": (((0.2, 0.7),), END_OF_SPEECH_SILENCE_S),
    "0.2 s ≥ 0.7, 0.6 s ≥ 0.5": (((0.2, 0.7), (0.6, 0.5)), END_OF_SPEECH_SILENCE_S),
    "0.2 s ≥ 0.7, 0.6 s ≥ 0.5, answer ≥ 0.6 s": (((0.2, 0.7), (0.6, 0.5)), 0.6),
}


def _decided_at(
    asks: Asks, floor_s: float, probs: dict[float, float | None], *, vetoed: bool = False
) -> float | None:
    """When the turn is judged finished (seconds after the speech), or None (no ask ends it)."""
    if vetoed:
        return None
    for after_s, threshold in asks:
        p = probs[after_s]
        if p is None:
            return None  # the reader went on before this ask
        if p >= threshold:
            return max(after_s, floor_s)
    return None


def _row(
    policy: tuple[Asks, float],
    samples: list[TurnSample],
    probs: list[dict[float, float | None]],
    vetoes: list[bool],
) -> tuple[float, ...]:
    tp = fp = fn = 0
    waits = []
    for sample, p, vetoed in zip(samples, probs, vetoes, strict=True):
        at = _decided_at(*policy, p, vetoed=vetoed)
        if sample.finished:
            tp += at is not None
            fn += at is None
            waits.append(at if at is not None else MAX_TURN_WAIT_S)
        else:
            fp += at is not None and at < len(sample.pause) / 16_000
    mids = sum(not s.finished for s in samples)
    added = [w - END_OF_SPEECH_SILENCE_S for w in waits]
    return (
        tp / max(1, tp + fp),
        tp / max(1, tp + fn),
        fp / max(1, mids),
        float(np.mean(added)),
        float(np.median(added)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.turn_detect")
    parser.add_argument("--per-language", type=int, default=30, help="clips per language")
    args = parser.parse_args()
    model = SmartTurn.load()
    samples = turn_samples(args.per_language)
    model.finished(samples[0].samples)  # warm-up
    in_use = "in use: " + ", ".join(f"{a} s ≥ {t}" for a, t in TURN_ASKS) + f", answer ≥ {ANSWER_AFTER_S} s"
    policies = {
        **POLICIES,
        in_use: (TURN_ASKS, ANSWER_AFTER_S),
        in_use + " + text": (TURN_ASKS, ANSWER_AFTER_S),
    }
    times = sorted({a for asks, _ in policies.values() for a, _ in asks if a > 0})
    probs: list[dict[float, float | None]] = []
    ms = []
    for s in samples:
        row: dict[float, float | None] = {0.0: 1.0}
        for t in times:
            heard = s.heard_at(t)
            start = time.perf_counter()
            row[t] = None if heard is None else model.finished(heard)
            ms.append((time.perf_counter() - start) * 1000)
        probs.append(row)
    ear = WhisperTranscriber(load_whisper("tiny.en", window_s=CALL_STT_WINDOW_S))
    vetoes = [reads_unfinished(ear.transcribe(Pcm(s.samples, STT_SAMPLE_RATE)).text) for s in samples]
    for lang in ("en", "hi"):
        n_end = sum(s.finished for s in samples if s.language == lang)
        n_mid = sum(not s.finished for s in samples if s.language == lang)
        print(f"{lang}: {n_end} ends, {n_mid} mid-sentence pauses")
    print(f"inference: median {statistics.median(ms):.0f} ms (one thread), 8 s window\n")
    print(
        f"{'asks':<52} {'lang':>4} {'P(fin)':>7} {'R(fin)':>7} {'cut off':>8} {'added mean':>11} {'added p50':>10}"
    )
    for lang in ("en", "hi", "all"):
        idx = [i for i, s in enumerate(samples) if lang in ("all", s.language)]
        for name, policy in policies.items():
            text = name.endswith("+ text")
            p, r, cut, mean, p50 = _row(
                policy,
                [samples[i] for i in idx],
                [probs[i] for i in idx],
                [text and vetoes[i] for i in idx],
            )
            print(f"{name:<52} {lang:>4} {p:7.2f} {r:7.2f} {100 * cut:7.0f}% {mean:10.2f}s {p50:9.2f}s")
        print()
    print(
        f"'cut off': share of mid-sentence pauses judged finished before the reader went on; 'added': wait of a "
        f"finished turn beyond silence alone's {END_OF_SPEECH_SILENCE_S:.1f} s (a turn no ask ends waits "
        f"{MAX_TURN_WAIT_S:.1f} s after the speech)"
    )


if __name__ == "__main__":
    main()
