"""`python -m bench.hostile`: the PII engine's worst case, by class of hostile text.

Generates adversarial strings by class (repeated letters of each script, whitespace and newline runs,
separators, spelt letter/digit runs, digit runs, spoken-number runs in English/Hinglish/Hindi, e-mail- and
UPI-like runs, zero-width and bidi controls, mixed scripts, and the examples of issue 12) at sizes 64 to
4,096 characters (WhatsApp's text limit), plus a 10-minute voice note's transcript (~1,500 words), and
reports the worst time per class and per detector. Every case runs in a child process with a per-call
timeout, so a catastrophic case is reported as "> N s" instead of hanging the bench (and a detector that
timed out in a class is not tried on longer texts of that class).

Each call runs once, cold, as a hostile message would. Times are CPU time of that call (what one core
spends on it; the machine may be shared, see the load average printed); the timeout is wall-clock time.
Targets (DESIGN.md §6): ≤ 100 ms for any text up to 4,096 characters, ≤ 250 ms for the transcript.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from multiprocessing.connection import Connection

    from pipelines.pii import Detector, Span

SIZES = (64, 256, 1024, 4096)
TEXT_BUDGET_S = 0.100
TRANSCRIPT_BUDGET_S = 0.250
TRANSCRIPT_WORDS = 1500
SCAN = "scan (all)"  # Minimizer.scan: shadow, every detector, resolution
SHADOW = "spoken shadow"


def _fill(unit: str, size: int, prefix: str = "", suffix: str = "") -> str:
    """`prefix` + `unit` repeated + `suffix`, `size` characters in all (the run is cut to fit)."""
    room = max(0, size - len(prefix) - len(suffix))
    return prefix + (unit * (room // max(1, len(unit)) + 1))[:room] + suffix


def _shuffled(units: tuple[str, ...], size: int, seed: int) -> str:
    """Units drawn at random (seeded) until `size` characters: mixtures no single repeat covers."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        unit = rng.choice(units)
        parts.append(unit)
        length += len(unit)
    return "".join(parts)[:size]


_SEPARATORS = (",", ".", "-", "/", ":", "|", "_")

