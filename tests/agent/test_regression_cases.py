"""Regression cases (`cases.yaml`) and `leadclose prompts test`: the file read as hostile input, the matching,
and real runs of the tenant's turn (real Whisper/Piper-built `TurnRunner`, real PII guard) against the local
OpenAI-compatible peer (tests/llm_peer.py), which answers from the system prompt it receives, so a draft's
knowledge changes what it says; tools are dry runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import AsyncOpenAI

from agent.cli.main import main
from agent.console.cases import CaseBook, runtime_cases
from agent.console.playground_turn import LazyRuntime
from agent.tenants.cases import (
    CASES_FILE,
    Case,
    CaseError,
    Expectation,
    Observed,
    add_case,
    judge,
    load_cases,
    mentions,
    parse_cases,
)
from agent.tenants.registry import LoadedTenant, TenantRegistry, load_tenant
from agent.tools.dry_run import run_cases
from pipelines.llm import Responder
from pipelines.turn import TurnRunner
from tests.agent.stack import eventually
from tests.agent.stack import settings as stack_settings
from tests.agent.tenant_folders import copy_tenant
from tests.conftest import ROOT
from tests.llm_peer import Call, serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.llm_peer import ChatPeer

REALTY = ROOT / "prompts" / "gharkhoj-realty"


class Model:
    """The scripted model: brokerage questions are answered with the knowledge line it was sent (so the
    system prompt decides), a request for a person hands off, a rental in Wakad captures a lead, and
    `site visits` answers well on every other call only (an LLM that varies)."""

    def __init__(self) -> None:
        self.visits = 0

    def __call__(self, messages: list[dict[str, Any]]) -> str | list[str | Call]:
        if messages[-1]["role"] == "tool":
            return "Done, noted."
        said, system = str(messages[-1]["content"]), str(messages[0]["content"])
        if "brokerage" in said:
            return next(line for line in system.splitlines() if "Brokerage" in line)
        if "human" in said:
            return [Call("handoff_to_human", {"reason": "asked for a person"})]
        if "Wakad" in said:
            return [Call("capture_lead", {"need": "rent", "location": "Wakad"})]
        if "Hindi" in said:
            return "हाँ, हम क़ीमत हिंदी में बता सकते हैं।"
        if "site visits" in said:
            self.visits += 1
            return "Site visits are free." if self.visits % 2 else "Let me check."
        return "Hello."


@pytest.fixture
def peer() -> Iterator[ChatPeer]:
    with serve_chat_peer(Model()) as p:
        yield p


@pytest.fixture
def runner(peer: ChatPeer, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer) -> TurnRunner:
    client = AsyncOpenAI(base_url=peer.base_url, api_key="test-key", max_retries=0)
    return TurnRunner(transcriber, pii_guard(), Responder(client, "test-model", timeout_s=5.0), synthesizer)


def case(name: str, message: str, *, runs: int = 1, pass_at: int | None = None, **expect: Any) -> Case:
    return Case(name=name, message=message, expect=Expectation(**expect), runs=runs, pass_at=pass_at)


async def test_cases_pass_and_fail_with_their_reasons(runner: TurnRunner, peer: ChatPeer) -> None:
    cases = [
        case(
            "brokerage", "How much brokerage do tenants pay?", mention=["15 DAYS"], not_mention=["guarantee"]
        ),
        case("wrong fact", "What brokerage do buyers pay?", mention=["2%"]),
        case("person", "Please connect me to a human", handoff=True),
        case("no person", "Please connect me to a human", handoff=False),
        case(
            "lead",
            "I want to rent in Wakad",
            tools=[{"name": "capture_lead", "arguments": {"location": "wakad"}}],
        ),
        case(
            "lead elsewhere",
            "I want to rent in Wakad",
            tools=[{"name": "capture_lead", "arguments": {"location": "Baner"}}],
        ),
        case("no booking", "I want to rent in Wakad", tools=[{"name": "schedule_callback"}]),
        case("hindi", "Can you speak Hindi?", language="hi", mention=["क\u093cीमत"]),  # decomposed nukta
        case("english", "Can you speak Hindi?", language="en"),
    ]
    heard: list[str] = []
    report = await run_cases(runner, REALTY, cases, on_result=lambda r: heard.append(r.name))
    verdicts = {r.name: (r.verdict, r.reason) for r in report.results}
    assert verdicts == {
        "brokerage": ("pass", ""),
        "wrong fact": ("fail", "does not mention '2%'"),
        "person": ("pass", ""),
        "no person": ("fail", "handed off to a person"),
        "lead": ("pass", ""),
        "lead elsewhere": ("fail", "called capture_lead without ['location'] as expected"),
        "no booking": ("fail", "did not call schedule_callback"),
        "hindi": ("pass", ""),
        "english": ("fail", "replied in hi, not en"),
    }
    assert heard == [c.name for c in cases]  # progress, in order
    assert not report.passed
    assert peer.rejected == []  # every request followed the protocol (tool answers included)
    offered = {t["function"]["name"] for t in peer.requests[0]["tools"]}
    assert {"capture_lead", "handoff_to_human"} <= offered
    rendered = report.render()
    assert "fail   wrong fact (0/1 runs, 1 needed): does not mention '2%'" in rendered
    assert rendered.endswith("4 passed, 5 failed (gharkhoj-realty)")


async def test_a_case_runs_n_times_against_its_threshold(runner: TurnRunner) -> None:
    lenient = case("visits 2 of 3", "Do you charge for site visits?", mention=["free"], runs=3, pass_at=2)
    strict = case("visits 3 of 3", "Do you charge for site visits?", mention=["free"], runs=3)
    report = await run_cases(runner, REALTY, [lenient, strict])
    first, second = report.results
    assert (first.verdict, first.passed_runs, len(first.runs)) == (
        "pass",
        2,
        3,
    )  # calls 1, 2, 3: ok, miss, ok
    assert (second.verdict, second.passed_runs, second.needed) == (
        "fail",
        1,
        3,
    )  # calls 4, 5, 6: miss, ok, miss
    assert second.reason == "does not mention 'free'"


async def test_a_saved_case_fails_on_a_draft_that_breaks_it(runner: TurnRunner, tmp_path: Path) -> None:
    live = copy_tenant(REALTY, tmp_path / "live" / "gharkhoj-realty")
    (live / CASES_FILE).unlink()
    saved = add_case(
        live, case("tenant brokerage", "How much brokerage do tenants pay?", mention=["15 days"])
    )
    assert load_cases(live) == saved
    draft = tmp_path / "draft" / "gharkhoj-realty"
    shutil.copytree(live, draft)
    knowledge = draft / "knowledge.md"
    knowledge.write_text(knowledge.read_text().replace("15 days of rent", "one month of rent"))

    on_live = await run_cases(runner, live, load_cases(live))
    on_draft = await run_cases(runner, draft, load_cases(draft))
    assert on_live.passed
    assert not on_draft.passed
    assert on_draft.results[0].reason == "does not mention '15 days'"

    loaded = LoadedTenant.of(load_tenant(live), live)  # a draft held in memory, never written to a folder
    prompt = loaded.turn.system_prompt.replace("15 days of rent", "a month of rent")
    in_memory = replace(loaded, turn=replace(loaded.turn, system_prompt=prompt))
    assert not (await run_cases(runner, in_memory, saved)).passed


def test_the_cli_exits_1_on_a_failing_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real command in its own process, as a business's CI runs it; then, fixed, through `main`."""
    prompts = tmp_path / "prompts"
    folder = copy_tenant(REALTY, prompts / "gharkhoj-realty")
    (folder / CASES_FILE).write_text(
        "cases:\n"
        "  - name: brokerage\n    message: How much brokerage do tenants pay?\n    expect: {mention: [15 days]}\n"
        "  - name: wrong\n    message: How much brokerage do tenants pay?\n    expect: {mention: [2 months]}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADCLOSE_")}
    command = ["prompts", "test", "gharkhoj-realty", "--prompts-dir", str(prompts)]
    with serve_chat_peer(Model()) as peer:
        env |= {"LEADCLOSE_LLM_BASE_URL": peer.base_url, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "agent.cli.main", *command, "--json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr[-2000:]
        out = json.loads(done.stdout)
        assert [(c["name"], c["verdict"], c["reason"]) for c in out["cases"]] == [
            ("brokerage", "pass", ""),
            ("wrong", "fail", "does not mention '2 months'"),
        ]
        (folder / CASES_FILE).write_text((folder / CASES_FILE).read_text().split("  - name: wrong")[0])
        monkeypatch.chdir(tmp_path)  # no stray .env
        monkeypatch.setenv("LEADCLOSE_LLM_BASE_URL", peer.base_url)
        assert main(command) == 0
    assert "pass   brokerage (1/1 runs, 1 needed)" in capsys.readouterr().out


HOSTILE = [
    (
        "cases:\n  - name: a\n    message: hi\n    expect: {mentoin: [x]}\n",
        "line 4: cases.0.expect.mentoin: Extra",
    ),
    (
        "cases:\n  - name: a\n    message: hi\n    expect: {}\n    runs: 1000\n",
        "line 5: cases.0.runs: Input should be less than or equal to 10",
    ),
    (
        "cases:\n  - name: a\n    message: hi\n    expect: {}\n    runs: 2\n    pass_at: 3\n",
        "line 2: cases.0: Value error, pass_at cannot exceed runs",
    ),
    (
        "cases:\n  - {name: a, message: hi, expect: {}}\n  - {name: a, message: hi, expect: {}}\n",
        "line 3: cases.1.name: another case has this name",
    ),
    (
        "cases:\n  - name: ../../etc\n    message: hi\n    expect: {}\n",
        "line 2: cases.0.name: String should match pattern",
    ),
    (
        "cases:\n  - name: a\n    message: hi\n    expect:\n      tools: [{name: x, arguments: {a: [1, 2]}}]\n",
        "line 5: cases.0.expect.tools.0.arguments.a",
    ),
    ("cases: [\n", "line 2 not valid YAML"),
    (
        'cases:\n  - name: a\n    message: hi\n    expect:\n      not_mention: [" \\u200d "]\n',
        "line 5: cases.0.expect.not_mention.0: Value error, must have a visible character",
    ),
    ("- just a list\n", "expected a mapping with a `cases` list"),
    (
        "a: &a [" + "x, " * 50 + "]\nb: &b [" + "*a, " * 50 + "]\nc: [" + "*b, " * 50 + "]\n",
        "more than 20000 values",
    ),
]


@pytest.mark.parametrize(("text", "problem"), HOSTILE)
def test_hostile_cases_are_refused_at_the_line(text: str, problem: str) -> None:
    with pytest.raises(CaseError) as caught:
        parse_cases(text)
    assert problem in str(caught.value)


def test_a_cases_file_is_read_like_every_tenant_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    folder = copy_tenant(REALTY, prompts / "gharkhoj-realty")
    (folder / CASES_FILE).unlink()
    (folder / CASES_FILE).symlink_to("/etc/passwd")
    with pytest.raises(CaseError, match="resolves outside the tenant folder"):
        load_cases(folder)
    (folder / CASES_FILE).unlink()
    (folder / CASES_FILE).write_text("cases:\n  - name: a\n    message: " + "x" * 200_000 + "\n")
    with pytest.raises(CaseError, match="larger than 128 KiB"):
        load_cases(folder)
    (folder / CASES_FILE).write_text("cases:\n  - name: a\n    message: secret-value-123\n    expect: 5\n")
    assert main(["prompts", "validate", str(prompts)]) == 1
    out = capsys.readouterr().out
    assert "line 4: cases.0.expect: Input should be a valid dictionary" in out
    assert "secret-value-123" not in out  # at the line, never the value
    assert main(["prompts", "test", "gharkhoj-realty", "--prompts-dir", str(prompts)]) == 2


def test_shipped_example_cases_load() -> None:
    assert [c.name for c in load_cases(REALTY)] == [
        "brokerage for tenants",
        "wants a person",
        "lead in Wakad",
    ]


def test_mentions_are_matched_robustly() -> None:
    assert mentions("Rent: ₹28,000 A MONTH", "₹28,000 a month")
    assert mentions("क़ीमत 5 लाख", "क\u093cीमत")  # precomposed qa vs ka + nukta
    assert mentions("कि\u200dसान", "किसान")  # a zero-width joiner in the reply
    assert mentions("ﬁve  STRASSE\nnow", "five straße now")  # ligature, case folding, whitespace
    assert not mentions("15 days", "16 days")
    reasons = judge(Expectation(mention=("x",), handoff=True), Observed("", (), "llm_failed"))
    assert reasons == (
        "the turn did not answer (llm_failed)",
        "does not mention 'x'",
        "did not hand off to a person",
    )


@settings(deadline=None, max_examples=50)
@given(st.text(max_size=4096), st.text(min_size=1, max_size=200))
def test_matching_any_reply_is_bounded(reply: str, phrase: str) -> None:
    started = time.perf_counter()
    mentions(reply * 10, phrase)
    assert time.perf_counter() - started < 1.0
    assert mentions(f"{reply} {phrase} {reply}", phrase)  # a phrase said is found, whatever surrounds it


def test_concurrent_saves_lose_no_case(tmp_path: Path) -> None:
    """Writers take turns on the folder's lock: each reads the file the last one wrote, atomically replaced."""
    folder = copy_tenant(REALTY, tmp_path / "gharkhoj-realty")
    (folder / CASES_FILE).unlink()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: add_case(folder, case(f"case {n}", "hi", mention=["x"])), range(24)))
    assert sorted(c.name for c in load_cases(folder)) == sorted(f"case {n}" for n in range(24))
    assert [p.name for p in folder.iterdir() if p.name.startswith(".cases-")] == []  # no temporary left
    assert (folder / CASES_FILE).stat().st_mode & 0o777 == 0o644


async def test_the_console_runs_cases_as_the_cli_does(peer: ChatPeer) -> None:
    """`runtime_cases` (what `leadclose console` wires): the console's models, loaded on the first run."""
    configured = stack_settings("redis://127.0.0.1:1", llm_base_url=peer.base_url)
    tenants = TenantRegistry.load(ROOT / "prompts")
    async with httpx.AsyncClient() as http:
        models = LazyRuntime(configured, http, tenants)
        try:
            book = CaseBook(ROOT / "prompts", runtime_cases(configured, models))
            assert await book.start("gharkhoj-realty")
            assert not await book.start("gharkhoj-realty")  # one run at a time
            await eventually(lambda: not book.state("gharkhoj-realty").running, 60)
        finally:
            await models.aclose()
    state = book.state("gharkhoj-realty")
    assert state.error == ""
    assert [(r.name, r.verdict) for r in state.results] == [
        ("brokerage for tenants", "pass"),
        ("wants a person", "pass"),
        ("lead in Wakad", "pass"),
    ]  # the shipped example cases, against the scripted model
