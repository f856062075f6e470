"""Builds the turn pipeline from settings: models loaded once per process, the LLM endpoint chosen or started."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openai import AsyncOpenAI
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agent.local_llm import local_llm_server
from pipelines.audio import DecodeLimits
from pipelines.memory import LLMSummarizer, Memory
from pipelines.pii import Minimizer
from pipelines.respond import Responder
from pipelines.stt import WhisperTranscriber, load_whisper
from pipelines.tts import OpenAISynthesizer, PiperSynthesizer, Synthesizer, load_piper
from pipelines.turn import TurnRunner

if TYPE_CHECKING:
    from agent.settings import Settings

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class RuntimeConfigError(Exception):
    """The configured combination cannot run (e.g. hosted TTS without a hosted endpoint)."""


@dataclass(frozen=True, slots=True)
class Runtime:
    runner: TurnRunner
    synthesizer: Synthesizer
    llm_base_url: str
    llm_model: str
    llm_pid: int | None  # the embedded server's process, None for a hosted endpoint
    hosted: AsyncOpenAI | None  # the hosted endpoint's client (for OpenAI voices), None when embedded


def redis_client(url: str, *, socket_timeout_s: float = 5.0, retries: int = 8) -> Redis:
    """redis-py waits forever by default: give every call a timeout and ride out a restart with retries."""
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=2.0,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def load_transcriber(settings: Settings) -> WhisperTranscriber:
    return WhisperTranscriber(
        load_whisper(settings.stt_model, device=settings.stt_device, compute_type=settings.stt_compute_type)
    )


def build_synthesizer(settings: Settings, client: AsyncOpenAI | None) -> Synthesizer:
    if settings.tts_engine == "openai":
        if client is None:
            raise RuntimeConfigError(
                "LEADCLOSE_TTS_ENGINE=openai needs LEADCLOSE_LLM_BASE_URL (a hosted endpoint)"
            )
        return OpenAISynthesizer(client, model=settings.tts_model, voice=settings.tts_voice)
    return PiperSynthesizer(load_piper(settings.tts_voice))


def llm_client(settings: Settings, base_url: str) -> AsyncOpenAI:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return AsyncOpenAI(
        base_url=base_url, api_key=key, max_retries=settings.llm_max_retries, timeout=settings.llm_timeout_s
    )


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, progress: Progress = _quiet) -> AsyncIterator[Runtime]:
    """Everything a process needs to run turns; the embedded LLM server (if used) stops on exit."""
    async with contextlib.AsyncExitStack() as stack:
        if settings.llm_base_url is None:
            progress("starting the embedded LLM (llama.cpp server, SmolLM2-135M) on 127.0.0.1")
            local = await asyncio.to_thread(
                stack.enter_context, local_llm_server(threads=settings.llm_threads)
            )
            base_url, model, pid = local.base_url, local.model, local.pid
        else:
            base_url, model, pid = str(settings.llm_base_url), settings.llm_model, None
        client = llm_client(settings, base_url)
        stack.push_async_callback(client.close)
        progress(f"loading speech recognition ({settings.stt_model})")
        transcriber = await asyncio.to_thread(load_transcriber, settings)
        progress(f"loading speech synthesis ({settings.tts_engine}: {settings.tts_voice})")
        synthesizer = await asyncio.to_thread(build_synthesizer, settings, client if pid is None else None)
        denoiser = None
        if settings.denoise:
            from pipelines.denoise import DeepFilter

            progress("loading noise suppression (DeepFilterNet3)")
            denoiser = await asyncio.to_thread(DeepFilter.load)
        minimizer = Minimizer()
        responder = Responder(
            client, model, timeout_s=settings.llm_timeout_s, max_tokens=settings.llm_max_tokens
        )
        runner = TurnRunner(
            transcriber,
            minimizer,
            responder,
            synthesizer,
            limits=DecodeLimits(max_duration_s=settings.max_audio_s),
            memory=Memory(LLMSummarizer(responder), minimizer, budget_tokens=settings.llm_memory_tokens),
            denoiser=denoiser,
        )
        yield Runtime(
            runner,
            synthesizer,
            llm_base_url=base_url,
            llm_model=model,
            llm_pid=pid,
            hosted=client if pid is None else None,
        )
