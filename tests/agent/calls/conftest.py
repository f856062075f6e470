"""Fixtures of the call tests: the models a call process loads once, and the tenant's Graph token."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from agent.calls.loaded import END_OF_SPEECH_SILENCE_S, CallModels, load_turn_model
from agent.settings import CALL_STT_WINDOW_S
from pipelines.audio import decode
from pipelines.stt import WhisperTranscriber, load_whisper
from tests.agent.calls.caller import to_call_rate
from tests.agent.stack import TOKEN, TOKEN_ENV
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from pipelines.tts import PiperSynthesizer
    from tests.conftest import Clip


@pytest.fixture(scope="session")
def call_models(synthesizer: PiperSynthesizer) -> Iterator[CallModels]:
    """As a call process loads them: whisper with the calls' shorter window and the installed Smart Turn
    model (./run installs it; the tests need it). (The tests' own ear, the `transcriber` fixture, keeps
    Whisper's full window.)"""
    from livekit.plugins import silero

    turn_model = load_turn_model()
    assert turn_model is not None, "Smart Turn model not installed: run ./run setup"
    models = CallModels(
        WhisperTranscriber(load_whisper("tiny.en", window_s=CALL_STT_WINDOW_S)),
        synthesizer,
        silero.VAD.load(min_silence_duration=END_OF_SPEECH_SILENCE_S),
        ThreadPoolExecutor(max_workers=1),
        pii_guard(),
        turn_model,
        ThreadPoolExecutor(max_workers=1),
    )
    yield models
    models.executor.shutdown()  # not `close()`: the PII guard's executor is shared (tests/pii_guard.py)
    if models.turn_executor is not None:
        models.turn_executor.shutdown()


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def speech(clip: Clip) -> np.ndarray:
    """A corpus clip as the caller's phone sends it: 48 kHz int16."""
    return to_call_rate(decode(clip.path.read_bytes()))
