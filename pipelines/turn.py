"""One conversational turn: audio or text in → minimized prompt → LLM → restored reply → voice note out.

Used by the demo, the worker and (through its parts) the call agent. Every failure of a stage has a defined
outcome with a fixed reply, so the person is never left without an answer and nothing is invented.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pipelines.audio import AudioError, DecodeLimits, VoiceNoteFormat, decode
from pipelines.automation import (
    DEFAULT_MAX_STEPS,
    Automation,
    AutomationResult,
    ToolBox,
    ToolCallRecord,
    leaks_instructions,
)
from pipelines.language import reply_language
from pipelines.llm import ChatTurn, LLMError, LLMReply, Responder
from pipelines.pii import PiiGuard, PiiTimeout, RestorePolicy, RestoreTarget, Vault, restore
from pipelines.speak import Speaker
from pipelines.texts import Catalogue

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from openai.types.chat import ChatCompletionMessageParam

    from pipelines.denoise import DeepFilter
    from pipelines.memory import Memory
    from pipelines.speak import Spoken
    from pipelines.stt import Transcriber, Transcript
    from pipelines.tts import Synthesizer

    # The voice that speaks a reply's text, None when there is none for its language (the reply goes as text).
    VoiceChoice = Callable[[str], Synthesizer | None]


class Outcome(StrEnum):
    ANSWERED = "answered"
    NOT_UNDERSTOOD = "not_understood"
    AUDIO_REJECTED = "audio_rejected"
    LLM_FAILED = "llm_failed"
    PII_TIMEOUT = "pii_timeout"  # the text could not be minimized in time: it never reached the LLM


@dataclass(frozen=True, slots=True)
class TurnConfig:
    """What a turn needs from the tenant; built by the runtime from `prompts/<tenant>/`."""

    system_prompt: str
    instructions: str = ""  # the system prompt without its public parts: never repeated in a reply
    max_tool_steps: int = DEFAULT_MAX_STEPS
    restore_policy: RestorePolicy = field(default_factory=RestorePolicy)
    texts: Catalogue = field(default_factory=Catalogue)  # fixed replies per language; no model writes them
    public_values: frozenset[str] = frozenset()  # the business's own published numbers: never masked
    language: str = "en"  # the business's default reply language
    languages: tuple[str, ...] = ()  # also answered in; when set, each turn names its reply language


@dataclass(slots=True)
class Conversation:
    """Per-conversation state a turn reads and extends: the vault, the minimized history and the
    (minimized) summary of what was folded out of it."""

    vault: Vault = field(default_factory=Vault)
    history: list[ChatTurn] = field(default_factory=list)
    summary: str = ""


@dataclass(slots=True)
class TurnResult:
    outcome: Outcome
    reply_text: str
    transcript: Transcript | None = None
    minimized_user_text: str = ""
    prompt: list[ChatCompletionMessageParam] = field(default_factory=list)
    llm: LLMReply | None = None
    reply_audio: bytes | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    failure: str = ""
    tool_calls: list[ToolCallRecord] = field(default_factory=list)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round((time.perf_counter() - start) * 1000.0, 2)


class TurnRunner:
    """Composes the stages. Blocking stages (decode, STT, encode) run in worker threads."""

    def __init__(
        self,
        transcriber: Transcriber,
        pii: PiiGuard,
        responder: Responder,
        synthesizer: Synthesizer,
        *,
        limits: DecodeLimits | None = None,
        voice_format: VoiceNoteFormat | None = None,
        memory: Memory | None = None,
        automation: Automation | None = None,
        denoiser: DeepFilter | None = None,
    ) -> None:
        self._transcriber = transcriber
        self._pii = pii
        self._responder = responder
        self._synthesizer = synthesizer
        self._memory = memory
        self._automation = automation or Automation(responder, pii)
        self._speaker = Speaker(synthesizer, voice_format)
        self._limits = limits or DecodeLimits()
        self._denoiser = denoiser

    @property
    def voice(self) -> Synthesizer:
        """The runner's own voice (a tenant may have another)."""
        return self._synthesizer

    async def voice_note(self, audio: bytes, conversation: Conversation, config: TurnConfig) -> TurnResult:
        """A voice note in, a voice note (and its text) out."""
        timings: dict[str, float] = {}
        try:
            transcript = await self.transcribe(audio, timings)
        except AudioError as exc:
            result = TurnResult(
                Outcome.AUDIO_REJECTED,
                config.texts.get(config.language).for_audio(exc.problem),
                timings_ms=timings,
                failure=exc.problem.value,
            )
        else:
            if transcript.understood:
                result = await self.answer(
                    transcript.text, conversation, config, timings, voice=lambda _text: self._synthesizer
                )
            else:
                result = TurnResult(
                    Outcome.NOT_UNDERSTOOD,
                    config.texts.for_heard(transcript.language).not_understood,
                    timings_ms=timings,
                    failure=transcript.reason,
                )
            result.transcript = transcript
        if result.reply_audio is None:
            result.reply_audio = await self.speak(result.reply_text, timings)
        return result

    async def text(
        self, text: str, conversation: Conversation, config: TurnConfig, toolbox: ToolBox | None = None
    ) -> TurnResult:
        """A text message in, a text reply out."""
        return await self.answer(text, conversation, config, {}, toolbox)

    # The steps below are public so the worker can memoize each one per turn (a retry after a crash
    # does not transcribe or ask the LLM again).

    async def transcribe(
        self, audio: bytes, timings: dict[str, float], transcriber: Transcriber | None = None
    ) -> Transcript:
        """Decode and transcribe (with `transcriber`, e.g. a tenant's language router, else the runner's);
        raises `AudioError` for audio that cannot become a turn."""
        with _timed(timings, "decode"):
            pcm = await asyncio.to_thread(decode, audio, self._limits)
        if self._denoiser is not None:
            with _timed(timings, "denoise"):
                pcm = await asyncio.to_thread(self._denoiser.denoise, pcm)
        with _timed(timings, "stt"):
            return await asyncio.to_thread((transcriber or self._transcriber).transcribe, pcm)

    async def answer(
        self,
        user_text: str,
        conversation: Conversation,
        config: TurnConfig,
        timings: dict[str, float],
        toolbox: ToolBox | None = None,
        *,
        voice: VoiceChoice | None = None,
    ) -> TurnResult:
        """Minimize, ask the LLM (running the toolbox's tools it calls), restore; extends the conversation's
        minimized history on success. With a `voice`, the reply is streamed and spoken sentence by sentence
        while the model writes it, each sentence only by the voice `voice` chooses for the whole reply:
        `reply_audio` is the voice note of `reply_text` (None when the reply became a fixed text instead, or
        its language has no voice or changed voice mid-reply; timings `tts` = the speaking that outlasts the
        last token)."""
        try:
            with _timed(timings, "pii"):
                minimized = await self._pii.minimize(
                    user_text, conversation.vault, public=config.public_values
                )
        except PiiTimeout:  # fails closed: the text goes nowhere, the person gets the fallback
            return TurnResult(
                Outcome.PII_TIMEOUT,
                config.texts.for_message(user_text).unavailable,
                timings_ms=timings,
                failure=Outcome.PII_TIMEOUT,
            )
        if self._memory is not None:
            with _timed(timings, "memory"):
                fitted = await self._memory.fit(
                    conversation.history,
                    conversation.summary,
                    minimized.text,
                    conversation.vault,
                    public=config.public_values,
                )
            conversation.history, conversation.summary = fitted.history, fitted.summary
        prompt = self._responder.messages(
            _system_prompt(config, user_text),
            conversation.history,
            minimized.text,
            summary=conversation.summary,
        )
        spoken = None
        try:
            if voice is None:
                with _timed(timings, "llm"):
                    done = await self._automation.run(
                        prompt,
                        toolbox,
                        conversation.vault,
                        config.restore_policy,
                        public=config.public_values,
                        max_steps=config.max_tool_steps,
                    )
            else:
                done, spoken = await self._spoken_answer(
                    prompt, conversation, config, timings, toolbox, voice
                )
        except LLMError as exc:
            return TurnResult(
                Outcome.LLM_FAILED,
                config.texts.for_message(user_text).unavailable,
                minimized_user_text=minimized.text,
                prompt=prompt,
                timings_ms=timings,
                failure=exc.failure.value,
            )
        llm = done.llm
        said, failure = llm.text, ""
        if leaks_instructions(said, config.instructions):  # the person talked the model into it
            said, failure = config.texts.for_message(user_text).refused, "instructions_withheld"
        with _timed(timings, "restore"):
            reply_text = restore(said, conversation.vault, config.restore_policy, RestoreTarget.REPLY)
        conversation.history.append(ChatTurn("user", minimized.text))
        conversation.history.append(ChatTurn("assistant", said))
        return TurnResult(
            Outcome.ANSWERED,
            reply_text,
            minimized_user_text=minimized.text,
            prompt=done.messages,
            llm=llm,
            reply_audio=_spoken_as(spoken, reply_text, voice),
            timings_ms=timings,
            failure=failure,
            tool_calls=done.calls,
        )

    async def _spoken_answer(
        self,
        prompt: list[ChatCompletionMessageParam],
        conversation: Conversation,
        config: TurnConfig,
        timings: dict[str, float],
        toolbox: ToolBox | None,
        voice: VoiceChoice,
    ) -> tuple[AutomationResult, tuple[Synthesizer, Spoken] | None]:
        """The LLM streamed into the speaker: each sentence restored (placeholders never span sentences) and
        synthesized while the next is written, by the voice of the first sentence's language. No voice for
        it: nothing is spoken. A later sentence that voice may not read (another language) ends the speaking,
        the text is still read to its end. `llm` = until the last token; `tts` = after it."""
        done = AutomationResult(LLMReply("", "", 0, 0))
        vault, policy = conversation.vault, config.restore_policy
        pieces = (
            restore(piece, vault, policy, RestoreTarget.REPLY)
            async for piece in self._automation.stream(
                prompt,
                toolbox,
                vault,
                policy,
                public=config.public_values,
                max_steps=config.max_tool_steps,
                result=done,
            )
        )
        start = time.perf_counter()
        first = await anext(pieces, None)
        speaker = voice(first) if first is not None else None
        if first is None or speaker is None:
            async for _ in pieces:
                pass
            timings["llm"] = round((time.perf_counter() - start) * 1000, 2)
            return done, None

        async def same_voice() -> AsyncIterator[str]:
            yield first
            async for piece in pieces:
                if voice(piece) is not speaker:  # this note will not be sent: the rest is only read
                    async for _ in pieces:
                        pass
                    return
                yield piece

        spoken = await self._speaker.speak_stream(same_voice(), speaker)
        timings["llm"] = round((spoken.text_done_at - start) * 1000, 2)
        timings["tts"] = spoken.tail_ms
        return done, (speaker, spoken)

    async def speak(
        self, text: str, timings: dict[str, float], synthesizer: Synthesizer | None = None
    ) -> bytes:
        """Synthesize and encode a voice note (in `synthesizer`'s voice, else the runner's), each sentence
        encoded while the next is synthesized."""
        with _timed(timings, "tts"):
            return (await self._speaker.speak(text, synthesizer)).audio


def _spoken_as(
    spoken: tuple[Synthesizer, Spoken] | None, reply_text: str, voice: VoiceChoice | None
) -> bytes | None:
    """The note spoken during the turn, if it says exactly the reply, in the voice chosen for all of it."""
    if spoken is None or voice is None:
        return None
    speaker, note = spoken
    return note.audio if note.text == reply_text and voice(reply_text) is speaker else None


def _system_prompt(config: TurnConfig, user_text: str) -> str:
    """A multilingual business's prompt, plus the language this reply must be in (decided here, by
    `pipelines.language`, rather than hoped for from the model)."""
    if not config.languages:
        return config.system_prompt
    language = reply_language(user_text, (config.language, *config.languages), config.language)
    return f"{config.system_prompt}\n\n{language.instruction()}"
