"""The durability probe: a server with WAITAOF (Redis >= 7.2) that runs without AOF is a clear start-up error,
not a 503 on every webhook. The real redis-server here is Debian's 7.0 (no WAITAOF), so the mismatch itself is
shown on the decision function, and the probe's reading of the server on the real one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from agent.messages.ingress import Durability, durability_problem, has_waitaof
from tests.conftest import redis_client
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("version", "expected"), [("7.0.15", False), ("7.2.0", True), ("7.4.1", True), ("8.0.2", True)]
)
def test_waitaof_comes_with_7_2(version: str, expected: bool) -> None:
    assert has_waitaof(version) is expected


def test_only_waitaof_without_aof_is_a_problem() -> None:
    problem = durability_problem(waitaof=True, aof_enabled=False)
    assert problem is not None
    assert "appendonly yes" in problem
    assert durability_problem(waitaof=True, aof_enabled=True) is None
    assert durability_problem(waitaof=False, aof_enabled=False) is None  # relies on appendfsync, as before


@pytest.mark.parametrize("aof", ["yes", "no"])
async def test_the_probe_reads_the_real_server(tmp_path: Path, aof: str) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    client = redis_client(server.url)
    try:
        await client.config_set("appendonly", aof)
        durability = Durability(client)
        await durability.probe()  # 7.0 has no WAITAOF: no error either way
        info = await client.info("server")
        assert durability.available is has_waitaof(str(info["redis_version"]))
        await durability.wait()  # and a webhook's wait succeeds
    finally:
        await client.aclose()
        server.stop()
