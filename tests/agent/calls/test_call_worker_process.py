"""`leadclose calls` as a real child process (real redis-server, the local LLM peer as its endpoint): it loads
its models, starts answering and stops cleanly on SIGTERM. The in-process call tests build their call worker
from parts, so only this one goes through `run_call_worker` itself."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tests.agent.stack import MASTER, TOKEN, TOKEN_ENV, echo_reply
from tests.agent.worker_process import WorkerProcess
from tests.conftest import ROOT
from tests.llm_peer import serve_chat_peer

if TYPE_CHECKING:
    from tests.redis_server import RedisServer


async def test_the_call_worker_process_starts_with_its_models_and_stops_on_sigterm(
    redis_server: RedisServer,
) -> None:
    with serve_chat_peer(echo_reply) as llm:
        env = {
            "LEADCLOSE_REDIS_URL": redis_server.url,
            "LEADCLOSE_PROMPTS_DIR": str(ROOT / "prompts"),
            "LEADCLOSE_MASTER_KEY": MASTER,
            "LEADCLOSE_LLM_BASE_URL": llm.base_url,
            "LEADCLOSE_LLM_MODEL": "test-model",
            TOKEN_ENV: TOKEN,
        }
        process = WorkerProcess(env, args=["calls"])
        try:
            await asyncio.to_thread(process.start)
            assert await asyncio.to_thread(process.terminate) == 0
        finally:
            process.stop()
    assert any("calls.stopped" in line for line in process.log)
    assert not any("Traceback" in line for line in process.log)
