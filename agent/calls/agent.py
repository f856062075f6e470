"""The call `Agent`: the voice-note path's brain (tenant prompt, PII minimization, Responder) on a live call.

Consent keywords ("stop", "talk to a person", "delete my data", …, the same classifier as chat) are handled
before the LLM in `on_user_turn_completed`: a fixed spoken confirmation, and the call ends where the intent
asks for it. A caller who stopped us earlier hears a fixed way back instead of the greeting: their "start" goes
to the ledger and opens the call; anything else ends it. `llm_node` never lets raw PII reach the LLM: it
builds a *new* chat context whose messages carry minimized text (the session's own history stays as heard),
delegates to the default node, and restores placeholders in what is spoken, one sentence at a time because a
placeholder can be split across chunks. Each message is minimized once (cached by item id), so a turn's cost
does not grow with the length of the call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import structlog
from livekit import rtc
from livekit.agents import NOT_GIVEN, Agent, APIError, StopResponse, llm
from redis.exceptions import RedisError

from agent.calls.consent import yes_or_no
from agent.tenants.automation import voices_by_language
from pipelines.consent import Intent, KeywordClassifier
from pipelines.pii import PiiGuard, PiiTimeout, RestorePolicy, RestoreTarget, Vault, restore
from pipelines.sentences import split_at_sentence_end
from pipelines.texts import ENGLISH, CallTexts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine, Sequence

    from livekit.agents.voice import AgentStateChangedEvent, ModelSettings

    from agent.calls.consent import CallConsent
    from agent.calls.recording import CallRecorder
    from agent.tenants.automation import Voice
    from agent.tenants.registry import Tenant
    from pipelines.audio import Pcm
    from pipelines.automation import ToolCallRecord
    from pipelines.turn import TurnConfig

log = structlog.get_logger()


class Welcome(StrEnum):
    """How the agent opens a call, decided from the caller's consent state before anything is said."""

    ANSWER = "answer"  # the AI disclosure, then the conversation
    WAY_BACK = "way_back"  # the caller stopped us: a fixed line; only their "start" (ledger first) opens it
    REFUSE = "refuse"  # an objection, a restriction or a pending erasure: a fixed message, then the call ends


# Intents after which the call ends (once the confirmation has been spoken).
ENDS_CALL = frozenset({Intent.OPT_OUT, Intent.HUMAN, Intent.DELETE_DATA})
# Tools after which the call ends, once the reply that follows them has been spoken.
ENDING_TOOLS = frozenset({"handoff_to_human", "end_conversation"})


@dataclass(frozen=True, slots=True)
class CallBrain:
    """The tenant's side of a call: prompt, restore policy, texts and the business's public numbers."""

    system_prompt: str
    texts: CallTexts = field(default_factory=lambda: ENGLISH.call.for_business("us"))
    restore_policy: RestorePolicy = field(default_factory=RestorePolicy)
    public_values: frozenset[str] = frozenset()
    keywords: KeywordClassifier | None = None
    max_steps: int | None = None  # the tenant's bound on tool-loop requests per turn
    records_calls: bool = False  # the tenant records calls: ask after the disclosure, record only after a yes
    voice: Voice | None = None  # the tenant's voice for the call's language; None: it has none (text only)


def call_brain(tenant: Tenant, config: TurnConfig) -> CallBrain:
    """A tenant's call brain: the same rendered prompt, restore policy, keywords and voices as its chat turns.
    Its texts and voice are the tenant's default language's: the call starts before the caller has said
    anything."""
    return CallBrain(
        config.system_prompt,
        texts=config.texts.get(tenant.language).call.for_business(tenant.name),
        restore_policy=config.restore_policy,
        public_values=config.public_values,
        keywords=tenant.consent.classifier(),
        max_steps=tenant.automation.max_steps,
        records_calls=tenant.consent.record_calls,
        voice=voices_by_language(tenant.voice, tenant.language).get(tenant.language),
    )


