"""The `AgentSession` every call runs in, whichever transport brings the audio (WhatsApp WebRTC or a LiveKit
room): our STT/TTS plugins, Silero VAD, Smart Turn end-of-turn detection, turn-taking tuned for the phone, and
its per-turn metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from livekit.agents import AgentSession, APIConnectOptions, llm
from livekit.agents.voice.agent_session import SessionConnectOptions

from agent.calls.loaded import END_OF_SPEECH_SILENCE_S, MAX_TURN_WAIT_S
from agent.calls.stt import WhisperSTT
from agent.calls.tts import SynthesizerTTS

if TYPE_CHECKING:
    from agent.calls.llm import AutomationLLM
    from agent.calls.loaded import CallModels
    from agent.metrics import Metrics
    from pipelines.tts import Synthesizer


def voice_session(
    models: CallModels, llm_: AutomationLLM, voice: Synthesizer, *, silence_timeout_s: float
) -> AgentSession[None]:
    """Barge-in on: the caller talking for a quarter of a second stops the agent (it is quiet at the caller
    ~0.5 s after they began, transport included; a shorter threshold stops it for a cough). The caller's turn
    ends when the recognizer hands over their words (see `agent.calls.stt`): after 0.3 s of silence without a
    turn model; with one, when it hears the pause as the end (asked at 0.2 s and 0.8 s of it, answered no
    sooner than 0.6 s after the speech), else `MAX_TURN_WAIT_S` after the speech. An LLM failure is not
    retried: the agent apologises at once instead (see `CallAgent.llm_node`)."""
    return AgentSession(
        stt=WhisperSTT(models.transcriber, models.executor, models.vad, judge=models.turn_judge()),
        vad=models.vad,
        llm=llm_,
        tts=SynthesizerTTS(voice),
        turn_handling={
            # The recognizer's final transcript is the end of the turn: commit it as soon as it arrives.
            "turn_detection": "vad",
            "endpointing": {"min_delay": END_OF_SPEECH_SILENCE_S / 2, "max_delay": MAX_TURN_WAIT_S},
            "interruption": {
                "enabled": True,
                "mode": "vad",
                "min_duration": 0.25,
                "resume_false_interruption": False,
            },
            "preemptive_generation": {"enabled": False},
        },
        user_away_timeout=silence_timeout_s,
        conn_options=SessionConnectOptions(llm_conn_options=APIConnectOptions(max_retry=0)),
    )


def observe_turns(session: AgentSession[None], metrics: Metrics, tenant: str) -> None:
    """Per-turn latencies from the framework's message metrics into Prometheus: end of the caller's speech →
    the agent's first audio, and the STT, LLM first token and TTS first byte stages."""
    stopped: list[float] = []
    stages = metrics.call_stage_seconds

    def on_item(ev: object) -> None:
        item = getattr(ev, "item", None)
        if not isinstance(item, llm.ChatMessage):
            return
        m = item.metrics
        if item.role == "user":
            if "stopped_speaking_at" in m:
                stopped[:] = [m["stopped_speaking_at"]]
            if "transcription_delay" in m:
                stages.labels("stt").observe(m["transcription_delay"])
            return
        if "llm_node_ttft" in m:
            stages.labels("llm_first_token").observe(m["llm_node_ttft"])
        if "tts_node_ttfb" in m:
            stages.labels("tts_first_byte").observe(m["tts_node_ttfb"])
        if stopped and "started_speaking_at" in m:
            metrics.call_response_seconds.labels(tenant).observe(
                max(0.0, m["started_speaking_at"] - stopped.pop())
            )

    session.on("conversation_item_added", on_item)
