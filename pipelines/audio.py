"""Audio in and out: decode whatever WhatsApp sends to 16 kHz mono float32; encode replies as Opus voice notes.

PyAV (FFmpeg with libopus, bundled in its wheel) does the codec work in-process; pydub does in-memory edits
on PCM (padding, joining, loudness) where its `AudioSegment` API is clearer than array arithmetic.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import StrEnum

import av
import numpy as np
import numpy.typing as npt

with warnings.catch_warnings():
    # pydub looks for an ffmpeg binary at import; we only hand it raw PCM, which needs none.
    warnings.filterwarnings("ignore", "Couldn't find ffmpeg", RuntimeWarning)
    from pydub import AudioSegment, effects

STT_SAMPLE_RATE = 16_000
MAX_INPUT_BYTES = 16 * 1024 * 1024  # WhatsApp's own cap for audio media
DEFAULT_MAX_DURATION_S = 600.0
SILENCE_DBFS = -60.0

# Opus runs at 48 kHz internally; libopus accepts 8/12/16/24/48 kHz input.
_OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)

Float32Array = npt.NDArray[np.float32]
Int16Array = npt.NDArray[np.int16]


class AudioProblem(StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TOO_LONG = "too_long"
    CORRUPT = "corrupt"
    NO_AUDIO_STREAM = "no_audio_stream"
    SILENT = "silent"


class AudioError(Exception):
    """Audio that cannot become a turn. `problem` is safe to show and to build a user reply from."""

    def __init__(self, problem: AudioProblem, detail: str = "") -> None:
        self.problem = problem
        self.detail = detail
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)


@dataclass(frozen=True, slots=True)
class Pcm:
    """Mono PCM. float32 in [-1, 1] for models; `to_int16()` for codecs and pydub."""

    samples: Float32Array
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def to_int16(self) -> Int16Array:
        return (np.clip(self.samples, -1.0, 1.0) * 32767.0).astype(np.int16)

    @classmethod
    def from_int16(cls, samples: Int16Array, sample_rate: int) -> Pcm:
        return cls(samples.astype(np.float32) / 32768.0, sample_rate)


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_bytes: int = MAX_INPUT_BYTES
    max_duration_s: float = DEFAULT_MAX_DURATION_S


def decode(data: bytes, limits: DecodeLimits = DecodeLimits()) -> Pcm:
    """Decode OGG/Opus, MP3, AAC/M4A, AMR, WAV, FLAC, … to 16 kHz mono float32.

    Checks the size before touching the codec and the duration while decoding, so a 10-hour file costs
    no more than `max_duration_s` of work.
    """
    if not data:
        raise AudioError(AudioProblem.EMPTY)
    if len(data) > limits.max_bytes:
        raise AudioError(AudioProblem.TOO_LARGE, f"{len(data)} bytes > {limits.max_bytes}")
    max_samples = int(limits.max_duration_s * STT_SAMPLE_RATE)
    chunks: list[Float32Array] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(AudioProblem.NO_AUDIO_STREAM)
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=STT_SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > max_samples:
                    raise AudioError(AudioProblem.TOO_LONG, f"longer than {limits.max_duration_s:g} s")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise AudioError(AudioProblem.CORRUPT, type(exc).__name__) from None
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if len(samples) == 0:
        raise AudioError(AudioProblem.EMPTY, "no decodable samples")
    if len(samples) > max_samples:
        raise AudioError(AudioProblem.TOO_LONG, f"longer than {limits.max_duration_s:g} s")
    if loudness_dbfs(samples) < SILENCE_DBFS:
        raise AudioError(AudioProblem.SILENT)
    return Pcm(samples, STT_SAMPLE_RATE)


def loudness_dbfs(samples: Float32Array) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


@dataclass(frozen=True, slots=True)
class VoiceNoteFormat:
    """What WhatsApp plays inline as a voice message: OGG container, Opus codec, one channel."""

    bitrate: int = 32_000
    sample_rate: int = 48_000
    application: str = "voip"


def encode_voice_note(pcm: Pcm, fmt: VoiceNoteFormat = VoiceNoteFormat()) -> bytes:
    """Encode mono PCM as an OGG/Opus voice note."""
    if len(pcm.samples) == 0:
        raise AudioError(AudioProblem.EMPTY, "nothing to encode")
    encoder = VoiceNoteEncoder(fmt)
    encoder.add(pcm)
    return encoder.finish()


class VoiceNoteEncoder:
    """An OGG/Opus voice note written as its audio arrives (a reply sentence at a time), so encoding overlaps
    synthesis instead of following it. Not thread-safe: feed it from one thread at a time, in order."""

    def __init__(self, fmt: VoiceNoteFormat = VoiceNoteFormat()) -> None:
        self._rate = fmt.sample_rate if fmt.sample_rate in _OPUS_RATES else 48_000
        self._buffer = io.BytesIO()
        self._container = av.open(self._buffer, mode="w", format="ogg")
        self._stream = self._container.add_stream(
            "libopus", rate=self._rate, options={"application": fmt.application}
        )
        self._stream.bit_rate = fmt.bitrate
        self._stream.layout = "mono"
        self._resampler: av.AudioResampler | None = None
        self._input_rate = 0
        self._samples = 0

    def add(self, pcm: Pcm) -> None:
        if self._resampler is not None and pcm.sample_rate != self._input_rate:
            self._resample(None)  # a clip at another rate: drain the old resampler first
            self._resampler = None
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=self._rate)
            self._input_rate = pcm.sample_rate
        frame = av.AudioFrame.from_ndarray(pcm.to_int16().reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = pcm.sample_rate
        self._samples += len(pcm.samples)
        self._resample(frame)

    def _resample(self, frame: av.AudioFrame | None) -> None:
        assert self._resampler is not None
        for resampled in self._resampler.resample(frame):
            resampled.pts = None  # the muxer numbers packets itself: clips at several rates stay in order
            for packet in self._stream.encode(resampled):
                self._container.mux(packet)

    def finish(self) -> bytes:
        """Flush and close; the voice note's bytes."""
        if self._samples == 0:
            self.close()
            raise AudioError(AudioProblem.EMPTY, "nothing to encode")
        self._resample(None)
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self.close()
        return self._buffer.getvalue()

    def close(self) -> None:
        """Release the codec (also for a note abandoned half-way); idempotent."""
        self._container.close()


