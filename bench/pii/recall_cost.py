"""`python -m bench.pii.recall_cost`: what the issue-17 detectors cost, as messages per CPU-second on one core,
the engine with and without them over the development set's messages, alternated in one run (5 rounds,
median), so that a busy machine slows both alike."""

from __future__ import annotations

import statistics
import time

from bench.pii.dataset import build_dataset
from pipelines.pii import Minimizer, default_detectors
from pipelines.pii.recall import recall_detectors

ROUNDS = 5


def _per_cpu_second(minimizer: Minimizer, texts: list[str]) -> float:
    started = time.process_time()
    for text in texts:
        minimizer.scan(text)
    return len(texts) / (time.process_time() - started)


def main() -> None:
    texts = [e.text for e in build_dataset()]
    added = {type(d) for d in recall_detectors()}
    with_recall = Minimizer()
    without = Minimizer([d for d in default_detectors() if type(d) not in added])
    with_recall.scan("Naam: Kwame Mensah, born 5 May 1990")  # load the lexicons
    rates: dict[str, list[float]] = {"without the issue-17 detectors": [], "with them (default)": []}
    for _ in range(ROUNDS):
        rates["without the issue-17 detectors"].append(_per_cpu_second(without, texts))
        rates["with them (default)"].append(_per_cpu_second(with_recall, texts))
    print(f"{len(texts)} development messages, messages per CPU-second, median of {ROUNDS} alternated rounds")
    for name, values in rates.items():
        print(f"  {name:32} {statistics.median(values):8,.0f}")


if __name__ == "__main__":
    main()
