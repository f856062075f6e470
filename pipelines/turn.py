"""One conversational turn: audio or text in → minimized prompt → LLM → restored reply → voice note out.

`TurnRunner.run` is the one composition of a turn (hear → minimize → memory → automation → restore → speak),
run by the worker, the demo and `prompts try` alike. What it needs from outside is declared here as small
protocols (`TurnPorts`): a `Memo` for the results of finished steps (a redelivered turn neither redoes nor
re-pays them), a `TurnGate` it asks before it goes on (consent, the AI disclosure), the conversation's
state (`ConversationPort`), where a spoken reply goes (`VoiceOut`) and a `StageTimer`. Every failure of a
stage has a defined outcome with a fixed reply, so the person is never left without an answer and nothing
is invented.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pipelines.audio import AudioError, DecodeLimits, VoiceNoteFormat, decode
from pipelines.automation import (
    DEFAULT_MAX_STEPS,
    Automation,
    AutomationResult,
    ToolBox,
    ToolCallRecord,
    leaks_instructions,
)
from pipelines.fetch_ahead import FetchAhead
from pipelines.language import reply_language
from pipelines.llm import ChatTurn, LLMError, LLMReply, Responder
from pipelines.pii import PiiGuard, PiiTimeout, RestorePolicy, RestoreTarget, Vault, restore
from pipelines.speak import Speaker
from pipelines.texts import Catalogue

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping

    from openai.types.chat import ChatCompletionMessageParam

    from pipelines.denoise import DeepFilter
    from pipelines.memory import Memory
    from pipelines.pii.entities import Span
    from pipelines.speak import Spoken
    from pipelines.stt import Transcriber, Transcript
    from pipelines.tts import Synthesizer

    # The voice that speaks a reply's text, None when there is none for its language (the reply goes as text).
    VoiceChoice = Callable[[str], Synthesizer | None]
    # The disclosure a reply beginning with this text would be sent after ("" for none), asked when speaking starts.
    Preface = Callable[[str], Awaitable[str]]


class Outcome(StrEnum):
    ANSWERED = "answered"
    NOT_UNDERSTOOD = "not_understood"
    AUDIO_REJECTED = "audio_rejected"
    LLM_FAILED = "llm_failed"
    PII_TIMEOUT = "pii_timeout"  # the text could not be minimized in time: it never reached the LLM
    RECALLED = "recalled"  # an earlier attempt of this turn already answered: its reply, from the memo


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


@dataclass(frozen=True, slots=True)
class StageTiming:
    """How long one stage of a turn took."""

    stage: str
    ms: float


class StageTimer(Protocol):
    """Receives each stage's timing as the stage ends (the worker: metrics and the processing record)."""

    def record(self, timing: StageTiming) -> None: ...


class StageTimes:
    """A turn's timings as they come, each also handed on to `then`; `frozen()` is what travels."""

    def __init__(self, then: StageTimer | None = None) -> None:
        self._times: list[StageTiming] = []
        self._then = then

    def record(self, timing: StageTiming) -> None:
        self._times.append(timing)
        if self._then is not None:
            self._then.record(timing)

    def frozen(self) -> tuple[StageTiming, ...]:
        return tuple(self._times)


def per_stage_ms(timings: Iterable[StageTiming]) -> dict[str, float]:
    """Milliseconds per stage; a stage timed more than once (two voice notes in a batch) adds up."""
    totals: dict[str, float] = {}
    for t in timings:
        totals[t.stage] = round(totals.get(t.stage, 0.0) + t.ms, 2)
    return totals


@dataclass(slots=True)
class TurnResult:
    outcome: Outcome
    reply_text: str  # as it is sent: with the AI disclosure before it when the gate added one
    transcript: Transcript | None = None
    minimized_user_text: str = ""
    prompt: list[ChatCompletionMessageParam] = field(default_factory=list)
    llm: LLMReply | None = None
    reply_audio: bytes | None = None
    reply_audio_says: str = ""  # what `reply_audio` says: `reply_text`, after the disclosure if any
    timings: tuple[StageTiming, ...] = ()
    failure: str = ""
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    reply_media: str | None = None  # where `VoiceOut` put the spoken reply (the worker: a Graph media id)
    said: str = ""  # what the person said (typed and transcribed), as the model was asked about it
    audio_ms: int = 0  # the length of the voice notes heard (0 when the answer was recalled)
    masked: tuple[Span, ...] = ()  # what minimization replaced, as positions in `said`

    @property
    def timings_ms(self) -> dict[str, float]:
        return per_stage_ms(self.timings)


