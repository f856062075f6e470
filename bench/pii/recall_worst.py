"""`python -m bench.pii.recall_worst`: the issue-17 detectors on hostile 4,096-character texts made of their own
grammars' tokens, and the whole engine on the same texts (its older detectors are issue 12's). Prints the
fastest of three runs per text, after a warm-up that loads the lexicons; the budget is 100 ms per text
(DESIGN.md §6)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pipelines.pii import Minimizer
from pipelines.pii.recall import recall_detectors
from pipelines.pii.spoken import spoken_shadow

if TYPE_CHECKING:
    from collections.abc import Callable

LENGTH = 4096
# Repeated phrases of each grammar: frames, separators, anchors, number words, glued forms.
UNITS: dict[str, str] = {
    "greetings": "Hi ",
    "labels": "Naam: ",
    "relations": "my mother ",
    "possessive": "papa ka naam ",
    "speaker lines": "\nAb Cd: ",
    "initials": "A. ",
    "capitalized pairs": "Kwame ",
    "sign-offs": "Regards, ",
    "spelt letters": "a ",
    "at the rate": "at the rate ",
    "a at": "a at ",
    "dots": "dot ",
    "digits then at": "seven double ",
    "glued marks": "a.",
    "@ signs": "@",
    "local@": "a@",
    "homophone digits": "i876543210 ",
    "glued provider": "x.tgmail.com",
    "months": "may ",
    "ordinals": "the first of ",
    "years": "nineteen ",
    "house words": "Flat 1, ",
    "gulf cities": "Dubai ",
    "units": "#08-385 ",
    "states": ", NJ ",
    "postcodes": "12345 ",
    # round 3 (name_bare): list separators, given names before an auxiliary, initials, lower-case runs, titles
    "name lists": "Ravi, ",
    "name lists with and": "Ravi and ",
    "Devanagari lists": "राम और ",
    "given name subjects": "Naveen will ",
    "surname initials": "Priya K. ",
    "dotted initials": "K. ",
    "lower-case full names": "ravi sharma ",
    "capitalized runs": "Chidi Okafor ",
    "lower-case speakers": "\nquorvel: ",
    "titles": "Mr ",
}
TAILS = ("", " at ok axis", " gmail dot com", " nineteen seventy-eight", " Singapore 560123", " 08817")


def texts() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, unit in UNITS.items():
        for tail in TAILS:
            body = unit * ((LENGTH - len(tail)) // len(unit))
            out[f"{name}{' +' + tail.strip() if tail else ''}"] = (body + tail)[:LENGTH]
        out[f"{name}, no spaces"] = (unit.strip() or unit) * (LENGTH // max(1, len(unit.strip() or unit)))
    return out


def _ms(run: Callable[[str], object], text: str) -> float:
    """The fastest of three runs: on a shared machine, the others measure the neighbours."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        run(text)
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def main() -> None:
    detectors = recall_detectors()
    minimizer = Minimizer()
    for detector in detectors:  # load the lexicons
        list(detector.find("Naam: Kwame Mensah, born 5 May 1990"))
    rows: list[tuple[float, str, str]] = []
    for name, text in texts().items():
        shadow = spoken_shadow(text).text  # what the detectors see when the text holds spoken forms
        for detector in detectors:
            for seen, label in ((text, name), (shadow, f"{name} (shadow)")):
                ms = _ms(lambda t, d=detector: list(d.find(t)), seen)
                rows.append((ms, type(detector).__name__, label))
        rows.append((_ms(minimizer.scan, text), "Minimizer.scan (all detectors)", name))
    rows.sort(reverse=True)
    print(f"{len(texts())} hostile texts of {LENGTH} characters; fastest of 3 runs, ms (budget 100)")
    for ms, who, name in rows[:5]:
        print(f"  {ms:8.2f}  {who:32} {name}")
    print("the issue-17 detectors alone:")
    for ms, who, name in [r for r in rows if not r[1].startswith("Minimizer")][:8]:
        print(f"  {ms:8.2f}  {who:32} {name}")


if __name__ == "__main__":
    main()
