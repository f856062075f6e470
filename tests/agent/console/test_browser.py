"""The staff console in a real browser: Playwright drives Debian's Chromium (its fake microphone plays a WAV of
real speech from the shared corpus) against the real console on a port, the whole product stack on a real
redis-server, and the Graph and LLM peers on 127.0.0.1 (Meta and a hosted model cannot be reached from tests;
the peers speak their documented protocols and check what they receive). Screenshots go to
`test-artifacts/console/` (gitignored)."""

from __future__ import annotations

import io
import shutil
import wave
from typing import TYPE_CHECKING

import av
import jiwer
import numpy as np
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright, expect
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.audio import decode
from tests.agent.console.stack import OWNER, PASSWORD, Console, running_console
from tests.agent.stack import eventually, stack_fixture
from tests.conftest import ROOT
from tests.ears import heard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from agent.storage.redis_client import RedisClient
    from pipelines.stt import WhisperTranscriber
    from tests.agent.stack import Stack
    from tests.conftest import Clip

stack = stack_fixture()
USER = "919800000002"
ARTIFACTS = ROOT / "test-artifacts" / "console"
SPOKEN = "sense_and_sensibility_01_austen_64kb-0880.wav"  # "he was not an ill disposed young man", 3.0 s
_normalize = EnglishTextNormalizer()


@pytest_asyncio.fixture
async def console(stack: Stack, redis: RedisClient) -> AsyncIterator[Console]:
    async with running_console(stack, redis) as c:
        yield c


def microphone_wav(clip: Clip, folder: Path) -> Path:
    """The clip between silences, as Chromium's fake microphone wants it (16-bit PCM WAV): it plays the file
    in a loop, so the silence after the words keeps them from being recorded twice."""
    pcm = decode(clip.path.read_bytes())
    silence = np.zeros(int(0.5 * pcm.sample_rate), np.float32)
    samples = np.concatenate([silence, pcm.samples, np.zeros(int(6 * pcm.sample_rate), np.float32)])
    path = folder / "microphone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(pcm.sample_rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


async def phone_with_microphone(p: Playwright, wav: Path) -> tuple[Browser, BrowserContext, Page]:
    """Chromium the size of a phone whose fake microphone plays `wav` (close the browser when done)."""
    browser = await p.chromium.launch(
        executable_path=shutil.which("chromium"),
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
        ],
    )
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    await context.grant_permissions(["microphone"])
    return browser, context, await context.new_page()


async def logged_in(page: Page, url: str) -> None:
    await page.goto(f"{url}/login")
    await page.get_by_label("E-mail").fill(OWNER)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{url}/inbox")


async def test_a_person_asks_for_a_human_and_staff_answer_by_text_and_voice(
    console: Console, corpus: list[Clip], transcriber: WhisperTranscriber, tmp_path: Path
) -> None:
    stack = console.stack
    clip = next(c for c in corpus if c.path.name == SPOKEN)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await console.customer_says(USER, "hello there", "wamid.b1")
    await eventually(lambda: len(stack.sent_to(USER)) == 1)
    async with async_playwright() as p:
        browser, _context, page = await phone_with_microphone(p, microphone_wav(clip, tmp_path))
        try:
            await logged_in(page, console.url)
            await expect(page.locator("#live-status")).to_have_text("Live: new conversations appear here.")
            await console.customer_says(USER, "talk to a person", "wamid.b2")
            waiting = page.locator("#waiting li[data-conv]")
            await expect(waiting).to_have_count(1, timeout=15_000)  # appeared without a reload
            await expect(waiting).to_contain_text("reason: keyword")
            await page.screenshot(path=ARTIFACTS / "inbox.png", full_page=True)

            await waiting.get_by_role("link").click()
            await expect(page.locator("#thread")).to_contain_text("hello there")
            await page.get_by_role("button", name="Take over").click()
            await expect(page.get_by_role("button", name="Give back to the assistant")).to_be_visible()
            await console.customer_says(USER, "are you there?", "wamid.b2b")
            await expect(page.locator("#thread")).to_contain_text(
                "are you there?"
            )  # live, withheld from the AI

            before = len(stack.graph.messages)
            await page.get_by_label("Reply").fill("A colleague will call you today.")
            await page.get_by_role("button", name="Send").click()
            await expect(page.locator("#result")).to_have_text("Sent.")
            assert stack.graph.messages[before:] == [stack.sent_to(USER)[-1]]  # exactly one, to the person
            assert stack.graph.messages[-1]["text"]["body"] == "A colleague will call you today."

            await page.get_by_role("button", name="Record a voice reply").click()
            await expect(page.locator("#voice-status")).to_have_text("Recording…")
            await page.wait_for_timeout((clip.duration_s + 1.5) * 1000)  # the length of the recording itself
            await page.get_by_role("button", name="Stop and send").click()
            await expect(page.locator("#voice-status")).to_have_text("Voice note sent.", timeout=20_000)
            await page.screenshot(path=ARTIFACTS / "conversation.png", full_page=True)

            voice = stack.graph.messages[-1]
            assert voice["to"] == USER
            assert voice["type"] == "audio"
            assert voice["audio"]["voice"] is True
            note = stack.graph.uploads[voice["audio"]["id"]]
            assert note.mime_type == "audio/ogg"
            with av.open(io.BytesIO(note.data)) as container:
                assert container.format.name == "ogg"
                stream = container.streams.audio[0]
                assert stream.codec_context.name == "opus"
                assert stream.codec_context.channels == 1
            words = heard(transcriber, decode(note.data))
            assert jiwer.wer(_normalize(clip.reference), _normalize(words)) < 0.35, words

            await page.get_by_role("button", name="Give back to the assistant").click()
            await expect(page.locator("#status")).to_have_text("handled by the assistant")
        finally:
            await browser.close()
    answered = len(stack.sent_to(USER))
    await console.customer_says(USER, "thanks, and the price?", "wamid.b3")
    await eventually(lambda: len(stack.sent_to(USER)) == answered + 1)  # the assistant answers again
    assert stack.sent_to(USER)[-1]["text"]["body"].startswith("You said:")
