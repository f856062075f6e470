"""The call recording, for tenants that record calls, and only from the caller's yes on: both sides of the call
mixed to 16 kHz mono as they pass the bridge, encoded as an Opus note when the call ends, and kept sealed in T2
under the `call_recording` purpose (the gate checks that purpose again at that moment)."""

from __future__ import annotations

import numpy as np

RECORD_RATE = 16_000


def _to_record_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == RECORD_RATE * 3 and len(samples) % 3 == 0:  # 48 kHz, the call's rate: a 3-sample mean
        return np.asarray(samples.astype(np.float32).reshape(-1, 3).mean(axis=1), dtype=np.float32)
    n = int(len(samples) * RECORD_RATE / rate)
    points = np.arange(n) * rate / RECORD_RATE
    return np.asarray(
        np.interp(points, np.arange(len(samples)), samples.astype(np.float32)), dtype=np.float32
    )


class CallRecorder:
    """Both sides arrive as continuous real-time streams (the caller's track and our paced 20 ms frames,
    silence included), so appending each side and summing them keeps them aligned. Nothing is kept before
    `start()`; at most `max_s` seconds are kept (the call's own limit)."""

    def __init__(self, max_s: float = 600.0) -> None:
        self._sides: dict[str, list[np.ndarray]] = {"caller": [], "agent": []}
        self._lengths = {"caller": 0, "agent": 0}
        self._max = int(max_s * RECORD_RATE)
        self.armed = False

    def start(self) -> None:
        self.armed = True

    def add(self, side: str, samples: np.ndarray, rate: int) -> None:
        """int16 samples of one side (`caller` or `agent`)."""
        if not self.armed or self._lengths[side] >= self._max:
            return
        part = _to_record_rate(samples, rate)
        self._sides[side].append(part)
        self._lengths[side] += len(part)

    def mixed(self) -> np.ndarray | None:
        """The call as float32 16 kHz mono in [-1, 1], or None when nothing was recorded."""
        length = max(self._lengths.values())
        if not self.armed or length == 0:
            return None
        mix = np.zeros(length, dtype=np.float32)
        for parts in self._sides.values():
            if parts:
                side = np.concatenate(parts)
                mix[: len(side)] += side
        return np.asarray(np.clip(mix / 32768.0, -1.0, 1.0), dtype=np.float32)
