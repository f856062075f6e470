"""The draft editor in a real browser: Playwright drives Debian's Chromium against the real console over the
whole stack (real redis-server, the worker with the real hot-reload watcher, the Graph peer and the LLM peer
on 127.0.0.1, which answers from the system prompt it receives; Meta and a hosted model cannot be reached
from tests). Edit the knowledge, see a broken template's error at its line, fix it, try it side by side,
publish: the worker answers a webhook message with the new knowledge; roll back: the old answer is back.
Screenshot: `test-artifacts/console/drafts.png` (gitignored)."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from playwright.async_api import async_playwright, expect

from tests.agent.console.drafts_stack import DOES_NOT_KNOW, KNOWS, NEW_FACT, drafts_console_fixture
from tests.agent.console.test_browser import ARTIFACTS, logged_in
from tests.agent.console.test_drafts import answer
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from tests.agent.console.stack import Console


console = drafts_console_fixture()


async def test_edit_see_the_error_line_fix_try_publish_and_roll_back(console: Console) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=shutil.which("chromium"))
        page = await browser.new_page(viewport={"width": 1100, "height": 1400})
        violations: list[str] = []
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None
        )
        try:
            await logged_in(page, console.url)
            await page.get_by_role("link", name="Assistant").click()
            await expect(page.locator("#versions")).to_contain_text("Live version 1")
            await expect(page.locator("#check-status")).to_have_text("The draft passes the check.")

            editor, files = page.get_by_label("Content"), page.get_by_label("File")
            await files.select_option("system.j2")
            original = await editor.input_value()
            await editor.fill(original.replace("Knowledge:\n{{ knowledge }}", "Knowledge:\n{{ knowledge }"))
            broken_line = original.splitlines().index("{{ knowledge }}") + 1
            await page.get_by_role("button", name="Save and check").click()
            problem = page.locator("#problems li").first
            await expect(problem).to_contain_text(f"system.j2 line {broken_line}")
            await expect(problem).to_contain_text("TemplateSyntaxError")
            await page.get_by_role("button", name="Publish the draft").click()
            await expect(page.locator("#publish-status")).to_contain_text("does not pass the check")
            await page.screenshot(path=ARTIFACTS / "drafts-error.png", full_page=True)

            await problem.get_by_role("button").click()  # jumps to the line
            assert await editor.evaluate("e => e.value.slice(e.selectionStart, e.selectionEnd)") == (
                "{{ knowledge }"
            )
            await editor.fill(original)
            await page.get_by_role("button", name="Save and check").click()
            await expect(page.locator("#check-status")).to_have_text("The draft passes the check.")
            await files.select_option("knowledge.md")
            await editor.fill((await editor.input_value()) + "\n" + NEW_FACT + "\n")
            await page.get_by_role("button", name="Save and check").click()
            await expect(page.locator("#check-status")).to_have_text("The draft passes the check.")

            await page.get_by_label("A customer's message").fill("Do you sell batteries?")
            await page.get_by_role("button", name="Try live and draft").click()
            await expect(page.locator("#try-draft")).to_contain_text(KNOWS)
            await expect(page.locator("#try-live")).to_contain_text(DOES_NOT_KNOW)

            await page.get_by_role("button", name="Publish the draft").click()
            await expect(page.locator("#publish-status")).to_have_text("Published version 2 (was 1).")
            await expect(page.locator("#versions")).to_contain_text("Live version 2")
            await page.screenshot(path=ARTIFACTS / "drafts.png", full_page=True)
            await _reloaded(console, present=True)
            assert (await answer(console, "Batteries?", "wamid.db1")).endswith(KNOWS)

            await page.get_by_role("button", name="Roll back to the previous version").click()
            await expect(page.locator("#publish-status")).to_have_text("Rolled back to version 1 (was 2).")
            await _reloaded(console, present=False)
            assert (await answer(console, "Batteries again?", "wamid.db2")).endswith(DOES_NOT_KNOW)
            assert violations == []
        finally:
            await browser.close()


async def _reloaded(console: Console, *, present: bool) -> None:
    await eventually(
        lambda: (NEW_FACT in console.stack.tenants.get("default").turn.system_prompt) == present, 10
    )
