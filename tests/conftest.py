"""Shared fixtures: the real bundled models (loaded once per test session) and the shared speech corpus."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.stt import WhisperTranscriber, load_whisper
from pipelines.tts import PiperSynthesizer, load_piper

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
def synthesizer() -> PiperSynthesizer:
    return PiperSynthesizer(load_piper())
