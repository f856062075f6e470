"""A tenant's regression cases (`prompts/<tenant>/cases.yaml`): messages with what the reply must do.

The file lives in the tenant folder so a business keeps it in its own repository, and it is read like every
tenant file: untrusted, size-capped, aliases bounded, every problem reported at its line, never with its
value. A case says what the reply must mention or must not (matched case-insensitively after Unicode NFKC
normalization, so Devanagari written with combining or precomposed nukta matches either way), which tools
the model must call (optionally with argument values), whether it must hand off to a person, and in which
language it must answer. LLM output varies: a case runs `runs` times and passes when at least `pass_at` of
those runs meet every expectation. `judge` is pure: whoever runs the turn hands it the result.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from agent.tenants.files import TenantFileError, load_yaml, read_inside
from agent.tenants.registry import TenantError
from agent.tenants.yaml_lines import line_of, yaml_error
from pipelines.language import detect

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

CASES_FILE = "cases.yaml"
MAX_CASES_BYTES = 128 * 1024
MAX_CASES = 200
MAX_RUNS = 10
HANDOFF_TOOL = "handoff_to_human"

_Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$")]


def _visible(phrase: str) -> str:
    if not normalized(phrase):
        raise ValueError("must have a visible character (a blank phrase would match every reply)")
    return phrase


_Phrase = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_visible)]
_Tool = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_Scalar = Annotated[str, StringConstraints(max_length=200)] | int | float | bool


class CaseError(TenantError):
    """A cases file that cannot be used; the message says where (file and line), never what it holds."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class ToolExpectation(_Model):
    name: _Tool
    arguments: dict[_Tool, _Scalar] = Field(default_factory=dict, max_length=20)  # each named one must match


class Expectation(_Model):
    mention: tuple[_Phrase, ...] = Field(default=(), max_length=20)
    not_mention: tuple[_Phrase, ...] = Field(default=(), max_length=20)
    tools: tuple[ToolExpectation, ...] = Field(default=(), max_length=10)
    handoff: bool | None = None  # True: must hand off; False: must not; None: either
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")] | None = None


class Case(_Model):
    name: _Name
    message: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    expect: Expectation
    runs: int = Field(default=1, ge=1, le=MAX_RUNS)
    pass_at: int | None = Field(default=None, ge=1, le=MAX_RUNS)  # default: every run

    @model_validator(mode="after")
    def _threshold(self) -> Case:
        if self.pass_at is not None and self.pass_at > self.runs:
            raise ValueError("pass_at cannot exceed runs")
        return self

    @property
    def needed(self) -> int:
        return self.pass_at or self.runs


class _File(_Model):
    cases: tuple[Case, ...] = Field(default=(), max_length=MAX_CASES)


def parse_cases(text: str, where: str = CASES_FILE) -> tuple[Case, ...]:
    """The cases of a `cases.yaml` text; `CaseError` at the line of every problem."""
    if len(text.encode()) > MAX_CASES_BYTES:
        raise CaseError(f"{where}: is larger than {MAX_CASES_BYTES // 1024} KiB")
    try:
        raw = load_yaml(text)
    except TenantFileError as exc:
        raise CaseError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CaseError(f"{where}: {yaml_error(exc)}") from None
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: expected a mapping with a `cases` list")
    try:
        cases = _File.model_validate(raw).cases
    except ValidationError as exc:
        problems = "; ".join(_at(text, _plain(e["loc"]), e["msg"]) for e in exc.errors())
        raise CaseError(f"{where}: {problems}") from None
    names: set[str] = set()
    for i, c in enumerate(cases):
        if c.name in names:
            raise CaseError(f"{where}: {_at(text, ('cases', i, 'name'), 'another case has this name')}")
        names.add(c.name)
    return cases


