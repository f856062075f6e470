"""Smart Turn v3 on the labelled pause set (bench/pauses.py): precision and recall of "finished", per language
and threshold, against silence alone, and the latency the model adds to a finished turn.

A finished turn the model calls unfinished waits for the session's maximum delay instead of answering after
the VAD's silence: that wait, times the share of missed ends, plus any inference time that outlasts the
VAD's remaining silence, is the latency it adds. A mid-sentence pause it calls finished is a caller cut off.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from agent.calls.loaded import END_OF_SPEECH_SILENCE_S, MAX_TURN_WAIT_S, TURN_THRESHOLD
from bench.pauses import ASKED_AFTER_S, turn_samples
from pipelines.turn_end import SmartTurn


def _row(name: str, said: list[bool], truth: list[bool]) -> tuple[str, float, float, float]:
    tp = sum(s and t for s, t in zip(said, truth, strict=True))
    fp = sum(s and not t for s, t in zip(said, truth, strict=True))
    fn = sum(t and not s for s, t in zip(said, truth, strict=True))
    cut = fp / max(1, sum(not t for t in truth))
    return name, tp / max(1, tp + fp), tp / max(1, tp + fn), cut


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.turn_detect")
    parser.add_argument("--per-language", type=int, default=30, help="clips per language")
    args = parser.parse_args()
    model = SmartTurn.load()
    samples = turn_samples(args.per_language)
    model.finished(samples[0].samples)  # warm-up
    probs, ms = [], []
    for s in samples:
        start = time.perf_counter()
        probs.append(model.finished(s.samples))
        ms.append((time.perf_counter() - start) * 1000)
    infer_ms = statistics.median(ms)
    for lang in ("en", "hi"):
        n_end = sum(s.finished for s in samples if s.language == lang)
        n_mid = sum(not s.finished for s in samples if s.language == lang)
        print(f"{lang}: {n_end} ends, {n_mid} mid-sentence pauses")
    print(f"inference: median {infer_ms:.0f} ms (one thread), 8 s window\n")
    slack_ms = (END_OF_SPEECH_SILENCE_S - ASKED_AFTER_S) * 1000  # asked at 0.2 s silence, VAD ends at 0.3 s
    miss_wait_s = MAX_TURN_WAIT_S - END_OF_SPEECH_SILENCE_S
    print(
        f"{'detector':<24} {'lang':>4} {'P(fin)':>7} {'R(fin)':>7} {'cut off':>8} {'added mean':>11} {'added p50':>10}"
    )
    thresholds = sorted({0.3, 0.5, TURN_THRESHOLD, 0.7, 0.8})
    for lang in ("en", "hi", "all"):
        idx = [i for i, s in enumerate(samples) if lang in ("all", s.language)]
        truth = [samples[i].finished for i in idx]
        rows = [_row("silence only (0.3 s)", [True] * len(idx), truth)]
        rows += [_row(f"smart turn ≥ {t:.2f}", [probs[i] >= t for i in idx], truth) for t in thresholds]
        for k, (name, p, r, cut) in enumerate(rows):
            added = (
                [0.0]
                if k == 0
                else [
                    max(0.0, infer_ms - slack_ms) / 1000
                    + (0.0 if probs[i] >= thresholds[k - 1] else miss_wait_s)
                    for i in idx
                    if samples[i].finished
                ]
            )
            print(
                f"{name:<24} {lang:>4} {p:7.2f} {r:7.2f} {100 * cut:7.0f}% {np.mean(added):10.2f}s"
                f" {np.median(added):9.2f}s"
            )
        print()
    print(
        f"'cut off': share of mid-sentence pauses called finished (the agent would answer into the pause); "
        f"a missed end waits {MAX_TURN_WAIT_S:.1f} s after the speech instead of {END_OF_SPEECH_SILENCE_S:.1f} s; "
        f"threshold in use: {TURN_THRESHOLD:.2f}"
    )


if __name__ == "__main__":
    main()
