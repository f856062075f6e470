"""What a call process loads once (the `prewarm` step): speech recognition, synthesis, Silero VAD."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from livekit.agents import vad

    from agent.settings import Settings
    from pipelines.pii import PiiGuard
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

# Turn-taking tuned for the phone: the caller's turn ends after 0.3 s of silence (DESIGN.md §6 budget).
END_OF_SPEECH_SILENCE_S = 0.3


@dataclass(frozen=True, slots=True)
class CallModels:
    transcriber: WhisperTranscriber
    synthesizer: PiperSynthesizer
    vad: vad.VAD
    executor: ThreadPoolExecutor  # whisper runs here: one thread per concurrent recognition, never more
    pii: PiiGuard  # what the caller says is minimized here, off the event loop, within a budget

    def close(self) -> None:
        self.executor.shutdown(wait=False)
        self.pii.shutdown()

    @classmethod
    def load(cls, settings: Settings, *, stt_threads: int = 1) -> CallModels:
        """Blocking (about 1 s): call before taking calls. Silero's model ships inside its package."""
        from livekit.plugins import silero

        from agent.runtime import pii_guard
        from pipelines.stt import WhisperTranscriber, load_whisper
        from pipelines.tts import PiperSynthesizer, load_piper

        return cls(
            transcriber=WhisperTranscriber(
                load_whisper(settings.stt_model, window_s=settings.calls_stt_window_s)
            ),
            synthesizer=PiperSynthesizer(load_piper(settings.tts_voice)),
            vad=silero.VAD.load(min_silence_duration=END_OF_SPEECH_SILENCE_S),
            executor=ThreadPoolExecutor(max_workers=stt_threads, thread_name_prefix="call-stt"),
            pii=pii_guard(settings),
        )