# --- what a turn needs from outside ----------------------------------------------------------------------


class Memo(Protocol):
    """Results of a turn's finished steps by name (a transcript, the answer, the uploaded voice note), so a
    redelivered turn does not redo, or pay for, a step an earlier attempt finished."""

    async def recall(self, step: str) -> bytes | None: ...

    async def keep(self, step: str, value: bytes) -> None: ...


class InMemoryMemo:
    """A memo that lives as long as the object (the demo, `prompts try`, one-off runs)."""

    def __init__(self) -> None:
        self._steps: dict[str, bytes] = {}

    async def recall(self, step: str) -> bytes | None:
        return self._steps.get(step)

    async def keep(self, step: str, value: bytes) -> None:
        self._steps[step] = value


class TurnGate(Protocol):
    """What the composition asks before it goes on. To end the turn, a method raises (its owner's exception,
    which the composition lets through untouched)."""

    async def heard(self, spoken: Mapping[str, str]) -> None:
        """What each voice note said (by message id), before any model sees it (spoken keywords)."""

    async def still_allowed(self) -> None:
        """Right before the model is asked: a STOP may have come while the notes were heard."""

    async def outgoing(self, reply: str, said: str) -> str:
        """The reply as it may be sent: the AI disclosure before it when one is due (in the language of
        `said`), the disclosure instead of a reply that claims to be a person."""

    async def disclosure(self, said: str) -> str:
        """The AI disclosure `outgoing` would now put before a reply in the language of `said` ("" when none
        is due), asked as the reply starts to be spoken so that the voice note says it first; what is sent
        is still what `outgoing` returns at the end (a note that does not say exactly that is spoken again)."""


class OpenGate:
    """Nothing to ask: a run on this machine with no person behind it (tests, benchmarks)."""

    async def heard(self, spoken: Mapping[str, str]) -> None:
        return None

    async def still_allowed(self) -> None:
        return None

    async def outgoing(self, reply: str, said: str) -> str:
        return reply

    async def disclosure(self, said: str) -> str:
        return ""


class ConversationPort(Protocol):
    """The conversation's state between turns (the worker: sealed in Redis)."""

    async def load(self) -> Conversation: ...

    async def answered(self, conversation: Conversation, result: TurnResult) -> None:
        """The model answered: keep what the turn changed (the worker also writes what consent allows)."""


class LocalConversation:
    """A conversation held by the caller; an answered turn extends it in place."""

    def __init__(self, conversation: Conversation | None = None) -> None:
        self.conversation = conversation if conversation is not None else Conversation()

    async def load(self) -> Conversation:
        return self.conversation

    async def answered(self, conversation: Conversation, result: TurnResult) -> None:
        self.conversation = conversation


class VoiceOut(Protocol):
    """Where a spoken reply goes (the worker: uploaded through the Graph API); returns its handle, which the
    memo keeps, so a redelivered turn neither speaks nor uploads it again."""

    async def publish(self, audio: bytes) -> str: ...