# class name -> text of a given size. Deterministic: the same text every run.
CLASSES: dict[str, Callable[[int], str]] = {
    # The examples.
    "issue: naam + क-run + !": lambda n: _fill("क", n, "naam ", "!"),
    "issue: flat + spaces + !": lambda n: _fill(" ", n, "flat", "!"),
    "issue: Pune + commas + x Mumbai": lambda n: _fill(",", n, "Pune", "x Mumbai"),
    "issue: 'a 1 ' repeated": lambda n: _fill("a 1 ", n),
    # Repeated letters of each script.
    "letters latin": lambda n: _fill("a", n),
    "letters latin + !": lambda n: _fill("A", n, "my name is ", "!"),
    "letters devanagari": lambda n: _fill("क", n),
    "devanagari + vowel signs": lambda n: _fill("कि", n, "मेरा नाम है ", "!"),
    "letters tamil/bengali/arabic": lambda n: _shuffled(("த", "ம", "ক", "ল", "ع", "ب"), n, 1),
    "words capitalized": lambda n: _fill("Ravi ", n, "I am "),
    "words after trigger": lambda n: _fill("naam ", n, "mera ", "x"),
    # Whitespace and newline runs.
    "spaces": lambda n: _fill(" ", n, "x", "x"),
    "newlines": lambda n: _fill("\n", n, "flat 12", "Pune"),
    "whitespace mixed": lambda n: _shuffled((" ", "\t", "\n", "\r\n", "\u00a0", "\u3000"), n, 2),
    "spaces between digits": lambda n: _fill("9 ", n),
    "spaces between words": lambda n: _fill("near  ", n, "flat 1 "),
    # Separators.
    **{
        f"separator '{sep}' run": (lambda s: lambda n: _fill(s, n, "Pune", "x Mumbai 411001"))(sep)
        for sep in _SEPARATORS
    },
    "separators between digits": lambda n: _shuffled(tuple(f"9{s}" for s in _SEPARATORS), n, 3),
    "separators between letters": lambda n: _shuffled(tuple(f"a{s}" for s in _SEPARATORS), n, 4),
    "separators + spaces": lambda n: _shuffled((", ", " ,", " - ", "/ ", " : ", "| ", " _"), n, 5),
    # Spelt letters and digits.
    "spelt letters/digits": lambda n: _shuffled(("A ", "B ", "1 ", "2 ", "x ", "9 "), n, 6),
    "spelt 'X for xray'": lambda n: _fill("a for apple ", n),
    "spelt capital letters": lambda n: _fill("capital a ", n),
    "spelt code-like": lambda n: _fill("F X V P H six seven two one ", n),
    # Digit runs.
    "digits": lambda n: _fill("9", n),
    "digits grouped": lambda n: _fill("98765 ", n),
    "digits dotted": lambda n: _fill("1.", n),
    "digits colon (ipv6-like)": lambda n: _fill("1:", n),
    "hex colon (ipv6-like)": lambda n: _fill("a:", n),
    "digits slash (date-like)": lambda n: _fill("12/", n, "born "),
    "script digits": lambda n: _fill("९", n),
    # Spoken numbers.
    "spoken english": lambda n: _fill("nine ", n),
    "spoken english mixed": lambda n: _shuffled(
        ("nine ", "double ", "oh ", "plus ", "ninety ", "eight, "), n, 7
    ),
    "spoken hinglish": lambda n: _shuffled(("nau ", "do ", "teen ", "atthanve ", "saat ", "bhej "), n, 8),
    "spoken hindi": lambda n: _shuffled(("नौ ", "दो ", "तीन ", "डबल ", "सात ", "अट्ठानवे "), n, 9),
    "spoken dates": lambda n: _fill("fifth of august nineteen ", n, "born "),
    "spoken dotted quad": lambda n: _fill("one dot ", n),
    # E-mail- and UPI-like runs.
    "email dots before @": lambda n: _fill("a.", n, "", "@gmail.com"),
    "email @ run": lambda n: _fill("a@", n),
    "email domain labels": lambda n: _fill("a.", n, "x@", "com"),
    "email hyphens": lambda n: _fill("a-", n, "x@"),
    "spoken email": lambda n: _fill("a dot ", n, "", "at the rate gmail dot com"),
    "spoken 'at' run": lambda n: _fill("at the rate ", n, "john "),
    "upi-like": lambda n: _fill("9-", n, "", "@ybl"),
    "upi spoken": lambda n: _fill("nine ", n, "", "at okaxis"),
    # Zero-width and bidi controls.
    "zero-width": lambda n: _fill("\u200b", n, "9876", "543210"),
    "zero-width between digits": lambda n: _fill("9\u200d", n),
    "bidi controls": lambda n: _shuffled(("\u202e", "\u202c", "\u2066", "\u2069", "\u200f", "9"), n, 10),
    # Mixed scripts.
    "mixed scripts": lambda n: _shuffled(("a", "क", "1", "९", " ", "ि", "@", "."), n, 11),
    "mixed tokens": lambda n: _shuffled(("flat ", "क ", "1 ", "near ", "Pune ", "road ", "#12 "), n, 12),
    # Address- and name-like runs.
    "address words": lambda n: _shuffled(
        ("flat 2 ", "near temple ", "MG Road, ", "sector 4 ", "Pune "), n, 13
    ),
    "landmarks": lambda n: _fill("near ", n, "", "x"),
    "hindi postpositions": lambda n: _fill("मंदिर ", n, "", "के पास"),
    "honorifics": lambda n: _fill("Mr ", n),
    "name pairs": lambda n: _fill("Ravi Kumar ", n),
    # Real values back to back: every one is parsed and validated (libphonenumber: ~0.2 ms a number).
    "values: phone numbers": lambda n: _fill("9876543210 ", n),
    "values: e-mails": lambda n: _fill("a@b.co ", n),
    "values: aadhaar": lambda n: _fill("2382 9583 5152 ", n),
}


