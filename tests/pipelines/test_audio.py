"""Decoding every format WhatsApp delivers, encoding voice notes, and the defined failures (real PyAV codecs)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import av
import numpy as np
import pytest

from pipelines.audio import (
    STT_SAMPLE_RATE,
    AudioError,
    AudioProblem,
    DecodeLimits,
    Pcm,
    decode,
    encode_voice_note,
    join,
    loudness_dbfs,
    polish,
)

if TYPE_CHECKING:
    from tests.conftest import Clip


def _speech(corpus: list[Clip]) -> Pcm:
    clip = next(c for c in corpus if c.path.name == "1089-134686-0000.flac")
    return decode(clip.path.read_bytes())


def _encode(pcm: Pcm, fmt: str, codec: str, rate: int, layout: str = "mono") -> bytes:
    """Re-encode real speech into another container/codec with PyAV, as a phone would have sent it."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        sample_fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=sample_fmt, layout=layout, rate=rate)
        frame = av.AudioFrame.from_ndarray(pcm.to_int16().reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = pcm.sample_rate
        frame_size = stream.codec_context.frame_size or 1024
        fifo = av.AudioFifo()
        for out in [*resampler.resample(frame), *resampler.resample(None)]:
            fifo.write(out)
        while (chunk := fifo.read(frame_size)) is not None:
            for packet in stream.encode(chunk):
                container.mux(packet)
        if fifo.samples:
            for packet in stream.encode(fifo.read(fifo.samples)):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "layout"),
    [
        ("ogg", "libopus", 48_000, "mono"),
        ("mp3", "libmp3lame", 44_100, "stereo"),
        ("ipod", "aac", 44_100, "stereo"),  # .m4a
        ("adts", "aac", 16_000, "mono"),  # raw .aac
        ("amr", "libopencore_amrnb", 8_000, "mono"),
        ("wav", "pcm_s16le", 22_050, "stereo"),
        ("flac", "flac", 48_000, "mono"),
    ],
)
def test_decodes_whatsapp_formats_to_16k_mono_float(
    corpus: list[Clip], fmt: str, codec: str, rate: int, layout: str
) -> None:
    original = _speech(corpus)
    data = _encode(original, fmt, codec, rate, layout)
    pcm = decode(data)
    assert pcm.sample_rate == STT_SAMPLE_RATE
    assert pcm.samples.dtype == np.float32
    assert pcm.samples.ndim == 1
    assert abs(pcm.duration_s - original.duration_s) < 0.15
    assert loudness_dbfs(pcm.samples) > -40


def test_shared_voice_notes_decode(corpus: list[Clip]) -> None:
    for clip in (c for c in corpus if c.path.suffix == ".ogg"):
        pcm = decode(clip.path.read_bytes())
        assert abs(pcm.duration_s - clip.duration_s) < 0.1, clip.path.name


def test_empty_input_is_rejected() -> None:
    with pytest.raises(AudioError) as err:
        decode(b"")
    assert err.value.problem is AudioProblem.EMPTY


def test_garbage_is_corrupt() -> None:
    with pytest.raises(AudioError) as err:
        decode(b"this is not audio at all" * 200)
    assert err.value.problem is AudioProblem.CORRUPT


def test_truncated_file_is_corrupt(corpus: list[Clip]) -> None:
    data = next(c for c in corpus if c.path.suffix == ".flac").path.read_bytes()
    with pytest.raises(AudioError) as err:
        decode(data[:300])
    assert err.value.problem in (AudioProblem.CORRUPT, AudioProblem.EMPTY)


def test_oversized_input_is_rejected_before_decoding() -> None:
    with pytest.raises(AudioError) as err:
        decode(b"\0" * 2048, DecodeLimits(max_bytes=1024))
    assert err.value.problem is AudioProblem.TOO_LARGE


def test_too_long_audio_is_rejected(corpus: list[Clip]) -> None:
    data = next(c for c in corpus if c.path.name == "voicenote_118s_1089-134686.ogg").path.read_bytes()
    with pytest.raises(AudioError) as err:
        decode(data, DecodeLimits(max_duration_s=60))
    assert err.value.problem is AudioProblem.TOO_LONG


def test_silence_is_rejected() -> None:
    silence = Pcm(np.zeros(STT_SAMPLE_RATE * 3, np.float32), STT_SAMPLE_RATE)
    note = encode_voice_note(Pcm(silence.samples + 1e-5, STT_SAMPLE_RATE))
    with pytest.raises(AudioError) as err:
        decode(note)
    assert err.value.problem is AudioProblem.SILENT


def test_video_without_audio_stream_is_rejected() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=5)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    with pytest.raises(AudioError) as err:
        decode(buffer.getvalue())
    assert err.value.problem is AudioProblem.NO_AUDIO_STREAM


def test_voice_note_is_ogg_opus_mono_at_voip_bitrate(corpus: list[Clip]) -> None:
    pcm = _speech(corpus)
    note = encode_voice_note(pcm)
    with av.open(io.BytesIO(note)) as container:
        assert container.format.name == "ogg"
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.channels == 1
    kbps = len(note) * 8 / pcm.duration_s / 1000
    assert 20 <= kbps <= 40
    assert abs(decode(note).duration_s - pcm.duration_s) < 0.1


def test_join_and_polish_edit_in_memory(corpus: list[Clip]) -> None:
    pcm = _speech(corpus)
    joined = join([pcm, pcm], gap_ms=500)
    assert abs(joined.duration_s - (2 * pcm.duration_s + 0.5)) < 0.01
    quiet = Pcm(pcm.samples * 0.05, pcm.sample_rate)
    polished = polish(quiet, pad_ms=200)
    assert abs(polished.duration_s - (pcm.duration_s + 0.4)) < 0.01
    assert float(np.max(np.abs(polished.samples))) > 0.8
