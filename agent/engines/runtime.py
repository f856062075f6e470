"""Builds the turn pipeline from settings: models loaded once per process, the LLM endpoint chosen or started."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openai import AsyncOpenAI

from agent.engines.local_llm import local_llm_server
from agent.settings import RuntimeConfigError
from pipelines.audio import DecodeLimits
from pipelines.llm import Responder
from pipelines.memory import LLMSummarizer, Memory
from pipelines.pii import Minimizer, PiiGuard
from pipelines.tts import EspeakSynthesizer, OpenAISynthesizer, PiperSynthesizer, Synthesizer, load_piper
from pipelines.turn import TurnRunner

if TYPE_CHECKING:
    import httpx

    from agent.engines.speech import SpeechEngines
    from agent.settings import Settings

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Runtime:
    runner: TurnRunner
    pii: PiiGuard  # the process's PII engine behind its time budget (shared by every turn)
    synthesizer: Synthesizer
    llm_base_url: str
    llm_model: str
    llm_pid: int | None  # the embedded server's process, None for a hosted endpoint
    hosted: AsyncOpenAI | None  # the hosted speech endpoint's client (for OpenAI voices), None when embedded
    speech: SpeechEngines  # every speech recognition engine, loaded once; per-tenant language routers


def build_synthesizer(settings: Settings, client: AsyncOpenAI | None) -> Synthesizer:
    if settings.tts_engine == "openai":
        if client is None:
            raise RuntimeConfigError(
                "LEADCLOSE_TTS_ENGINE=openai needs LEADCLOSE_LLM_BASE_URL or LEADCLOSE_SPEECH_BASE_URL"
            )
        return OpenAISynthesizer(client, model=settings.tts_model, voice=settings.tts_voice)
    if settings.tts_engine == "espeak":
        return EspeakSynthesizer.load(settings.tts_voice)
    return PiperSynthesizer(load_piper(settings.tts_voice, threads=settings.tts_threads))


def pii_guard(settings: Settings) -> PiiGuard:
    """The process's PII engine: its own small executor (scans stay off the event loop) and the per-message
    budget past which a text fails closed. Call `shutdown()` when the process ends."""
    executor = ThreadPoolExecutor(max_workers=settings.pii_threads, thread_name_prefix="pii")
    return PiiGuard(Minimizer(), executor, budget_s=settings.pii_budget_s)


def llm_client(settings: Settings, base_url: str, *, http: httpx.AsyncClient | None = None) -> AsyncOpenAI:
    """With `http` (the process's shared client, agent/services.py) the requests go through it, each with
    the LLM's own timeout; the client then belongs to `http`'s owner (its `close()` would close `http`)."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return AsyncOpenAI(
        base_url=base_url,
        api_key=key,
        max_retries=settings.llm_max_retries,
        timeout=settings.llm_timeout_s,
        http_client=http,  # type: ignore[arg-type]  # typed as httpx2's; an httpx client is accepted as such
    )


def speech_client(settings: Settings, *, http: httpx.AsyncClient | None = None) -> AsyncOpenAI:
    """`LEADCLOSE_SPEECH_BASE_URL`'s client, for hosted voices (the key falls back to the LLM's); `http` as
    for `llm_client`."""
    assert settings.speech_base_url is not None
    key = settings.speech_api_key or settings.llm_api_key
    return AsyncOpenAI(
        base_url=str(settings.speech_base_url),
        api_key=key.get_secret_value() if key else "not-needed",
        max_retries=settings.llm_max_retries,
        timeout=settings.speech_timeout_s,
        http_client=http,  # type: ignore[arg-type]  # as in llm_client
    )


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, progress: Progress = _quiet, *, http: httpx.AsyncClient | None = None
) -> AsyncIterator[Runtime]:
    """Everything a process needs to run turns; the embedded LLM server (if used) stops on exit. The LLM and
    hosted speech clients go through `http` (the process's shared client, which its owner closes), else
    through clients of their own, closed here."""
    async with contextlib.AsyncExitStack() as stack:
        if settings.llm_base_url is None:
            progress("starting the embedded LLM (llama.cpp server, SmolLM2-135M) on 127.0.0.1")
            local = await asyncio.to_thread(
                stack.enter_context, local_llm_server(threads=settings.llm_threads)
            )
            base_url, model, pid = local.base_url, local.model, local.pid
        else:
            base_url, model, pid = str(settings.llm_base_url), settings.llm_model, None
        client = llm_client(settings, base_url, http=http)
        if http is None:
            stack.push_async_callback(client.close)
        hosted = client if pid is None else None  # hosted voices speak through the hosted endpoint
        if settings.speech_base_url is not None:  # … or a speech endpoint of their own
            hosted = speech_client(settings, http=http)
            if http is None:
                stack.push_async_callback(hosted.close)
        progress(f"loading speech recognition ({settings.stt_model})")
        from agent.engines.speech import (  # it builds on this module's errors
            SpeechEngines,
            hosted_speech_client,
        )

        # Transcription runs in worker threads, so its hosted client is a blocking one with its own pool.
        hosted_stt = hosted_speech_client(settings)
        if hosted_stt is not None:
            stack.callback(hosted_stt.close)
        speech = SpeechEngines(settings, hosted_stt)
        transcriber = await asyncio.to_thread(speech.router, ("en",), "en")
        progress(f"loading speech synthesis ({settings.tts_engine}: {settings.tts_voice})")
        synthesizer = await asyncio.to_thread(build_synthesizer, settings, hosted)
        denoiser = None
        if settings.denoise:
            from pipelines.denoise import DeepFilter

            progress("loading noise suppression (DeepFilterNet3)")
            denoiser = await asyncio.to_thread(DeepFilter.load)
        pii = pii_guard(settings)
        stack.callback(pii.shutdown)
        responder = Responder(
            client, model, timeout_s=settings.llm_timeout_s, max_tokens=settings.llm_max_tokens
        )
        runner = TurnRunner(
            transcriber,
            pii,
            responder,
            synthesizer,
            limits=DecodeLimits(max_duration_s=settings.max_audio_s),
            memory=Memory(LLMSummarizer(responder), pii, budget_tokens=settings.llm_memory_tokens),
            denoiser=denoiser,
        )
        yield Runtime(
            runner,
            pii,
            synthesizer,
            llm_base_url=base_url,
            llm_model=model,
            llm_pid=pid,
            hosted=hosted,
            speech=speech,
        )
