"""The console with its drafts desk over the whole stack (tests/agent/stack.py) on a copy of `prompts/`, the
worker's registry kept current by the real hot-reload watcher, and the LLM peer answering from the system
prompt it receives: it says whether that prompt holds the fact a draft adds."""

from __future__ import annotations

import asyncio
import shutil
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest_asyncio

from agent.console.drafts import DraftDesk, folder_checker
from agent.console.playground_turn import Engines, LoadedEngines
from agent.engines.runtime import llm_client
from agent.tenants.drafts import TenantVersions
from agent.tenants.reload import watch_tenants
from pipelines.llm import Responder
from pipelines.turn import TurnRunner
from tests.agent.console.stack import running_console
from tests.agent.stack import TOKEN, TOKEN_ENV, running_stack
from tests.agent.stack import settings as stack_settings
from tests.conftest import ROOT
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import pytest

    from agent.storage.redis_client import RedisClient
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.agent.console.stack import Console
    from tests.conftest import RedisBackend

NEW_FACT = "Battery backup: a 10 kWh lithium battery, 8 years warranty."
KNOWS = "Yes, we fit a 10 kWh battery."
DOES_NOT_KNOW = "I do not have that in my knowledge."


def answer_from_system_prompt(messages: list[dict[str, Any]]) -> str:
    """The LLM peer's reply: what the system prompt it was sent says about batteries."""
    system = messages[0]
    assert system["role"] == "system"
    return KNOWS if NEW_FACT in system["content"] else DOES_NOT_KNOW


@asynccontextmanager
async def drafts_console(
    redis: RedisClient,
    redis_url: str,
    transcriber: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
    tmp_path: Path,
) -> AsyncIterator[Console]:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    async with running_stack(
        redis, redis_url, transcriber, synthesizer, reply=answer_from_system_prompt, prompts_dir=prompts
    ) as stack:
        config = stack_settings(redis_url, prompts, llm_max_retries=0)
        llm = llm_client(config, stack.llm.base_url)
        runner = TurnRunner(
            transcriber, pii_guard(), Responder(llm, "test-model", timeout_s=2.0), synthesizer
        )
        desk = DraftDesk(
            TenantVersions(prompts), folder_checker(config, stack.tenants), stack.privacy.rights,
            stack.tenants, LoadedEngines(Engines(runner, stack.llm.base_url)),
        )  # fmt: skip
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_tenants(stack.tenants, stop, every_s=0.05))
        try:
            async with running_console(stack, redis, drafts=desk) as console:
                yield console
        finally:
            stop.set()
            await watcher
            await llm.close()


def drafts_console_fixture() -> Any:
    """A module's `console` fixture: `drafts_console` on the test's Redis, the default tenant's token set."""

    @pytest_asyncio.fixture
    async def console(
        redis: RedisClient,
        redis_backend: RedisBackend,
        transcriber: WhisperTranscriber,
        synthesizer: PiperSynthesizer,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> AsyncIterator[Console]:
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        async with drafts_console(redis, redis_backend.url, transcriber, synthesizer, tmp_path) as c:
            yield c

    return console


__all__ = ["DOES_NOT_KNOW", "KNOWS", "NEW_FACT", "drafts_console", "drafts_console_fixture"]
