"""A Hindi-speaking person gets the Hindi texts in chat, end to end (tests/agent/stack.py: the real app,
worker, Redis and models; the Graph API and the LLM are local peers on 127.0.0.1): the disclosure and the
fallback of a failed LLM in the language they wrote in, the unsupported-message reply in the business's
language, and a tenant's own text over the built-in one."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from pipelines.texts import ENGLISH, HINDI
from tests.agent.stack import TOKEN, TOKEN_ENV, Stack, eventually, running_stack
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager
    from pathlib import Path

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.redis_server import RedisServer

PRIYA, ALICE = "919812345678", "919876543210"
BUSINESS = "Suryoday Solar"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _prompts(tmp_path: Path, **changes: Any) -> Path:
    """The default tenant with `changes` to its tenant.yaml (its `fallbacks:` dropped: built-in texts)."""
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", prompts / "default")
    path = prompts / "default" / "tenant.yaml"
    config = yaml.safe_load(path.read_text())
    del config["fallbacks"]
    path.write_text(yaml.safe_dump(config | changes, allow_unicode=True))
    return prompts


def _first(texts_disclosure: str, text: str) -> str:
    return f"{texts_disclosure.replace('{business}', BUSINESS)}\n\n{text}"


@pytest.fixture
def stack_on(
    redis: Redis, redis_server: RedisServer, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> Callable[[Path], AbstractAsyncContextManager[Stack]]:
    """The stack on a prompts folder of the test's own."""
    return lambda prompts: running_stack(
        redis, redis_server.url, transcriber, synthesizer, prompts_dir=prompts
    )


async def test_a_hindi_message_gets_the_hindi_disclosure_and_fallback_an_english_one_english(
    tmp_path: Path, stack_on: Callable[[Path], AbstractAsyncContextManager[Stack]]
) -> None:
    async with stack_on(_prompts(tmp_path, languages=["hi"])) as stack:
        stack.llm.fail_with = 500
        await stack.post(wh.payload(messages=[wh.text(PRIYA, "wamid.h1", "नमस्ते, सोलर पैनल की क़ीमत क्या है?")]))
        await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.e1", "how much are solar panels?")]))
        await eventually(lambda: len(stack.graph.messages) == 2)
        (hindi,) = stack.sent_to(PRIYA)
        (english,) = stack.sent_to(ALICE)
    assert hindi["text"]["body"] == _first(HINDI.disclosure, HINDI.unavailable)
    assert english["text"]["body"] == _first(ENGLISH.disclosure, ENGLISH.unavailable)


async def test_a_hindi_business_answers_a_sticker_in_hindi_and_its_own_text_wins(
    tmp_path: Path, stack_on: Callable[[Path], AbstractAsyncContextManager[Stack]]
) -> None:
    own = "माफ़ कीजिए, स्टिकर हम नहीं पढ़ सकते। अपना सवाल लिखकर या वॉइस नोट में भेजिए।"
    prompts = _prompts(tmp_path, language="hi", languages=["en"], texts={"hi": {"unsupported": own}})
    async with stack_on(prompts) as stack:
        sticker = wh.message("sticker", PRIYA, "wamid.s1", sticker={"id": "st.1", "mime_type": "image/webp"})
        await stack.post(wh.payload(messages=[sticker]))
        await eventually(lambda: len(stack.graph.messages) == 1)
        (reply,) = stack.sent_to(PRIYA)
    assert reply["text"]["body"] == _first(HINDI.disclosure, own)
    assert not stack.llm.requests
