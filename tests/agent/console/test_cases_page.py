"""The regression cases in the console: saved through `POST /api/cases` (owner only, CSRF, audited, written to
the tenant folder's cases.yaml), run in the background through the tenant's real turn (a real `TurnRunner`
over the local OpenAI-compatible peer, tests/llm_peer.py, which answers from the system prompt it receives),
and the page driven in Playwright + Debian's Chromium. The console runs on a real port over the product
stack (real redis-server). Screenshot: `test-artifacts/console/cases.png`."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest_asyncio
from openai import AsyncOpenAI
from playwright.async_api import async_playwright, expect

from agent.console.cases import CaseBook
from agent.tenants.cases import CASES_FILE, load_cases
from agent.tools.dry_run import run_cases
from pipelines.llm import Responder
from pipelines.turn import TurnRunner
from tests.agent.console.stack import AGENT, OWNER, PASSWORD, Console, running_console
from tests.agent.stack import eventually, stack_fixture
from tests.conftest import ROOT
from tests.llm_peer import serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from pathlib import Path

    from agent.storage.redis_client import RedisClient
    from agent.tenants.cases import Case, CaseReport, CaseResult
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.agent.stack import Stack

stack = stack_fixture()
ARTIFACTS = ROOT / "test-artifacts" / "console"
WARRANTY = {
    "name": "warranty",
    "message": "What warranty do the panels have?",
    "expect": {"mention": ["25 years"]},
}
WRONG = {
    "name": "wrong warranty",
    "message": "What warranty do the panels have?",
    "expect": {"mention": ["10 years"]},
}


def knowledge_answer(messages: list[dict[str, Any]]) -> str:
    """The knowledge line the model was sent about what is asked (so the tenant's folder decides)."""
    system = str(messages[0]["content"])
    if "warranty" in messages[-1]["content"]:
        return next(line for line in system.splitlines() if "Warranty" in line)
    return "Hello."


@pytest_asyncio.fixture
async def console(
    stack: Stack,
    redis: RedisClient,
    tmp_path: Path,
    transcriber: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
) -> AsyncIterator[Console]:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", prompts / "default")
    with serve_chat_peer(knowledge_answer) as peer:
        client = AsyncOpenAI(base_url=peer.base_url, api_key="test-key", max_retries=0)
        runner = TurnRunner(transcriber, pii_guard(), Responder(client, "m", timeout_s=5.0), synthesizer)

        async def run(folder: Path, cases: Sequence[Case], heard: Callable[[CaseResult], None]) -> CaseReport:
            return await run_cases(runner, folder, cases, on_result=heard)

        book = CaseBook(prompts, run)
        async with running_console(stack, redis, cases=book) as c:
            yield c
        await book.close()


async def test_owners_save_and_run_cases_through_the_api(console: Console) -> None:
    book = console.parts.cases
    assert book is not None
    async with console.client() as owner:
        assert (await owner.post("/api/cases", json=WARRANTY)).status_code == 201
        assert (await owner.post("/api/cases", json=WRONG)).status_code == 201
        hostile = await owner.post("/api/cases", json=WARRANTY | {"name": "x", "runs": 99, "secret": "s-123"})
        assert hostile.status_code == 422
        assert "s-123" not in hostile.text
        no_csrf = await owner.post("/api/cases", json=WARRANTY, headers={"X-CSRF-Token": "nope"})
        assert no_csrf.status_code == 403
        assert [c.name for c in load_cases(book.folder("default"))] == ["warranty", "wrong warranty"]

        started = await owner.post("/api/cases/run")
        assert started.status_code == 202
        assert started.json()["total"] == 2

        async def finished() -> bool:
            return not (await owner.get("/api/cases")).json()["run"]["running"]

        await eventually(finished, 30)
        run = (await owner.get("/api/cases")).json()["run"]
        assert [(r["name"], r["verdict"], r["reason"]) for r in run["results"]] == [
            ("warranty", "pass", ""),
            ("wrong warranty", "fail", "does not mention '10 years'"),
        ]
        (book.folder("default") / CASES_FILE).write_text(
            "cases:\n  - name: a\n    message: hi\n    expect: 5\n"
        )
        refused = await owner.post("/api/cases/run")
        assert refused.status_code == 409
        assert "line 4: cases.0.expect: Input should be a valid dictionary" in refused.json()["detail"]
        assert (await owner.get("/api/cases")).json()["problem"] == refused.json()["detail"]
    async with console.client(AGENT, PASSWORD) as agent:
        assert (await agent.post("/api/cases", json=WARRANTY | {"name": "sneaky"})).status_code == 403
        assert (await agent.get("/api/cases")).status_code == 403
    audit = [r.body for r in await console.parts.rights.audit.records("default")]
    saves = [
        (r["action"], r["outcome"], r["actor"]) for r in audit if r["action"].startswith("console.cases.")
    ]
    refusals = [r for r in audit if (r["action"], r["outcome"]) == ("console.cases", "not_owner")]
    assert len(refusals) == 2  # the agent's two tries, under the page they asked for
    assert saves == [
        ("console.cases.save", "ok", f"staff:{OWNER}"),
        ("console.cases.save", "ok", f"staff:{OWNER}"),
        ("console.cases.run", "started", f"staff:{OWNER}"),
    ]


async def test_the_cases_page_runs_them_in_a_browser(console: Console) -> None:
    book = console.parts.cases
    assert book is not None
    (book.folder("default") / CASES_FILE).write_text(
        "cases:\n"
        "  - {name: warranty, message: 'Which warranty?', expect: {mention: [25 years]}}\n"
        "  - {name: wrong warranty, message: 'Which warranty?', expect: {mention: ['<b>10 years']}}\n"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=shutil.which("chromium"))
        page = await browser.new_page()
        errors: list[str] = []  # CSP refusals, failed loads (the browser's own favicon request aside)
        page.on("console", lambda m: errors.append(m.text) if m.text.startswith("Refused") else None)
        page.on(
            "response",
            lambda r: (
                errors.append(r.url) if r.status >= 400 and not r.url.endswith("/favicon.ico") else None
            ),
        )
        try:
            await page.goto(f"{console.url}/login")
            await page.get_by_label("E-mail").fill(OWNER)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Log in").click()
            await page.get_by_role("link", name="Cases").click()
            await expect(page.get_by_role("heading", name="Regression cases")).to_be_visible()
            rows = page.locator("#cases tr[data-case]")
            await expect(rows).to_have_count(2)
            await expect(rows.nth(1)).to_contain_text("mentions “<b>10 years”")  # escaped, shown as text
            await page.get_by_role("button", name="Run all cases").click()
            await expect(page.locator("#run-status")).to_have_text(
                "Done: 1 passed, 1 failed.", timeout=30_000
            )
            await expect(rows.nth(0).locator(".verdict")).to_have_text("pass (1/1)")
            await expect(rows.nth(1).locator(".verdict")).to_have_text(
                "fail (0/1): does not mention '<b>10 years'"
            )
            await page.screenshot(path=ARTIFACTS / "cases.png", full_page=True)
            assert errors == []
        finally:
            await browser.close()