class CallAgent(Agent):
    """`vault` is the call's own: the LLM adapter minimizing tool results must share it."""

    def __init__(
        self,
        brain: CallBrain,
        pii: PiiGuard,
        vault: Vault,
        *,
        greeting: Sequence[rtc.AudioFrame] = (),
        consent: CallConsent | None = None,
        welcome: Welcome = Welcome.ANSWER,
        recorder: CallRecorder | None = None,
    ) -> None:
        super().__init__(instructions=brain.system_prompt)
        self._greeting = greeting
        self._welcome = welcome
        self._consent = consent
        self._recording: set[asyncio.Task[bool]] = set()
        self._brain = brain
        self._pii = pii
        self._vault = vault
        self._minimized: dict[str, str] = {}  # chat item id -> minimized text
        self.intents: list[Intent] = []  # consent keywords the caller said, in order
        self.ended = asyncio.Event()  # set once the words that end the call (keyword, handoff) were spoken
        self._end_after_reply = False
        self._asking = False  # the recording question was asked and the caller has not answered yet
        self._recorder = recorder
        self._never = asyncio.Event()

    @property
    def texts(self) -> CallTexts:
        return self._brain.texts

    @property
    def erased(self) -> asyncio.Event:
        """Set once a fenced write found the caller erased since the call began: the call ends."""
        return self._consent.erased if self._consent is not None else self._never

    @property
    def answered(self) -> bool:
        """The AI answered this caller (at once, or after their "start"): only then are their words kept."""
        return self._welcome is Welcome.ANSWER

    async def on_enter(self) -> None:
        if self._welcome is Welcome.REFUSE:  # an objection, restriction or pending erasure: a fixed message
            self._end_with(self._brain.texts.withheld)
            return
        self.session.on("agent_state_changed", self._on_agent_state)
        if self._welcome is Welcome.WAY_BACK:  # no LLM and no disclosure until the caller says "start"
            self.session.say(self._brain.texts.way_back, allow_interruptions=False)
            return
        self._greet()

    def _end_with(self, text: str) -> None:
        self.session.say(text, allow_interruptions=False).add_done_callback(lambda _: self.ended.set())

    def _greet(self) -> None:
        # The AI disclosure is the first thing said, before the caller's words are processed or kept. Given
        # pre-synthesized, it plays at once and without gaps between its sentences.
        audio = _replay(self._greeting) if self._greeting else NOT_GIVEN
        said = self.session.say(self._brain.texts.greeting, audio=audio, allow_interruptions=False)
        if self._consent is not None:
            said.add_done_callback(lambda _: self._record(self._consent_disclosed()))
            # The question comes after the disclosure; no recording before a yes (and none without a recorder).
            if self._brain.records_calls and self._recorder is not None:
                self.session.say(self._brain.texts.recording_question, allow_interruptions=False)
                self._asking = True

    async def _consent_disclosed(self) -> None:
        if self._consent is not None:
            await self._consent.disclosed(self._brain.texts.greeting)

    def _record(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(self._guarded(work))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, object]) -> bool:
        """False only when the write found the caller erased (it returned False: the call ends)."""
        try:
            return await work is not False
        except RedisError as exc:  # the call goes on; the ledger write is what failed, say so
            log.error("call.consent_not_recorded", error=type(exc).__name__)
            return True

    def tools_called(self, calls: Sequence[ToolCallRecord]) -> None:
        """A handoff (or the model ending the conversation) ends the call after the reply it leads to."""
        if any(c.ok and c.name in ENDING_TOOLS for c in calls):
            self._end_after_reply = True

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        if self._end_after_reply and ev.old_state == "speaking" and ev.new_state == "listening":
            self.ended.set()

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        """Consent keywords are answered here, deterministically; the LLM never sees them."""
        if self._welcome is Welcome.REFUSE:
            raise StopResponse
        keywords = self._brain.keywords
        match = keywords.classify(new_message.text_content or "") if keywords else None
        if match is None and self._welcome is Welcome.WAY_BACK:  # anything but a keyword: goodbye
            self._end_with(self._brain.texts.goodbye)
            raise StopResponse
        if match is None:
            await self._answer_recording(new_message.text_content or "")
            return
        self.intents.append(match.intent)
        log.info("call.keyword", intent=match.intent.value)
        if self._consent is not None and not await self._guarded(
            self._consent.keyword(match)
        ):  # in the ledger first
            raise StopResponse  # the caller was erased during the call: it ends (`erased`), unconfirmed
        if self._welcome is Welcome.WAY_BACK and match.intent is Intent.OPT_IN:
            await self._reopen()
            raise StopResponse
        handle = self.session.say(self._brain.texts.confirmations[match.intent], allow_interruptions=False)
        if match.intent in ENDS_CALL:
            handle.add_done_callback(lambda _: self.ended.set())
        raise StopResponse

    async def _reopen(self) -> None:
        """After the caller's "start" is in the ledger, the call opens as any other, with the disclosure; if the
        ledger still refuses (the write failed), the call ends as it would have."""
        try:
            reopened = self._consent is None or bool(await self._consent.may_reply())
        except RedisError as exc:
            log.error("call.consent_not_read", error=type(exc).__name__)
            reopened = False
        if not reopened:
            self._end_with(self._brain.texts.goodbye)
            return
        self._welcome = Welcome.ANSWER
        self._greet()

    async def _answer_recording(self, said: str) -> None:
        """The first thing said after the recording question: a yes or a no is answered here (never by the
        LLM) and goes to the ledger; anything else means no recording and is answered as usual."""
        if not self._asking or self._consent is None or self._recorder is None:
            return
        self._asking = False
        answer = yes_or_no(said)
        if answer is None:
            return
        log.info("call.recording_answer", granted=answer)
        if not await self._guarded(
            self._consent.recording(answer)
        ):  # in the ledger before anything is recorded
            raise StopResponse  # the caller was erased during the call: it ends (`erased`)
        if answer:
            self._recorder.start()
        texts = self._brain.texts
        self.session.say(texts.recording_yes if answer else texts.recording_no, allow_interruptions=False)
        raise StopResponse

    async def minimized_context(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        """A new context with minimized copies of user and assistant messages (system text is the tenant's).
        Raises `PiiTimeout` for a message not minimized within the budget."""
        items: list[llm.ChatItem] = []
        for item in chat_ctx.items:
            if isinstance(item, llm.ChatMessage) and item.role in ("user", "assistant"):
                text = self._minimized.get(item.id)
                if text is None:
                    raw = item.text_content or ""
                    text = (await self._pii.minimize(raw, self._vault, public=self._brain.public_values)).text
                    self._minimized[item.id] = text
                items.append(llm.ChatMessage(id=item.id, role=item.role, content=[text]))
            elif isinstance(item, llm.ChatMessage):
                items.append(item.model_copy())
        return llm.ChatContext(items)

    async def llm_node(
        self, chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        try:
            minimized = await self.minimized_context(chat_ctx)
        except (
            PiiTimeout
        ):  # fails closed: what was said never reaches the model; the caller hears the apology
            log.warning("call.pii_timeout")
            yield self._brain.texts.apology
            return
        pending = ""
        try:
            async for chunk in Agent.default.llm_node(self, minimized, tools, model_settings):
                pending += _text_of(chunk)
                spoken, pending = split_at_sentence_end(pending, complete=True)
                if spoken:
                    yield self._restore(spoken)
        except APIError as exc:
            log.warning("call.llm_failed", error=type(exc).__name__)
            yield self._brain.texts.apology
            return
        if pending.strip():
            yield self._restore(pending)

    def _restore(self, text: str) -> str:
        return restore(text, self._vault, self._brain.restore_policy, RestoreTarget.REPLY)


async def _replay(frames: Sequence[rtc.AudioFrame]) -> AsyncIterator[rtc.AudioFrame]:
    for frame in frames:
        yield frame


def speech_frames(pcm: Pcm, frame_ms: int = 100) -> list[rtc.AudioFrame]:
    """Synthesized speech as LiveKit frames (the session resamples them to the call's rate)."""
    samples = pcm.to_int16()
    step = pcm.sample_rate * frame_ms // 1000
    return [
        rtc.AudioFrame(samples[i : i + step].tobytes(), pcm.sample_rate, 1, len(samples[i : i + step]))
        for i in range(0, len(samples), step)
    ]


def _text_of(chunk: llm.ChatChunk | str | object) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, llm.ChatChunk) and chunk.delta is not None:
        return chunk.delta.content or ""
    return ""
