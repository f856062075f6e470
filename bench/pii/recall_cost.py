"""`python -m bench.pii.recall_cost`: what the issue-17 detectors cost, as messages per CPU-second on one core,
and the 95th percentile per message, the engine with and without them over the development set's messages,
alternated in one run (5 rounds, median), so that a busy machine slows both alike."""

from __future__ import annotations

import statistics
import time

from bench.pii.dataset import build_dataset
from pipelines.pii import Minimizer, default_detectors
from pipelines.pii.recall import recall_detectors

ROUNDS = 5


def _run(minimizer: Minimizer, texts: list[str]) -> tuple[float, float]:
    """Messages per CPU-second, and the 95th percentile of CPU time per message in ms."""
    times = []
    for text in texts:
        started = time.thread_time()
        minimizer.scan(text)
        times.append(time.thread_time() - started)
    return len(texts) / sum(times), 1000 * statistics.quantiles(times, n=100)[94]


def main() -> None:
    texts = [e.text for e in build_dataset()]
    added = {type(d) for d in recall_detectors()}
    with_recall = Minimizer()
    without = Minimizer([d for d in default_detectors() if type(d) not in added])
    with_recall.scan("Naam: Kwame Mensah, born 5 May 1990")  # load the lexicons
    runs: dict[str, list[tuple[float, float]]] = {
        "without the issue-17 detectors": [],
        "with them (default)": [],
    }
    for _ in range(ROUNDS):
        runs["without the issue-17 detectors"].append(_run(without, texts))
        runs["with them (default)"].append(_run(with_recall, texts))
    print(f"{len(texts)} development messages, CPU time on one thread, median of {ROUNDS} alternated rounds")
    for name, values in runs.items():
        rate = statistics.median(r for r, _ in values)
        p95 = statistics.median(p for _, p in values)
        print(f"  {name:32} {rate:8,.0f} msgs/s   p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