def transcript(words: int = TRANSCRIPT_WORDS, seed: int = 14) -> str:
    """A 10-minute voice note's transcript: chat sentences and said numbers, e-mails, codes and addresses."""
    rng = random.Random(seed)
    sentences = (
        "Hi, I wanted to ask about the rooftop solar system for my house.",
        "My number is nine eight seven six five, four three two one zero.",
        "You can mail me at ravi dot kumar at the rate gmail dot com.",
        "The address is flat 302, Sai Heights, near Hanuman Mandir, Baner, Pune 411045.",
        "Mera naam Ravi Kumar hai aur mera PAN F X V P H six seven two one A hai.",
        "Double nine, triple five, atthanve sattasi nau aath.",
        "Born on the fifth of august nineteen ninety four.",
        "Kal subah das baje call karna please, main ghar pe rahunga.",
        "मेरा नंबर नौ आठ सात छह पांच चार तीन दो एक शून्य है।",
        "Send the invoice to UPI ravi at okaxis, order number 4512369870.",
    )
    out: list[str] = []
    count = 0
    while count < words:
        sentence = rng.choice(sentences)
        out.append(sentence)
        count += len(sentence.split())
    return " ".join(out)


@dataclass(frozen=True, slots=True)
class Result:
    case: str
    size: int
    detector: str
    seconds: float | None  # None: timed out
    timeout: float


def _probes() -> list[tuple[str, Callable[[str], object]]]:
    """Every detector alone, the spoken shadow, and the whole scan (what minimize() pays)."""
    from pipelines.pii import Minimizer, default_detectors
    from pipelines.pii.spoken import spoken_shadow

    minimizer = Minimizer()
    probes: list[tuple[str, Callable[[str], object]]] = [
        (type(d).__name__, partial(_find_all, d)) for d in default_detectors()
    ]
    probes.append((SHADOW, spoken_shadow))
    probes.append((SCAN, minimizer.scan))
    return probes


def _find_all(detector: Detector, text: str) -> list[Span]:
    return list(detector.find(text))


def _child(text: str, names: list[str], conn: Connection) -> None:
    probes = dict(_probes())
    for name in names:
        started = time.thread_time()  # CPU time: the machine may be shared, one core's work is the measure
        probes[name](text)
        conn.send((name, time.thread_time() - started))
    conn.close()


def _run_case(
    context: multiprocessing.context.BaseContext, case: str, text: str, names: list[str], timeout: float
) -> Iterator[Result]:
    """Each probe on `text` in a child; a probe past `timeout` is killed and reported, the rest go on."""
    pending = list(names)
    while pending:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(text, pending, sender), daemon=True)  # type: ignore[attr-defined]
        child.start()
        sender.close()
        while pending:
            if not receiver.poll(timeout):
                yield Result(case, len(text), pending.pop(0), None, timeout)
                break
            try:
                name, seconds = receiver.recv()
            except EOFError:  # the child died: report the probe it was on as failed
                yield Result(case, len(text), pending.pop(0), None, timeout)
                break
            pending.remove(name)
            yield Result(case, len(text), name, seconds, timeout)
        child.kill()
        child.join()
        receiver.close()


def measure(
    classes: dict[str, Callable[[int], str]], sizes: tuple[int, ...], timeout: float, transcript_words: int
) -> list[Result]:
    # Fork: children inherit the loaded lexicons and compiled patterns (cold caches are the point anyway).
    context = multiprocessing.get_context("fork")
    names = [name for name, _ in _probes()]
    results: list[Result] = []
    for case, make in classes.items():
        timed_out: set[str] = set()
        for size in sizes:
            todo = [n for n in names if n not in timed_out]
            for result in _run_case(context, case, make(size), todo, timeout):
                results.append(result)
                if result.seconds is None:
                    timed_out.add(result.detector)
    if transcript_words:
        text = transcript(transcript_words)
        results.extend(_run_case(context, f"transcript ({transcript_words} words)", text, names, timeout))
    return results


def _fmt(result: Result | None) -> str:
    if result is None:
        return "-"
    if result.seconds is None:
        return f"> {result.timeout:g} s @{result.size}"
    return f"{result.seconds * 1000:8.1f} ms @{result.size}"


def _worst(results: list[Result]) -> Result | None:
    """The slowest result: a timeout beats any time, and a timeout at a smaller size beats one at a larger."""
    if not results:
        return None
    return max(results, key=lambda r: (r.seconds is None, -r.size if r.seconds is None else r.seconds))


