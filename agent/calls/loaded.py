"""What a call process loads once (the `prewarm` step): speech recognition, synthesis, Silero VAD and the
Smart Turn end-of-turn model (when it is installed; without it, turns end on silence alone, with a warning)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from agent.calls.turn_detector import TurnJudge

if TYPE_CHECKING:
    from pathlib import Path

    from livekit.agents import vad

    from agent.settings import Settings
    from pipelines.pii import PiiGuard
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from pipelines.turn_end import SmartTurn

log = structlog.get_logger()

# Turn-taking tuned for the phone. The VAD closes an utterance after 0.3 s of silence (DESIGN.md §6 budget);
# with the turn model, a pause is judged at each ask (seconds of silence, threshold of "finished"): at 0.2 s and
# again at 0.8 s, but the caller is answered no sooner than ANSWER_AFTER_S after the speech (one who goes on
# within it is heard out: most breaths between clauses are shorter); otherwise the turn ends MAX_TURN_WAIT_S
# after the speech (or the caller goes on). Numbers and the alternatives measured: bench/turn_detect.py.
END_OF_SPEECH_SILENCE_S = 0.3
TURN_ASKS = ((0.2, 0.5), (0.8, 0.5))
ANSWER_AFTER_S = 0.6
MAX_TURN_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class CallModels:
    transcriber: WhisperTranscriber
    synthesizer: PiperSynthesizer
    vad: vad.VAD
    executor: ThreadPoolExecutor  # whisper runs here: one thread per concurrent recognition, never more
    pii: PiiGuard  # what the caller says is minimized here, off the event loop, within a budget
    turn_model: SmartTurn | None = None  # None: silence alone ends a turn
    turn_executor: ThreadPoolExecutor | None = None  # the turn model's own thread: it never waits behind STT
    turn_asks: tuple[tuple[float, float], ...] = TURN_ASKS  # when a pause is judged, and the bar then

    @classmethod
    def load(cls, settings: Settings, *, stt_threads: int = 1) -> CallModels:
        """Blocking (about 1 s): call before taking calls. Silero's model ships inside its package."""
        from livekit.plugins import silero

        from agent.engines.runtime import pii_guard
        from pipelines.stt import WhisperTranscriber, load_whisper
        from pipelines.tts import PiperSynthesizer, load_piper

        turn_model = load_turn_model(settings.calls_turn_model)
        return cls(
            transcriber=WhisperTranscriber(
                load_whisper(
                    settings.stt_model, window_s=settings.calls_stt_window_s, cpu_threads=settings.stt_threads
                )
            ),
            synthesizer=PiperSynthesizer(load_piper(settings.tts_voice, threads=settings.tts_threads)),
            vad=silero.VAD.load(min_silence_duration=END_OF_SPEECH_SILENCE_S),
            executor=ThreadPoolExecutor(max_workers=stt_threads, thread_name_prefix="call-stt"),
            pii=pii_guard(settings),
            turn_model=turn_model,
            turn_executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="call-turn")
            if turn_model
            else None,
        )

    def turn_judge(self) -> TurnJudge | None:
        """How this process judges a caller's pause; None without the model (silence alone decides)."""
        if self.turn_model is None or self.turn_executor is None:
            return None
        return TurnJudge(
            self.turn_model,
            self.turn_executor,
            asks=self.turn_asks,
            answer_after_s=ANSWER_AFTER_S,
            max_wait_s=MAX_TURN_WAIT_S,
        )

    def close(self, *, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait)
        if self.turn_executor is not None:
            self.turn_executor.shutdown(wait=wait)
        self.pii.shutdown()


def load_turn_model(path: Path | None = None) -> SmartTurn | None:
    """The Smart Turn model, or None with a warning when it is missing or fails its checksum (calls still
    work: their turns end on silence, and a caller pausing mid-sentence may be answered too early)."""
    from pipelines.turn_end import SmartTurn, TurnModelError

    try:
        return SmartTurn.load(path)
    except TurnModelError as exc:
        log.warning("calls.turn_model_unavailable", reason=exc.reason, fallback="silence")
        return None
