"""Piper with the bundled voice: sentence streaming, and a voice note that transcribes back to its text."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import av
import jiwer
import pytest
from openai import AsyncOpenAI
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.audio import decode, encode_voice_note, polish
from pipelines.tts import OpenAISynthesizer, PiperSynthesizer, TTSError, resolve_voice
from tests.llm_peer import serve_chat_peer

if TYPE_CHECKING:
    from pathlib import Path

    from pipelines.stt import WhisperTranscriber

# tiny.en mishears domain words in Piper's voice ("kilowatt" -> "kill-watt", "lakh"); the reply avoids them
# so the test measures the synthesis and codec path, not tiny.en's vocabulary.
REPLY = (
    "Thank you for your message. Our smallest solar system costs about two thousand dollars "
    "before the subsidy. Installation takes two to three days after the free site survey. "
    "Would you like us to call you back tomorrow morning?"
)


async def test_reply_round_trips_through_a_voice_note(
    synthesizer: PiperSynthesizer, transcriber: WhisperTranscriber
) -> None:
    speech = await synthesizer.synthesize(REPLY)
    note = encode_voice_note(polish(speech))
    with av.open(io.BytesIO(note)) as container:
        assert container.format.name == "ogg"
        assert container.streams.audio[0].codec_context.name == "opus"
        assert container.streams.audio[0].codec_context.channels == 1
    transcript = transcriber.transcribe(decode(note))
    normalize = EnglishTextNormalizer()
    wer = jiwer.wer(normalize(REPLY), normalize(transcript.text))
    print(f"round-trip WER {wer:.4f}")
    assert wer <= 0.10


async def test_stream_yields_one_clip_per_sentence(synthesizer: PiperSynthesizer) -> None:
    clips = [clip async for clip in synthesizer.stream(REPLY)]
    assert len(clips) == 4
    assert all(c.sample_rate == synthesizer.sample_rate == 22_050 for c in clips)
    assert all(c.duration_s > 0.5 for c in clips)
    whole = await synthesizer.synthesize(REPLY)
    # Piper samples phoneme durations with noise, so two syntheses differ slightly in length.
    assert abs(whole.duration_s - sum(c.duration_s for c in clips)) < 0.1 * whole.duration_s


def test_unknown_voice_is_a_clear_error(tmp_path: Path) -> None:
    assert resolve_voice("en_US-joe-medium").suffix == ".onnx"
    with pytest.raises(TTSError, match="neither the bundled voice"):
        resolve_voice(str(tmp_path / "missing.onnx"))


async def test_openai_tts_requests_pcm_per_sentence() -> None:
    """Against the local OpenAI-compatible peer (tests/llm_peer.py) standing in for the hosted TTS."""
    with serve_chat_peer(lambda _: "") as peer:
        client = AsyncOpenAI(base_url=peer.base_url, api_key="test-key", max_retries=0)
        synthesizer = OpenAISynthesizer(client, model="gpt-4o-mini-tts", voice="alloy")
        clips = [clip async for clip in synthesizer.stream("Hello there. How are you today?")]
        requests = [json.loads(b) for b in peer.speech_bodies]
        assert [r["input"] for r in requests] == ["Hello there.", "How are you today?"]
        assert all(r["model"] == "gpt-4o-mini-tts" and r["voice"] == "alloy" for r in requests)
        assert [c.sample_rate for c in clips] == [24_000, 24_000]
        assert [round(c.duration_s, 2) for c in clips] == [0.6, 1.2]
        peer.fail_with = 503
        with pytest.raises(TTSError, match="openai: InternalServerError"):
            await synthesizer.synthesize("Anything.")
        await client.close()
