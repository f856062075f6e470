"""The console's voice playground against the real parts: the console on a port over the product stack (real
redis-server, Whisper tiny.en, the bundled Piper voice, the real PII minimizer) and the LLM peer on
127.0.0.1 (a hosted model cannot be reached from tests: the peer speaks the OpenAI protocol and records
exactly what it received). The browser test drives Debian's Chromium with Playwright; its fake microphone
plays "What does a 3 kW system cost?" spoken by the bundled Piper voice. Screenshots go to
`test-artifacts/console/` (gitignored)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
import wave
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import av
import httpx
import numpy as np
import pytest
import pytest_asyncio
from openai import AsyncOpenAI
from playwright.async_api import async_playwright, expect

from agent.console.playground_store import PlaygroundStore, Sandbox, SessionGoneError
from agent.console.playground_turn import Engines, LazyRuntime, LoadedEngines, Playground
from agent.storage.keyring import Keyring, master_secret
from agent.storage.keys import playground_key
from agent.tenants.registry import TenantRegistry
from pipelines.llm import Responder
from pipelines.turn import Conversation, TurnConfig, TurnRunner
from tests.agent.console.stack import AGENT, OTHER, Console, running_console
from tests.agent.console.test_browser import ARTIFACTS, logged_in, phone_with_microphone
from tests.agent.stack import MASTER, echo_reply, eventually, settings, stack_fixture
from tests.conftest import ON_SERVER_AND_CLUSTER, ROOT
from tests.llm_peer import Call, serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from agent.storage.redis_client import RedisClient
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.agent.stack import Stack
    from tests.conftest import RedisBackend


def reply(messages: list[dict[str, Any]]) -> str | list[str | Call]:
    """Echoes, but a person who leaves a number is saved as a lead (by its placeholder, as a model would)."""
    last = str(messages[-1]["content"])
    placeholder = re.search(r"<PHONE_\d+>", last)
    if messages[-1]["role"] == "user" and placeholder is not None:
        return [
            "Let me note that.",
            Call("capture_lead", {"need": f"a check-up, call {placeholder.group()}"}),
        ]
    return echo_reply(messages)


stack = stack_fixture(reply=reply)
QUESTION = "What does a 3 kW system cost?"
NUMBER = "98765 43210"


def keyring() -> Keyring:
    return Keyring(master_secret(MASTER))


@pytest_asyncio.fixture
async def console(
    stack: Stack,
    redis: RedisClient,
    transcriber: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
) -> AsyncIterator[Console]:
    """The console with its playground on the session's models and the stack's LLM peer."""
    llm = AsyncOpenAI(base_url=stack.llm.base_url, api_key="not-needed", max_retries=0)
    runner = TurnRunner(transcriber, pii_guard(), Responder(llm, "test-model", timeout_s=5.0), synthesizer)
    engines = LoadedEngines(Engines(runner, stack.llm.base_url))
    playground = Playground(PlaygroundStore(redis, keyring()), stack.tenants, engines)
    async with running_console(stack, redis, playground=playground) as c:
        yield c
    await llm.close()


async def playground_keys(redis: RedisClient) -> list[str]:
    return [k.decode() if isinstance(k, bytes) else k async for k in redis.scan_iter(match="lc:pg:*")]


async def microphone_wav(synthesizer: PiperSynthesizer, folder: Path) -> Path:
    """The question in the bundled Piper voice, between silences (Chromium's fake microphone loops it)."""
    pcm = await synthesizer.synthesize(QUESTION)
    rate = pcm.sample_rate
    samples = np.concatenate([np.zeros(rate // 2, np.float32), pcm.samples, np.zeros(6 * rate, np.float32)])
    path = folder / "question.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


async def test_the_playground_in_a_browser(
    console: Console, redis: RedisClient, synthesizer: PiperSynthesizer, tmp_path: Path
) -> None:
    peer = console.stack.llm
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wav = await microphone_wav(synthesizer, tmp_path)
    async with async_playwright() as p:
        browser, context, page = await phone_with_microphone(p, wav)
        try:
            await logged_in(page, console.url)
            await page.get_by_role("link", name="Playground").click()
            await expect(page).to_have_url(f"{console.url}/playground")

            # A tap sends nothing, leaves the microphone off and says how to record.
            record = page.get_by_role("button", name="Hold to record")
            await record.click()
            await expect(page.locator("#pg-status")).to_have_text(
                "Hold the button while you speak; release to send."
            )
            await record.hover()  # also once the microphone had opened (a 0.25 s press)
            await page.mouse.down()
            await page.wait_for_timeout(250)
            await page.mouse.up()
            await page.wait_for_timeout(500)
            await expect(page.locator("#pg-status")).to_have_text(
                "Hold the button while you speak; release to send."
            )
            assert await page.locator("li.pg-turn").count() == 0
            assert await record.get_attribute("aria-pressed") == "false"

            # Hold to record: the voice note is heard, answered and spoken. The button stays under the finger
            # while held, and neither the page moving nor the finger sliding off cuts the note short.
            await record.hover()
            before = await record.bounding_box()
            await page.mouse.down()
            await expect(page.locator("#pg-status")).to_have_text("Recording… release to send.")
            assert await record.bounding_box() == before
            await page.locator("h1").evaluate("h => h.insertAdjacentHTML('afterend', '<p>moved<br>down</p>')")
            await page.mouse.move(5, 5, steps=4)
            await page.wait_for_timeout(3_500)  # the length of the recording itself
            assert await record.get_attribute("aria-pressed") == "true"
            await page.mouse.up()
            first = page.locator("li.pg-turn").nth(0)
            await expect(first.locator(".pg-said")).to_contain_text("system cost", timeout=30_000)
            await expect(first.locator(".pg-language")).to_contain_text("language en")
            await expect(first.locator(".pg-reply-text")).to_contain_text("You said:")
            said = (await first.locator(".pg-said").text_content()) or ""
            assert "3" in said, said
            shown = json.loads((await first.locator(".pg-prompt").text_content()) or "")
            assert shown == peer.requests[-1]["messages"]  # exactly what the model was sent

            # The reply's voice note is a decodable OGG/Opus file the page plays.
            src = await first.locator("audio.pg-voice").get_attribute("src")
            assert src is not None
            cookies = {c["name"]: c["value"] for c in await context.cookies()}
            async with httpx.AsyncClient(base_url=console.url, cookies=cookies) as client:
                note = await client.get(src)
            assert note.status_code == 200
            assert note.headers["content-type"] == "audio/ogg"
            with av.open(io.BytesIO(note.content)) as container:
                assert container.format.name == "ogg"
                stream = container.streams.audio[0]
                assert stream.codec_context.name == "opus"
                assert sum(f.samples for f in container.decode(stream)) > 0
            ready = await first.locator("audio.pg-voice").evaluate("a => a.readyState")
            assert ready >= 1  # the browser decoded its header too

            # A typed number is masked before the model and highlighted by type in the page.
            await page.get_by_label("Message").fill(f"Call me on {NUMBER} please")
            await page.get_by_role("button", name="Send").click()
            second = page.locator("li.pg-turn").nth(1)
            mark = second.locator("mark.pii")
            await expect(mark).to_have_text(NUMBER, timeout=15_000)
            assert await mark.get_attribute("data-type") == "PHONE"
            shown = json.loads((await second.locator(".pg-prompt").text_content()) or "")
            assert shown == peer.requests[-1]["messages"]
            assert NUMBER not in json.dumps(shown)
            assert any(
                QUESTION.split()[0] in str(m["content"]) for m in shown
            )  # the first turn is remembered
            await page.locator("h1").scroll_into_view_if_needed()
            await page.screenshot(path=ARTIFACTS / "playground-phone.png")  # what a phone shows first
            for details in await page.locator("details.pg-stages").all():
                await details.evaluate("d => d.open = true")
            await page.screenshot(path=ARTIFACTS / "playground.png", full_page=True)

            # An uploaded audio file is a voice note too.
            await page.locator("#pg-file").set_input_files(wav)
            third = page.locator("li.pg-turn").nth(2)
            await expect(third.locator(".pg-said")).to_contain_text("system cost", timeout=30_000)

            assert await playground_keys(redis)
            await page.get_by_role("button", name="End session").click()
            await expect(page.locator("#pg-session-status")).to_contain_text("erased")
            assert await playground_keys(redis) == []  # nothing of the session is left
        finally:
            await browser.close()
    assert not console.stack.graph.messages  # nothing went to WhatsApp


async def test_sessions_are_the_owners_sandbox(console: Console, redis: RedisClient) -> None:
    """An agent gets 403 (audited); another tenant's owner cannot touch the session; STOP acts on the sandbox
    consent only; tools are dry runs; an ended session is gone."""
    async with console.client(AGENT) as agent:
        assert (await agent.get("/playground")).status_code == 403
        assert (await agent.post("/api/playground/sessions")).status_code == 403
    async with console.client() as owner:
        no_csrf = await owner.post("/api/playground/sessions", headers={"X-CSRF-Token": "forged"})
        assert no_csrf.status_code == 403
        session = (await owner.post("/api/playground/sessions")).json()["session"]
        url = f"/api/playground/sessions/{session}"
        first = (await owner.post(f"{url}/messages", json={"text": "hello"})).json()
        assert first["disclosure"] is True  # a first contact carries the AI disclosure
        assert first["outcome"] == "answered"
        again = (await owner.post(f"{url}/messages", json={"text": "and the price?"})).json()
        assert again["disclosure"] is False
        stop = (await owner.post(f"{url}/messages", json={"text": "STOP"})).json()
        assert (stop["outcome"], stop["keyword"]) == ("keyword", "opt_out")
        asked = len(console.stack.llm.bodies)
        after = (await owner.post(f"{url}/messages", json={"text": "hello?"})).json()
        assert (after["outcome"], after["withheld"]) == ("withheld", "withdrawn")
        assert len(console.stack.llm.bodies) == asked  # no model saw it
        async with console.client(OTHER) as other:
            stolen = await other.post(f"{url}/messages", json={"text": "hi"})
            assert stolen.status_code == 404
        assert (
            await owner.post("/api/playground/sessions/not-a-session/messages", json={"text": "x"})
        ).status_code == 404
        assert (first["voice_note"], stop["voice_note"]) == (True, False)  # answers are spoken, keywords not
        assert (await owner.get(f"{url}/turns/1/voice")).headers["content-type"] == "audio/ogg"
        assert (await owner.get(f"{url}/turns/3/voice")).status_code == 404
        start = (await owner.post(f"{url}/messages", json={"text": "START"})).json()
        assert start["keyword"] == "opt_in"
        garbage = await owner.post(f"{url}/voice", content=b"not audio at all" * 64)
        assert garbage.json()["outcome"] == "audio_rejected"  # the tenant's fixed reply, as on WhatsApp
        assert garbage.json()["reply"]
        too_large = await owner.post(f"{url}/voice", content=b"\0" * (5 * 1024 * 1024 + 1))
        assert too_large.status_code == 413
        assert (await owner.delete(url)).status_code == 200
        assert (await owner.post(f"{url}/messages", json={"text": "hi"})).status_code == 404
    assert await playground_keys(redis) == []
    assert not console.stack.graph.messages
    records = await console.parts.rights.audit.records("default")
    actions = {(r.body["action"], r.body["outcome"]) for r in records}
    assert ("console.playground.turn", "keyword") in actions
    assert ("console.playground.end", "ok") in actions
    assert ("console.playground", "not_owner") in actions  # the agent's refusal, under the page asked for


@ON_SERVER_AND_CLUSTER
async def test_a_turn_that_ends_after_its_session_keeps_nothing(redis: RedisClient) -> None:
    """The race of an end (or expiry) with a turn in flight: the turn's write checks the session in the same
    script, so it cannot bring the session back."""
    store = PlaygroundStore(redis, keyring(), ttl_s=60)
    session = await store.open("default")
    sandbox, _ = await store.load(session, "default")
    assert sandbox == Sandbox("default")
    await store.end(session, "default")
    kept = await store.keep(session, replace(sandbox, turns=1), Conversation(), b"OggS")
    assert kept is False
    assert await playground_keys(redis) == []
    with pytest.raises(SessionGoneError):
        await store.load(session, "default")


async def test_every_part_of_a_session_expires_with_it(redis: RedisClient) -> None:
    store = PlaygroundStore(redis, keyring(), ttl_s=60)
    session = await store.open("default")
    with pytest.raises(SessionGoneError):
        await store.load(session, "sunrise-clinic")  # another tenant's session does not exist for it
    sandbox, _ = await store.load(session, "default")
    assert await store.keep(session, replace(sandbox, turns=1), Conversation(), b"OggS voice")
    keys = await playground_keys(redis)
    assert sorted(keys) == sorted(playground_key(session, p) for p in ("meta", "state", "audio:1"))
    for key in keys:
        assert 0 < await redis.ttl(key) <= 60
        assert b"voice" not in (await redis.dump(key) or b"")  # sealed
    assert await store.voice_note(session, "default", 1) == b"OggS voice"


async def test_tools_are_dry_runs_shown_minimized_and_restored(console: Console) -> None:
    """The clinic's assistant may save leads: the model's call is shown as it saw it (a placeholder), the dry
    run as the business system would have received it (the number), and nothing is sent anywhere."""
    console.stack.llm.forbidden.append(NUMBER)
    async with console.client(OTHER) as owner:
        session = (await owner.post("/api/playground/sessions")).json()["session"]
        said = f"I need a check-up, call me on {NUMBER}"
        turn = await owner.post(f"/api/playground/sessions/{session}/messages", json={"text": said})
        assert turn.status_code == 200, turn.text
        shown = turn.json()
    assert not console.stack.llm.leaks
    [call] = shown["tool_calls"]
    assert call["name"] == "capture_lead"
    assert "<PHONE_1>" in call["arguments"]
    assert json.loads(call["result"])["dry_run"] is True
    [dry_run] = shown["dry_runs"]
    # restored for the business system, as the vault's normalized value
    assert dry_run["arguments"]["need"] == "a check-up, call +91" + NUMBER.replace(" ", "")
    assert shown["prompt"] == console.stack.llm.requests[-1]["messages"]
    assert shown["prompt"][-1]["role"] == "tool"  # the turn's last request, after the tool loop
    [masked] = shown["masked"]
    assert (said[masked["start"] : masked["end"]], masked["type"]) == (NUMBER, "PHONE")
    assert not console.stack.graph.messages


async def test_the_console_loads_its_models_once_on_first_use(redis_backend: RedisBackend) -> None:
    """Production's engines (`open_runtime` on the console's HTTP client): concurrent first turns share one
    load, and the LLM is reached through the client the console gave it."""
    with serve_chat_peer(echo_reply) as peer:
        config = settings(redis_backend.url, llm_base_url=peer.base_url, llm_max_retries=0)
        sent: list[httpx.Request] = []
        async with httpx.AsyncClient(event_hooks={"request": [_record(sent)]}) as http:
            tenants = TenantRegistry.load(ROOT / "prompts")
            runtime = LazyRuntime(config, http, tenants)
            try:
                first, second = await asyncio.gather(runtime.load(), runtime.load())
                assert first is second
                answer = await first.runner.text("hello", Conversation(), TurnConfig("Be brief."))
                assert answer.reply_text == "You said: hello"
                assert [r.url.path for r in sent] == ["/v1/chat/completions"]
                default = tenants.get("default").config
                assert first.transcriber_for(default)
                assert first.voice(default)("Hello there.") is first.runner.voice  # the deployment's voice
            finally:
                await runtime.aclose()


def _record(sent: list[httpx.Request]) -> Callable[[httpx.Request], Awaitable[None]]:
    async def hook(request: httpx.Request) -> None:
        sent.append(request)

    return hook


async def test_one_turn_at_a_time_and_an_end_during_a_turn_wins(console: Console, redis: RedisClient) -> None:
    """The races: a second message while the model still answers the first is refused (409); a session
    ended while its turn waits for the model is gone, and the finished turn brings none of it back."""
    peer = console.stack.llm
    async with console.client() as owner:
        session = (await owner.post("/api/playground/sessions")).json()["session"]
        url = f"/api/playground/sessions/{session}"
        peer.hold = threading.Event()
        asked = len(peer.bodies)
        first = asyncio.create_task(owner.post(f"{url}/messages", json={"text": "hello"}))
        await eventually(lambda: len(peer.bodies) > asked)  # the turn waits for the model now
        assert (await owner.post(f"{url}/messages", json={"text": "again"})).status_code == 409
        assert (await owner.delete(url)).status_code == 200
        peer.hold.set()
        assert (await first).status_code == 404  # its session ended meanwhile
    assert await playground_keys(redis) == []
