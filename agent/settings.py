"""Deployment settings from the environment (prefix `LEADCLOSE_`, `.env` honoured).

Secrets are `SecretStr` and validation errors never carry input values (`hide_input_in_errors`), so a
mistyped token cannot end up in a terminal scroll-back or a log collector.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from agent.egress import EgressPolicy

# A caller's utterance is a few seconds: whisper encodes a 20 s window instead of 30 s (tiny.en on 2 cores:
# 0.25 instead of 0.38 s per utterance; WER on clips of 7 s and less 5.6 % instead of 2.6 %, pipelines/stt.py).
# Not shorter: a one-word "Yes." loses confidence with the window (Piper's, 30 tries, lowest mean log-prob:
# -0.76 at 30 s, -0.82 at 20 s, -0.86 at 15 s, where the hallucination guard refuses below -0.85).
CALL_STT_WINDOW_S = 20.0

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com/v23.0"
DEFAULT_MEDIA_HOSTS = ("lookaside.fbsbx.com", "mmg.whatsapp.net")
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


class RuntimeConfigError(Exception):
    """The configured combination cannot run (e.g. hosted TTS without a hosted endpoint)."""


class RedisURLError(ValueError):
    """A Redis URL that cannot work (a cluster has only database 0); the text never holds the URL."""


def check_url(url: str) -> str:
    """Refuses a Redis URL that cannot connect, before anything is built."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() in CLUSTER_SCHEMES and rest.split("?", 1)[0].partition("/")[2] not in ("", "0"):
        raise RedisURLError("a Redis Cluster has only database 0: end the URL with /0 or nothing")
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEADCLOSE_",
        env_file=".env",
        extra="forbid",
        validate_default=True,
        hide_input_in_errors=True,
        frozen=True,
    )

    redis_url: str = "redis://127.0.0.1:6379/0"  # `redis+cluster://host:port/0` for a Redis Cluster
    prompts_dir: Path = Path("prompts")
    prompts_reload_s: float = Field(2.0, gt=0, le=3600)  # the worker's look for changed tenant folders

    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    graph_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_GRAPH_API_URL)
    media_hosts: tuple[str, ...] = DEFAULT_MEDIA_HOSTS
    # Plain http to 127.0.0.1 for media and the Graph API: only for local test peers, never in production.
    graph_allow_insecure_loopback: bool = False
    # A send with no answer within this is "outcome unknown" and never repeated (agent/whatsapp/graph.py).
    graph_timeout_s: float = Field(20.0, gt=0, le=120)

    llm_base_url: AnyHttpUrl | None = None  # unset: the embedded llama.cpp server on 127.0.0.1
    llm_api_key: SecretStr | None = None
    llm_model: str = "smollm2-135m-instruct"
    llm_timeout_s: float = Field(30.0, gt=0, le=300)
    llm_max_retries: int = Field(1, ge=0, le=5)
    # A voice reply of two or three sentences; a longer answer is cut at its last complete sentence.
    llm_max_tokens: int = Field(120, ge=16, le=4096)
    llm_threads: int = Field(1, ge=1, le=64)  # embedded server only
    # History + summary per request (the system prompt is extra); older turns are summarized beyond it.
    llm_memory_tokens: int = Field(1200, ge=200, le=100_000)

    stt_model: str = "tiny.en"  # English notes (and every note of a business with one language)
    # Engines per language over the defaults (English: STT_MODEL; Hindi: the bundled multilingual `base` when
    # installed): a JSON object such as {"hi": "hosted:whisper-1"} (docs/speech.md). A tenant's `speech:` wins.
    stt_languages: dict[str, str] = Field(default_factory=dict)
    # The hosted speech endpoint (`hosted:` engines, `openai` voices); unset: the hosted LLM endpoint.
    speech_base_url: AnyHttpUrl | None = None
    speech_api_key: SecretStr | None = None
    speech_timeout_s: float = Field(30.0, gt=0, le=300)
    stt_device: Literal["cpu", "cuda", "auto"] = "cpu"
    stt_compute_type: str = "int8"
    # Inference threads per model, sized for a 2-core box (docs/latency.md): each model at most the cores, so
    # one message's STT and another's TTS (and the embedded LLM) do not oversubscribe them. 0: the library's
    # own default (CTranslate2: 4; onnxruntime: one per physical core).
    stt_threads: int = Field(2, ge=0, le=64)
    tts_threads: int = Field(1, ge=0, le=64)  # Piper voices
    tts_engine: Literal["piper", "openai", "espeak"] = "piper"
    # Noise suppression (DeepFilterNet3) before voice-note STT; off: it costs ~0.1 s per second of audio and
    # did not lower WER enough to pay for it (bench/noise.py, docs/latency.md).
    denoise: bool = False
    tts_voice: str = "en_US-joe-medium"
    tts_model: str = "gpt-4o-mini-tts"  # openai engine only

    max_audio_s: float = Field(600.0, gt=0, le=3600)
    # PII minimization per message, off the event loop: past the budget the text fails closed (fallback reply,
    # T0 `pii_timeout`); log lines are redacted where they are written, within their own budget.
    pii_budget_s: float = Field(1.0, gt=0, le=60)
    pii_threads: int = Field(2, ge=1, le=32)
    log_redact_budget_s: float = Field(0.25, gt=0, le=10)

    queue_lease_s: float = Field(30.0, ge=1, le=3600)  # a crashed worker's turn is reclaimed after this
    queue_max_attempts: int = Field(5, ge=1, le=50)
    queue_coalesce_ms: int = Field(0, ge=0, le=60_000)  # wait for more of a burst before answering
    worker_metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"  # where the worker's and the call worker's /metrics listen

    # Calls (`leadclose calls`): STUN/TURN URLs (`stun:host:3478`, `turn:host:3478?transport=udp`) for the
    # WebRTC answer; TURN credentials apply to every `turn:` URL.
    calls_ice_servers: tuple[str, ...] = ()
    calls_turn_username: str | None = None
    calls_turn_credential: SecretStr | None = None
    calls_capacity: int = Field(2, ge=1, le=64)  # concurrent calls per process (2 cores: see bench/calls.py)
    calls_silence_timeout_s: float = Field(15.0, gt=0, le=600)
    calls_max_duration_s: float = Field(900.0, gt=0, le=7200)
    calls_metrics_port: int | None = Field(None, ge=1, le=65535)
    # Whisper's window for a caller's utterance: shorter is faster and less accurate (30 = Whisper's own).
    calls_stt_window_s: float = Field(CALL_STT_WINDOW_S, ge=5.0, le=30.0)
    # Smart Turn v3 end-of-turn model (.onnx, sha256-checked); unset: the one ./run installs into the venv.
    calls_turn_model: Path | None = None
    # LiveKit rooms (`python -m agent.calls.room`): participant attributes that may hold the caller's number,
    # first match wins (LiveKit SIP sets `sip.phoneNumber`; set `leadclose.caller` when accepting a WhatsApp
    # connector call). A JSON list in the environment.
    calls_caller_attributes: tuple[str, ...] = ("sip.phoneNumber", "leadclose.caller")

    master_key: SecretStr | None = None
    # Earlier master keys, newest first (a JSON list in the environment): data keys wrapped under them still
    # open, and people first seen under them keep their subject reference. `leadclose keys rotate` re-wraps
    # every data key under `master_key` (docs/privacy.md).
    master_key_previous: tuple[SecretStr, ...] = ()
    # Data keys on their own server, kept out of the data's AOF and backups: then erasing a key makes every
    # copy of that person's content unreadable. Unset: the keys sit beside the data (development).
    key_store_url: str | None = None
    admin_token: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    # /metrics and /admin/ listen apart from the public webhook (docs/security.md).
    ops_host: str = "127.0.0.1"
    ops_port: int = Field(9090, ge=1, le=65535)
    # The staff console (`leadclose console`, docs/console.md): its own listener. Secure cookies need https;
    # turn them off only for plain http on 127.0.0.1.
    console_host: str = "127.0.0.1"
    console_port: int = Field(8090, ge=1, le=65535)
    console_secure_cookies: bool = True
    # Where tenants' tools and webhooks may connect besides public addresses: comma-separated CIDRs
    # (e.g. "10.20.0.0/16"); plain http only to a literal address inside one (docs/security.md).
    tools_allow_networks: str = ""

    @field_validator("tools_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        from agent.egress import parse_networks

        parse_networks(value)
        return value

    def egress_policy(self) -> EgressPolicy:
        from agent.egress import EgressPolicy

        return EgressPolicy.from_setting(self.tools_allow_networks)

    @field_validator("redis_url", "key_store_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        """`redis://` (one server) or `redis+cluster://` (a Redis Cluster, docs/cluster.md)."""
        return None if url is None else check_url(url)

    @field_validator("stt_languages")
    @classmethod
    def _engines(cls, value: dict[str, str]) -> dict[str, str]:
        from pipelines.stt_routing import EngineSpec

        for language, spec in value.items():
            if not re.fullmatch(r"[a-z]{2,3}", language):
                raise ValueError("keys are language codes such as hi")
            EngineSpec.parse(spec)
        return value


class SettingsError(Exception):
    """Settings that do not validate; `str()` lists field names and what is wrong, never values."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [
            f"  LEADCLOSE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        ]
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None