def _segment(pcm: Pcm) -> AudioSegment:
    return AudioSegment(pcm.to_int16().tobytes(), frame_rate=pcm.sample_rate, sample_width=2, channels=1)


def _pcm(segment: AudioSegment) -> Pcm:
    samples = np.frombuffer(segment.raw_data, dtype=np.int16)
    return Pcm.from_int16(samples, segment.frame_rate)


def join(parts: list[Pcm], gap_ms: int = 250) -> Pcm:
    """Concatenate clips (e.g. a spoken disclosure, then the reply) with a short pause between them."""
    if not parts:
        raise AudioError(AudioProblem.EMPTY, "nothing to join")
    rate = parts[0].sample_rate
    out = _segment(parts[0])
    for part in parts[1:]:
        out += AudioSegment.silent(duration=gap_ms, frame_rate=rate) + _segment(part).set_frame_rate(rate)
    return _pcm(out)


def polish(pcm: Pcm, pad_ms: int = 120, headroom_db: float = 1.0) -> Pcm:
    """Peak-normalize and pad both ends, so the first syllable is not clipped by the player's fade-in."""
    pad = quiet(pad_ms, pcm.sample_rate)
    return Pcm(
        np.concatenate([pad.samples, normalize(pcm, headroom_db).samples, pad.samples]), pcm.sample_rate
    )


def normalize(pcm: Pcm, headroom_db: float = 1.0) -> Pcm:
    """Peak-normalized to `headroom_db` below full scale (a streamed reply does this sentence by sentence)."""
    return _pcm(effects.normalize(_segment(pcm), headroom=headroom_db))


def quiet(ms: int, sample_rate: int) -> Pcm:
    """`ms` of digital silence."""
    return Pcm(np.zeros(sample_rate * ms // 1000, np.float32), sample_rate)
