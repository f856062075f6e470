"""`python -m bench.pii`: build the labelled set, run our engine and the Presidio baseline, print the report.

Options: --examples N prints N leaked examples per type for our engine; --seed/--size change the dataset;
--no-baseline skips Presidio (its spaCy pipeline is most of the run time). Besides the scores, ours is timed
as 30-turn conversations against the same messages alone, and shown against the issue's targets. The
held-out set (bench/pii/heldout: generated from separately written templates, plus hand-paraphrased messages)
is scored after the development set (and its hand-written examples, bench/pii/dev_handwritten.txt); its numbers
are the ones that say how the engine does on unseen phrasing.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.pii import report
from bench.pii.conversation import per_turn_cost
from bench.pii.dataset import DEFAULT_SEED, DEFAULT_SIZE, Example, build_dataset
from bench.pii.heldout.generate import build_heldout, handwritten
from bench.pii.heldout.report import held_out
from bench.pii.marked import read_marked
from bench.pii.presidio_baseline import PresidioBaseline, tune
from bench.pii.score import score
from bench.pii.systems import LeadcloseEngine, System, Unavailable, measure

CONVERSATION_MESSAGES = 600  # cut into 30-turn conversations for the per-turn cost


def _pin_one_core() -> str:
    """Throughput is per core: run on one CPU of those allowed (Linux); elsewhere say it is not pinned."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def _evaluate(system: System | Unavailable, dataset: list[Example]) -> report.Column:
    """Run and score one system; the baseline's score threshold is tuned first."""
    if isinstance(system, Unavailable):
        return report.Column(system.name, f"not run: {system.reason}")
    run = measure(system, dataset)
    if isinstance(system, PresidioBaseline):
        best, run, tried = tune(dataset, run)
        label = f"{system.name}@{best:.1f}"
        return report.Column(label, system.describe(), score(dataset, run), run, report.tuning(tried, best))
    return report.Column(system.name, system.describe(), score(dataset, run), run)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pii", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=0, metavar="N", help="leaked examples per type (ours)"
    )
    parser.add_argument(
        "--held-out-examples", type=int, default=0, metavar="N", help="leaked held-out examples per type"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--no-baseline", action="store_true", help="skip Presidio")
    args = parser.parse_args(argv)

    pinned = _pin_one_core()
    started = time.perf_counter()
    dataset = build_dataset(args.seed, args.size)
    # Ours is timed before the baseline is loaded: spaCy's objects would slow every garbage collection.
    engine = LeadcloseEngine.load()
    columns = [_evaluate(engine, dataset)]
    held = [("generated", build_heldout()), ("by hand", handwritten())]
    held_columns = [(name, data, _evaluate(engine, data)) for name, data in held]
    by_hand = read_marked(
        "bench.pii", "dev_handwritten.txt", first_id=200_000
    )  # development: used while tuning
    by_hand_column = _evaluate(engine, by_hand)
    ours = columns[0]
    cost = None
    if ours.scores is not None and isinstance(engine, LeadcloseEngine):
        cost = per_turn_cost(engine.minimizer, [e.text for e in dataset[:CONVERSATION_MESSAGES]])
    if not args.no_baseline:
        columns.append(_evaluate(PresidioBaseline.load(), dataset))

    print("PII bench: span P/R/F1 per type (overlap + same type), character leak, false alarms, speed")
    print(*report.describe_dataset(dataset, args.seed), sep="\n")
    print(*report.compare(dataset, columns), sep="\n")
    print()
    print(*report.leak_by_type(columns), sep="\n")
    print()
    print(*report.decoys(columns), sep="\n")
    if ours.scores is not None:
        print()
        print(*report.targets(ours.scores, cost), sep="\n")
    print()
    if by_hand_column.run and by_hand_column.scores:
        dev_title = "DEVELOPMENT, BY HAND (bench/pii/dev_handwritten.txt: used while tuning)"
        print(*held_out([("dev", by_hand, by_hand_column.run, by_hand_column.scores)], dev_title), sep="\n")
        print()
    print(*held_out([(n, d, c.run, c.scores) for n, d, c in held_columns if c.run and c.scores]), sep="\n")
    print(f"\ntimings on one core ({pinned}); whole run {time.perf_counter() - started:.0f} s")
    if args.examples and ours.run is not None:
        print()
        print(*report.leaked_examples(dataset, ours.run, args.examples), sep="\n")
    if args.held_out_examples:  # for reading after a change, never while tuning one
        for name, data, column in held_columns:
            if column.run is not None:
                print(f"\nheld out, {name}:")
                print(*report.leaked_examples(data, column.run, args.held_out_examples), sep="\n")


if __name__ == "__main__":
    main()
