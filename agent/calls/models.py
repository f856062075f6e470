"""What a call process loads once (the `prewarm` step): speech recognition, synthesis, Silero VAD."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from livekit.agents import vad

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

# Turn-taking tuned for the phone: the caller's turn ends after 0.3 s of silence (DESIGN.md §6 budget).
END_OF_SPEECH_SILENCE_S = 0.3
# A caller's utterance is a few seconds: whisper encodes a 15 s window instead of 30 s (0.19 instead of
# 0.38 s per utterance with tiny.en on 2 cores; WER on short clips 5.6 % instead of 2.6 %, see pipelines/stt.py).
# `LEADCLOSE_CALLS_STT_WINDOW_S` overrides it.
CALL_STT_WINDOW_S = 15.0


@dataclass(frozen=True, slots=True)
class CallModels:
    transcriber: WhisperTranscriber
    synthesizer: PiperSynthesizer
    vad: vad.VAD
    executor: ThreadPoolExecutor  # whisper runs here: one thread per concurrent recognition, never more

    @classmethod
    def load(
        cls,
        stt_model: str = "tiny.en",
        tts_voice: str = "en_US-joe-medium",
        *,
        stt_threads: int = 1,
        stt_window_s: float = CALL_STT_WINDOW_S,
    ) -> CallModels:
        """Blocking (about 1 s): call before taking calls. Silero's model ships inside its package."""
        from livekit.plugins import silero

        from pipelines.stt import WhisperTranscriber, load_whisper
        from pipelines.tts import PiperSynthesizer, load_piper

        return cls(
            transcriber=WhisperTranscriber(load_whisper(stt_model, window_s=stt_window_s)),
            synthesizer=PiperSynthesizer(load_piper(tts_voice)),
            vad=silero.VAD.load(min_silence_duration=END_OF_SPEECH_SILENCE_S),
            executor=ThreadPoolExecutor(max_workers=stt_threads, thread_name_prefix="call-stt"),
        )