def report(results: list[Result]) -> list[str]:
    cases = list(dict.fromkeys(r.case for r in results))
    lines = [f"{'class':38} {'worst scan (all)':>20}  {'worst detector':>22}  {'its time':>20}"]
    over = 0
    for case in cases:
        rows = [r for r in results if r.case == case]
        scan = _worst([r for r in rows if r.detector == SCAN])
        parts = _worst([r for r in rows if r.detector != SCAN])
        budget = TRANSCRIPT_BUDGET_S if case.startswith("transcript") else TEXT_BUDGET_S
        late = scan is not None and (scan.seconds is None or scan.seconds > budget)
        over += late
        name = parts.detector if parts else "-"
        lines.append(
            f"{case[:38]:38} {_fmt(scan):>20}{' !' if late else '  '}{name[:22]:>22}  {_fmt(parts):>20}"
        )
    lines.append("")
    lines.append("worst per detector over all classes:")
    for name in dict.fromkeys(r.detector for r in results):
        rows = [r for r in results if r.detector == name]
        worst = _worst(rows)
        assert worst is not None
        lines.append(f"  {name:26} {_fmt(worst):>20}  ({worst.case})")
    scans = [r for r in results if r.detector == SCAN]
    slow = [r for r in scans if r.seconds is None or r.seconds > TEXT_BUDGET_S]
    lines.append("")
    lines.append(
        f"{len(scans)} texts scanned; {len(slow)} over 100 ms ({sum(r.seconds is None for r in slow)} timed out); "
        f"{over} of {len(cases)} classes over budget (! above)"
    )
    return lines


async def _worst_lag(scan: Callable[[], Awaitable[object]], tick_s: float = 0.001) -> float:
    """The event loop's worst lag (how late a 1 ms sleep wakes up) while `scan` runs."""
    worst = 0.0
    running = True

    async def tick() -> None:
        nonlocal worst
        while running:
            started = time.perf_counter()
            await asyncio.sleep(tick_s)
            worst = max(worst, time.perf_counter() - started - tick_s)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.005)
    await scan()
    running = False
    await ticker
    return worst


async def loop_lag(classes: dict[str, Callable[[int], str]], size: int) -> list[str]:
    """Why a thread is enough: the loop's worst lag while each class's text is minimized on the loop (as
    before issue 12) and through `PiiGuard` (a thread of its executor; `re` holds the GIL per match call)."""
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.pii import Minimizer, PiiGuard, Vault

    minimizer = Minimizer()
    guard = PiiGuard(minimizer, ThreadPoolExecutor(max_workers=1), budget_s=30)
    worst: dict[str, tuple[float, str]] = {"on the event loop": (0.0, ""), "PiiGuard (thread)": (0.0, "")}
    for case, make in classes.items():
        text = make(size)

        async def on_loop(text: str = text) -> object:
            return minimizer.minimize(text, Vault())

        async def guarded(text: str = text) -> object:
            return await guard.minimize(text, Vault())

        for mode, scan in (("on the event loop", on_loop), ("PiiGuard (thread)", guarded)):
            lag = await _worst_lag(scan)
            if lag > worst[mode][0]:
                worst[mode] = (lag, case)
    guard.shutdown()
    return [
        f"  {mode:20} worst loop lag {lag * 1000:6.1f} ms  ({case})" for mode, (lag, case) in worst.items()
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per detector call (default 3)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--only", default="", help="classes whose name contains this")
    parser.add_argument("--transcript-words", type=int, default=TRANSCRIPT_WORDS)
    parser.add_argument("--no-loop", action="store_true", help="skip the event-loop lag measurement")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    classes = {k: v for k, v in CLASSES.items() if args.only in k}
    started = time.perf_counter()
    results = measure(classes, tuple(args.sizes), args.timeout, args.transcript_words)
    print("PII engine, hostile input: worst CPU time per class (one cold call per text, one core)")
    print(*report(results), sep="\n")
    if not args.no_loop:
        print(
            f"\nevent loop lag while each class's {max(args.sizes)}-character text is minimized (wall time):"
        )
        print(*asyncio.run(loop_lag(classes, max(args.sizes))), sep="\n")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nsizes {args.sizes}; timeout {args.timeout:g} s; load average {load:.1f} (shared machine); "
        f"whole run {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