def _plain(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The location in the file, without pydantic's union branch names (`str`, `function-after[…]`)."""
    return tuple(
        p
        for p in loc
        if not (isinstance(p, str) and p.startswith(("function-", "str", "int", "float", "bool")))
    )


def _at(text: str, loc: tuple[str | int, ...], msg: str) -> str:
    line = line_of(text, loc)
    return (f"line {line}: " if line else "") + ".".join(map(str, loc)) + f": {msg}"


def load_cases(folder: Path) -> tuple[Case, ...]:
    """The folder's cases (none when it has no `cases.yaml`), read as an untrusted tenant file."""
    if not (folder / CASES_FILE).exists() and not (folder / CASES_FILE).is_symlink():
        return ()
    try:
        text = read_inside(folder, CASES_FILE, max_bytes=MAX_CASES_BYTES)
    except TenantFileError as exc:
        raise CaseError(f"{folder / CASES_FILE}: {exc}") from None
    return parse_cases(text, str(folder / CASES_FILE))


def add_case(folder: Path, case: Case) -> tuple[Case, ...]:
    """Append `case` (or replace the case of that name) and write the file atomically: a reader sees the old
    file or the new one, never half of one; two writers (processes too) take turns on a lock of the folder,
    so neither loses the other's case. Comments in the file are not kept (it is rewritten). Blocking."""
    lock = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cases = (*(c for c in load_cases(folder) if c.name != case.name), case)
        text = dump_cases(cases)
        parse_cases(text)  # what we write must load again (caps included)
        fd, tmp = tempfile.mkstemp(prefix=".cases-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o644)  # as the business's other files (mkstemp makes 0600)
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, folder / CASES_FILE)
        except BaseException:
            os.unlink(tmp)
            raise
    finally:
        os.close(lock)  # releases the lock
    return cases


def dump_cases(cases: Sequence[Case]) -> str:
    rows = [c.model_dump(mode="json", exclude_defaults=True) for c in cases]
    return yaml.safe_dump({"cases": rows}, allow_unicode=True, sort_keys=False, width=100)


_SPACE = re.compile(r"\s+")
_JOINERS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # invisible: ZWSP, ZWNJ, ZWJ, WJ, BOM


def normalized(text: str) -> str:
    """For matching: NFKC, case folded, invisible joiners dropped, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).translate(_JOINERS).casefold()
    return _SPACE.sub(" ", folded).strip()


def mentions(text: str, phrase: str) -> bool:
    return normalized(phrase) in normalized(text)


@dataclass(frozen=True, slots=True)
class Observed:
    """What one run of a case produced: the reply as sent, the tools the model called (with the arguments
    the business would have received) and whether the turn answered at all."""

    reply: str
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    outcome: str = "answered"


def judge(expect: Expectation, seen: Observed) -> tuple[str, ...]:
    """Why the run misses `expect` (empty: it meets every expectation). Reasons name the expectation, never
    quote the reply, so they can be logged."""
    reasons = [f"the turn did not answer ({seen.outcome})"] if seen.outcome != "answered" else []
    reasons += [f"does not mention {p!r}" for p in expect.mention if not mentions(seen.reply, p)]
    reasons += [f"mentions {p!r}" for p in expect.not_mention if mentions(seen.reply, p)]
    for tool in expect.tools:
        named = [args for name, args in seen.calls if name == tool.name]
        if not named:
            reasons.append(f"did not call {tool.name}")
        elif not any(_arguments_match(tool.arguments, args) for args in named):
            reasons.append(f"called {tool.name} without {sorted(tool.arguments)} as expected")
    handed_off = any(name == HANDOFF_TOOL for name, _ in seen.calls)
    if expect.handoff is True and not handed_off:
        reasons.append("did not hand off to a person")
    if expect.handoff is False and handed_off:
        reasons.append("handed off to a person")
    if expect.language is not None:
        found = detect(seen.reply)
        if found is None or found.code != expect.language:
            reasons.append(f"replied in {found.code if found else 'no language'}, not {expect.language}")
    return tuple(reasons)


def _arguments_match(wanted: dict[str, Any], given: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        got = given.get(key)
        if isinstance(value, str):
            if not isinstance(got, str | int | float) or normalized(str(got)) != normalized(value):
                return False
        elif got != value or type(got) is not type(value):
            return False
    return True


Verdict = Literal["pass", "fail"]


@dataclass(frozen=True, slots=True)
class CaseRun:
    reply: str
    reasons: tuple[str, ...]  # empty: this run met every expectation


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    runs: tuple[CaseRun, ...]
    needed: int

    @property
    def passed_runs(self) -> int:
        return sum(not r.reasons for r in self.runs)

    @property
    def verdict(self) -> Verdict:
        return "pass" if self.passed_runs >= self.needed else "fail"

    @property
    def reason(self) -> str:
        """The first failing run's reasons (what to fix first)."""
        failed = next((r for r in self.runs if r.reasons), None)
        return "; ".join(failed.reasons) if failed else ""


@dataclass(frozen=True, slots=True)
class CaseReport:
    tenant: str
    results: tuple[CaseResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(r.verdict == "pass" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "passed": self.passed,
            "cases": [
                {
                    "name": r.name,
                    "verdict": r.verdict,
                    "passed_runs": r.passed_runs,
                    "runs": len(r.runs),
                    "needed": r.needed,
                    "reason": r.reason,
                }
                for r in self.results
            ],
        }

    def render(self) -> str:
        lines = [
            f"{r.verdict}   {r.name} ({r.passed_runs}/{len(r.runs)} runs, {r.needed} needed)"
            + (f": {r.reason}" if r.verdict == "fail" else "")
            for r in self.results
        ]
        failed = sum(r.verdict == "fail" for r in self.results)
        lines.append(f"{len(self.results) - failed} passed, {failed} failed ({self.tenant})")
        return "\n".join(lines)