@dataclass(frozen=True, slots=True)
class TurnPorts:
    """A turn's collaborators outside `pipelines/`; the defaults run a turn in memory with nothing to ask."""

    memo: Memo = field(default_factory=InMemoryMemo)
    gate: TurnGate = field(default_factory=OpenGate)
    conversation: ConversationPort = field(default_factory=LocalConversation)
    timer: StageTimer | None = None
    voice_out: VoiceOut | None = None  # None: the spoken reply stays in `TurnResult.reply_audio`


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound message of a turn, as the composition hears it."""

    id: str
    text: str | None = (
        None  # typed (or a button's title); None and no audio: it can be neither read nor heard
    )
    # A voice note, fetched only when it is heard (the worker downloads it then); the fetch raises
    # `AudioError` for media that cannot become a turn.
    audio: Callable[[], Awaitable[bytes]] | None = None


def given_audio(data: bytes) -> Callable[[], Awaitable[bytes]]:
    """A voice note already in hand, as a `Message.audio`."""

    async def fetch() -> bytes:
        return data

    return fetch


@dataclass(frozen=True, slots=True)
class Turn:
    """What one turn answers, and how its business answers it."""

    id: str  # names the turn's memoized steps (the worker: a digest of the batch's message ids)
    messages: tuple[Message, ...]
    config: TurnConfig
    voice: VoiceChoice | None = None  # the reply is spoken (where its language has a voice); None: text
    transcriber: Transcriber | None = None  # e.g. the tenant's language router; else the runner's
    toolbox: ToolBox | None = None


@dataclass(frozen=True, slots=True)
class _Heard:
    """What one message said, or the fixed reply (and why) for one that could not be heard."""

    text: str = ""
    fallback: str = ""
    outcome: Outcome | None = None
    failure: str = ""
    transcript: Transcript | None = None  # the memo keeps the rest, not this
    audio_ms: int = 0  # the voice note's length, where it could be decoded
    keywords: str = ""  # words refused only for their script: read for consent keywords, never answered

    def to_bytes(self) -> bytes:
        fields = {
            "text": self.text,
            "keywords": self.keywords,
            "fallback": self.fallback,
            "outcome": self.outcome or "",
            "failure": self.failure,
            "audio_ms": self.audio_ms,
        }
        return json.dumps(fields).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> _Heard:
        fields = json.loads(raw)
        outcome = fields.get("outcome")
        return cls(
            fields.get("text", ""),
            fields.get("fallback", ""),
            Outcome(outcome) if outcome else None,
            fields.get("failure", ""),
            audio_ms=int(fields.get("audio_ms", 0)),
            keywords=fields.get("keywords", ""),
        )


class _Disclosure:
    """The disclosure the gate would put before this turn's reply, in the language `outgoing` will use: a typed
    message's, else the reply's, known with its first sentence (asked earlier with what was said, to start
    its synthesis early; that guess is usually the reply's language, which the prompt asks for). Each asked
    once."""

    def __init__(self, gate: TurnGate, typed: str | None) -> None:
        self._gate = gate
        self._typed = typed
        self._asked: dict[str, str] = {}

    async def text(self, said: str) -> str:
        key = self._typed or said
        if key not in self._asked:
            self._asked[key] = await self._gate.disclosure(key)
        return self._asked[key]


@contextmanager
def _timed(timer: StageTimer, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timer.record(StageTiming(stage, _ms_since(start)))


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 2)


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
        fetch_ahead: int = 2,
    ) -> None:
        """`fetch_ahead`: how many voice notes of a batch download ahead of the one being heard (0: one at a
        time); each may be as large as the media cap, so it bounds the bytes a turn holds."""
        self._transcriber = transcriber
        self._pii = pii
        self._responder = responder
        self._synthesizer = synthesizer
        self._memory = memory
        self._automation = automation or Automation(responder, pii)
        self._speaker = Speaker(synthesizer, voice_format)
        self._limits = limits or DecodeLimits()
        self._denoiser = denoiser
        self._fetch_ahead = fetch_ahead

    @property
    def voice(self) -> Synthesizer:
        """The runner's own voice (a tenant may have another)."""
        return self._synthesizer

    async def run(self, turn: Turn, ports: TurnPorts | None = None) -> TurnResult:
        """The turn: each message heard (memoized), the gate asked, the model asked (memoized answer), the
        disclosure added by the gate, the reply spoken and handed to `voice_out` (memoized)."""
        ports = ports or TurnPorts()
        times = StageTimes(ports.timer)
        result = await self._answered(turn, ports, times)
        reply = await ports.gate.outgoing(result.reply_text, turn.messages[-1].text or result.reply_text)
        if turn.voice is not None:
            await self._spoken(turn, turn.voice, ports, times, result, reply)
        result.reply_text = reply
        result.timings = times.frozen()
        return result

    async def voice_note(self, audio: bytes, conversation: Conversation, config: TurnConfig) -> TurnResult:
        """A voice note in, a voice note (and its text) out; nothing to ask, nothing kept."""
        note = Turn("note", (Message("note", audio=given_audio(audio)),), config, voice=self._own_voice)
        return await self.run(note, TurnPorts(conversation=LocalConversation(conversation)))

    async def text(
        self, text: str, conversation: Conversation, config: TurnConfig, toolbox: ToolBox | None = None
    ) -> TurnResult:
        """A text message in, a text reply out; nothing to ask, nothing kept."""
        turn = Turn("text", (Message("text", text=text),), config, toolbox=toolbox)
        return await self.run(turn, TurnPorts(conversation=LocalConversation(conversation)))

    def _own_voice(self, _text: str) -> Synthesizer:
        return self._synthesizer

    async def _answered(self, turn: Turn, ports: TurnPorts, times: StageTimes) -> TurnResult:
        """The reply text (memoized): the model's answer to what was said, else the fixed reply for what
        could not be heard."""
        step = "answer:" + turn.id
        kept = await ports.memo.recall(step)
        if kept is not None:
            return TurnResult(Outcome.RECALLED, kept.decode())
        heard = await self._hear_all(turn, ports.memo, times)
        # A STOP counts even in words not good enough to answer (Hindi the multilingual model wrote in Urdu's).
        spoken = {
            m.id: h.text or h.keywords
            for m, h in zip(turn.messages, heard, strict=True)
            if m.audio is not None
        }
        if spoken:
            await ports.gate.heard(spoken)
        said = "\n".join(h.text for h in heard if h.text)
        audio_ms = sum(h.audio_ms for h in heard)
        if said:
            await ports.gate.still_allowed()
            conversation = await ports.conversation.load()
            disclosure = _Disclosure(ports.gate, turn.messages[-1].text)
            if turn.voice is not None:  # synthesized while the model writes, if not yet in the cache
                self._prefetch(turn.voice, await disclosure.text(said))
            result = await self.answer(
                said,
                conversation,
                turn.config,
                times,
                turn.toolbox,
                voice=turn.voice,
                preface=disclosure.text,
            )
            result.said, result.audio_ms = said, audio_ms
            if result.outcome is Outcome.ANSWERED:
                await ports.conversation.answered(conversation, result)
        else:
            unheard = next(
                (h for h in heard if h.fallback),
                _Heard(fallback=turn.config.texts.get(turn.config.language).not_understood),
            )
            result = TurnResult(
                unheard.outcome or Outcome.NOT_UNDERSTOOD,
                unheard.fallback,
                failure=unheard.failure,
                audio_ms=audio_ms,
            )
        result.transcript = next((h.transcript for h in heard if h.transcript is not None), None)
        await ports.memo.keep(step, result.reply_text.encode())
        return result

    def _prefetch(self, voice: VoiceChoice, disclosure: str) -> None:
        speaker = voice(disclosure) if disclosure else None
        if speaker is not None:
            self._speaker.prefetch(disclosure, speaker)

    async def _hear(self, message: Message, turn: Turn, memo: Memo, times: StageTimes) -> _Heard:
        if message.audio is None:
            if message.text is None:  # an image, a sticker, a location...
                unsupported = turn.config.texts.get(turn.config.language).unsupported
                return _Heard(fallback=unsupported, outcome=Outcome.NOT_UNDERSTOOD, failure="unsupported")
            return _Heard(text=message.text)
        step = "stt:" + message.id
        kept = await memo.recall(step)
        if kept is not None:
            return _Heard.from_bytes(kept)
        heard = await self._transcribed(message.audio, turn, times)
        await memo.keep(step, heard.to_bytes())
        return heard

    async def _hear_all(self, turn: Turn, memo: Memo, times: StageTimes) -> list[_Heard]:
        """Every message heard, in order (`_hear`). The voice notes not heard before (memoized) download
        `fetch_ahead` ahead of the one being transcribed, so a batch of notes waits for one download, not
        for each; a memoized note is not downloaded at all."""
        fresh = [m.audio is not None and await memo.recall("stt:" + m.id) is None for m in turn.messages]
        fetches = [
            m.audio for m, new in zip(turn.messages, fresh, strict=True) if new and m.audio is not None
        ]
        downloads, heard = FetchAhead(fetches, self._fetch_ahead), list[_Heard]()
        try:
            for message, new in zip(turn.messages, fresh, strict=True):
                fetched = dataclasses.replace(message, audio=downloads.next) if new else message
                heard.append(await self._hear(fetched, turn, memo, times))
        finally:
            await downloads.aclose()
        return heard

    async def _transcribed(
        self, audio: Callable[[], Awaitable[bytes]], turn: Turn, times: StageTimes
    ) -> _Heard:
        """A voice note's words, or the fixed reply for audio that cannot become a turn or was not understood
        (in the language it was spoken in, where the business answers in it)."""
        config = turn.config
        try:
            transcript = await self.transcribe(await audio(), times, turn.transcriber)
        except AudioError as exc:
            return _Heard(
                fallback=config.texts.get(config.language).for_audio(exc.problem),
                outcome=Outcome.AUDIO_REJECTED,
                failure=exc.problem.value,
            )
        audio_ms = round(transcript.duration_s * 1000)
        if not transcript.understood:
            text = config.texts.for_heard(transcript.language).not_understood
            return _Heard(
                fallback=text,
                outcome=Outcome.NOT_UNDERSTOOD,
                failure=transcript.reason,
                transcript=transcript,
                audio_ms=audio_ms,
                keywords=transcript.refused_words,
            )
        return _Heard(text=transcript.text, transcript=transcript, audio_ms=audio_ms)

    async def _spoken(
        self,
        turn: Turn,
        voice: VoiceChoice,
        ports: TurnPorts,
        times: StageTimes,
        result: TurnResult,
        reply: str,
    ) -> None:
        """The reply as a voice note in the turn's voice (none for its language: it goes as text), spoken
        while the model wrote it (after the disclosure) where that note says exactly `reply`, else spoken now;
        handed to `voice_out` (memoized)."""
        step, out = "media:" + turn.id, ports.voice_out
        kept = await ports.memo.recall(step) if out is not None else None
        if kept is not None:
            result.reply_audio, result.reply_audio_says, result.reply_media = None, "", kept.decode()
            return
        speaker = voice(reply)
        if speaker is None:
            result.reply_audio, result.reply_audio_says = None, ""
            return
        # A fallback, a retry, a disclosure that became due (or no longer was) while the model wrote.
        if result.reply_audio is None or reply != result.reply_audio_says:
            result.reply_audio = await self.speak(reply, times, speaker)
        result.reply_audio_says = reply
        if out is not None:
            result.reply_media = await out.publish(result.reply_audio)
            await ports.memo.keep(step, result.reply_media.encode())

    # The stages, one by one (benchmarks time them separately).

    async def transcribe(
        self, audio: bytes, timer: StageTimer | None = None, transcriber: Transcriber | None = None
    ) -> Transcript:
        """Decode and transcribe (with `transcriber`, e.g. a tenant's language router, else the runner's);
        raises `AudioError` for audio that cannot become a turn."""
        times = StageTimes(timer)
        with _timed(times, "decode"):
            pcm = await asyncio.to_thread(decode, audio, self._limits)
        if self._denoiser is not None:
            with _timed(times, "denoise"):
                pcm = await asyncio.to_thread(self._denoiser.denoise, pcm)
        with _timed(times, "stt"):
            return await asyncio.to_thread((transcriber or self._transcriber).transcribe, pcm)

    async def answer(
        self,
        user_text: str,
        conversation: Conversation,
        config: TurnConfig,
        timer: StageTimer | None = None,
        toolbox: ToolBox | None = None,
        *,
        voice: VoiceChoice | None = None,
        preface: Preface | None = None,
    ) -> TurnResult:
        """Minimize, ask the LLM (running the toolbox's tools it calls), restore; extends the conversation's
        minimized history on success. With a `voice`, the reply is streamed and spoken sentence by sentence
        while the model writes it, each sentence only by the voice `voice` chooses for the whole reply, after
        the disclosure `preface` gives for its first sentence: `reply_audio` is the voice note of
        `reply_audio_says` (`reply_text`, after that disclosure; None when the reply became a fixed text
        instead, or its language has no voice or changed voice mid-reply; timings `tts` = the speaking that
        outlasts the last token)."""
        times = StageTimes(timer)
        try:
            with _timed(times, "pii"):
                minimized = await self._pii.minimize(
                    user_text, conversation.vault, public=config.public_values
                )
        except PiiTimeout:  # fails closed: the text goes nowhere, the person gets the fallback
            return TurnResult(
                Outcome.PII_TIMEOUT,
                config.texts.for_message(user_text).unavailable,
                timings=times.frozen(),
                failure=Outcome.PII_TIMEOUT,
            )
        if self._memory is not None:
            with _timed(times, "memory"):
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
                with _timed(times, "llm"):
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
                    prompt, conversation, config, times, toolbox, voice, preface
                )
        except LLMError as exc:
            return TurnResult(
                Outcome.LLM_FAILED,
                config.texts.for_message(user_text).unavailable,
                minimized_user_text=minimized.text,
                prompt=prompt,
                timings=times.frozen(),
                failure=exc.failure.value,
            )
        llm = done.llm
        said, failure = llm.text, ""
        if leaks_instructions(said, config.instructions):  # the person talked the model into it
            said, failure = config.texts.for_message(user_text).refused, "instructions_withheld"
        with _timed(times, "restore"):
            reply_text = restore(said, conversation.vault, config.restore_policy, RestoreTarget.REPLY)
        conversation.history.append(ChatTurn("user", minimized.text))
        conversation.history.append(ChatTurn("assistant", said))
        note = _spoken_as(spoken, reply_text, voice)
        return TurnResult(
            Outcome.ANSWERED,
            reply_text,
            minimized_user_text=minimized.text,
            prompt=done.messages,
            llm=llm,
            reply_audio=note.audio if note is not None else None,
            reply_audio_says=note.says if note is not None else "",
            timings=times.frozen(),
            failure=failure,
            tool_calls=done.calls,
            masked=minimized.spans,
        )

    async def _spoken_answer(
        self,
        prompt: list[ChatCompletionMessageParam],
        conversation: Conversation,
        config: TurnConfig,
        timer: StageTimer,
        toolbox: ToolBox | None,
        voice: VoiceChoice,
        preface: Preface | None,
    ) -> tuple[AutomationResult, tuple[Synthesizer, Spoken] | None]:
        """The LLM streamed into the speaker: each sentence restored (placeholders never span sentences) and
        synthesized while the next is written, by the voice of the first sentence's language, after the
        disclosure (known once the first sentence is: its language). No voice for it: nothing is spoken. A
        later sentence that voice may not read (another language) ends the speaking, the text is still read
        to its end. `llm` = until the last token; `tts` = after it."""
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
            timer.record(StageTiming("llm", _ms_since(start)))
            return done, None

        async def same_voice() -> AsyncIterator[str]:
            yield first
            async for piece in pieces:
                if voice(piece) is not speaker:  # this note will not be sent: the rest is only read
                    async for _ in pieces:
                        pass
                    return
                yield piece

        opening = await preface(first) if preface is not None else ""
        spoken = await self._speaker.speak_stream(same_voice(), speaker, preface=opening)
        timer.record(StageTiming("llm", round((spoken.text_done_at - start) * 1000, 2)))
        timer.record(StageTiming("tts", spoken.tail_ms))
        return done, (speaker, spoken)

    async def speak(
        self, text: str, timer: StageTimer | None = None, synthesizer: Synthesizer | None = None
    ) -> bytes:
        """Synthesize and encode a voice note (in `synthesizer`'s voice, else the runner's), each sentence
        encoded while the next is synthesized."""
        with _timed(StageTimes(timer), "tts"):
            return (await self._speaker.speak(text, synthesizer)).audio


def _spoken_as(
    spoken: tuple[Synthesizer, Spoken] | None, reply_text: str, voice: VoiceChoice | None
) -> Spoken | None:
    """The note spoken during the turn, if its reply part says exactly the reply, in the voice chosen for all
    it says (the disclosure part is checked against what is sent, by `_spoken`)."""
    if spoken is None or voice is None:
        return None
    speaker, note = spoken
    return note if note.text == reply_text and voice(note.says) is speaker else None


def _system_prompt(config: TurnConfig, user_text: str) -> str:
    """A multilingual business's prompt, plus the language this reply must be in (decided here, by
    `pipelines.language`, rather than hoped for from the model)."""
    if not config.languages:
        return config.system_prompt
    language = reply_language(user_text, (config.language, *config.languages), config.language)
    return f"{config.system_prompt}\n\n{language.instruction()}"
