"""One claimed batch of a conversation's messages → at most one reply through the Graph API.

Every expensive step is memoized per message or per batch (sealed with the conversation's data key), so a
retry after a crash does not transcribe, ask the LLM or upload again; the reply ledger makes sure a batch
that may already have been answered is never answered twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import structlog

from agent.queue import Claim, ConversationQueue, Job, ReplyState
from agent.records import ProcessingRecord, hashed_id
from agent.whatsapp import GraphClient, GraphError, MediaError, MediaFailure
from pipelines.audio import AudioError, AudioProblem
from pipelines.consent import Method, Purpose
from pipelines.pii import seed_sender
from pipelines.turn import Outcome, TurnConfig, TurnRunner

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agent.automation_config import ReplyMode
    from agent.consent_gate import ConsentGate
    from agent.metrics import Metrics
    from agent.store import ConversationStore
    from agent.tenants import TenantRegistry
    from agent.tools import ConversationTools, ToolFactory
    from agent.voices import Voices
    from pipelines.tts import Synthesizer
    from pipelines.turn import TurnResult

log = structlog.get_logger()

SERVICE_WINDOW_S = 24 * 3600
UNSUPPORTED_REPLY = (
    "Sorry, I can only read text messages and listen to voice notes. Could you send your question that way?"
)


class Verdict(StrEnum):
    REPLIED = "replied"
    ALREADY_REPLIED = "already_replied"
    WINDOW_CLOSED = "window_closed"
    GAVE_UP = "gave_up"
    WITHHELD = "withheld"  # consent (a STOP, an objection, an erasure) or a human handoff: nothing sent


@dataclass(frozen=True, slots=True)
class _Heard:
    """What the person said in one message, or the fixed reply for what could not be heard."""

    text: str = ""
    fallback: str = ""


class _Withheld(Exception):  # noqa: N818 - a verdict, not an error
    """Consent no longer allows this turn's next side effect; carries the guard's fixed reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Facts:
    """Content-free facts about one turn for the T0 processing ledger (ids, sizes, timings, tokens)."""

    timings_ms: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)


# Per turn (each claim runs in its own task, so each has its own value).
_FACTS: ContextVar[_Facts | None] = ContextVar("turn_facts", default=None)
# The voice note spoken while the LLM wrote the reply: (its text, its audio). Sent only if the text sent is it.
_SPOKEN: ContextVar[tuple[str, bytes] | None] = ContextVar("turn_spoken", default=None)


class TurnHandler:
    """Handles one claim end to end. Retryable failures propagate; the worker decides retry or dead letter."""

    def __init__(
        self,
        queue: ConversationQueue,
        store: ConversationStore,
        graph: GraphClient,
        runner: TurnRunner,
        tenants: TenantRegistry,
        metrics: Metrics,
        *,
        consent: ConsentGate,
        tools: ToolFactory | None = None,
        voices: Voices | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tools = tools
        self._voices = voices
        self._queue = queue
        self._consent = consent
        self._store = store
        self._graph = graph
        self._runner = runner
        self._tenants = tenants
        self._metrics = metrics
        self._clock = clock

    async def handle(self, claim: Claim) -> Verdict:
        states = await self._queue.reply_states(claim)
        todo = [j for j in claim.jobs if j.message_id not in states]
        unknown = [j for j in claim.jobs if states.get(j.message_id) is ReplyState.SENDING]
        if unknown:
            # A previous attempt died inside the send: it may have reached the person. At most one reply.
            log.warning("turn.send_outcome_unknown", conv=claim.conv, messages=len(unknown))
        if not todo:
            await self._queue.ack(claim)
            return Verdict.ALREADY_REPLIED
        first = todo[0].payload
        tenant_id = first["tenant"]
        _, config = self._tenants.get(tenant_id)
        last_inbound = max(int(j.payload["timestamp"]) for j in todo)
        if self._clock() - last_inbound > SERVICE_WINDOW_S:
            await self._queue.dead_letter(claim, "window_closed")
            return Verdict.WINDOW_CLOSED
        if claim.attempts > self._queue.config.max_attempts + 1:  # even the fallback could not be sent
            await self._queue.dead_letter(claim, "max_attempts_no_reply")
            return Verdict.GAVE_UP
        if claim.attempts > self._queue.config.max_attempts:
            with contextlib.suppress(_Withheld):  # consent withdrawn meanwhile: no apology either
                await self._answer(claim, todo, config.fallbacks.unavailable, voice=False)
            await self._queue.dead_letter(claim, "max_attempts")
            return Verdict.GAVE_UP
        token = self._tenants.access_token(tenant_id)
        facts = _Facts()
        _FACTS.set(facts)
        await self._mark_read(first["phone_number_id"], token, todo[-1].message_id)
        try:
            verdict = await self._gated_turn(claim, todo, config, token)
        except _Withheld as withheld:
            await self._queue.ack(claim)
            verdict, outcome = Verdict.WITHHELD, withheld.reason
        else:
            outcome = verdict.value
        await self._consent.processed(
            tenant_id,
            claim.conv,
            ProcessingRecord(
                event="turn",
                subject=claim.conv,
                outcome=outcome,
                message=hashed_id(todo[-1].message_id),
                timings_ms=facts.timings_ms,
                sizes={"messages": len(todo), "audio": sum(j.kind == "audio" for j in todo)},
                models=facts.models,
                tokens=facts.tokens,
            ),
        )
        return verdict

    async def _gated_turn(self, claim: Claim, todo: list[Job], config: TurnConfig, token: str) -> Verdict:
        """Keywords first (before any model), then handoff and `may(reply)`; raises `_Withheld`."""
        tenant_id = todo[0].payload["tenant"]
        confirmation = await self._keyword_reply(claim, todo, token)
        if confirmation is not None:
            await self._reply(claim, todo, confirmation, voice=False)  # always allowed: it answers a request
            await self._queue.ack(claim)
            return Verdict.REPLIED
        if await self._consent.handed_off(claim.conv):
            raise _Withheld("handed_off")  # a person of the business answers now
        await self._check(tenant_id, claim.conv, Purpose.REPLY)
        reply_text, voice = await self._compose(claim, todo, config, token)
        await self._answer(claim, todo, reply_text, voice=voice)
        await self._queue.ack(claim)
        return Verdict.REPLIED

    async def _keyword_reply(self, claim: Claim, todo: list[Job], token: str) -> str | None:
        """Each keyword message of the batch takes effect in order; the batch is answered with the last
        one's confirmation, and its other messages are not given to the LLM."""
        confirmation = None
        for job in todo:
            tenant_id = job.payload["tenant"]
            if job.kind in ("text", "interactive"):
                method = Method.BUTTON if job.kind == "interactive" else Method.KEYWORD
                said = job.payload.get("text")
            elif job.kind == "audio":  # transcribed once (memoized): an answer to the batch reuses it
                said, method = (await self._hear(claim, job, token)).text, Method.VOICE
            else:
                continue
            match = self._consent.keywords.match(tenant_id, said)
            if match is not None:
                confirmation = await self._consent.answer_keyword(
                    tenant_id, claim.conv, match, job.message_id, method
                )
        return confirmation

    async def _check(self, tenant_id: str, subject: str, purpose: Purpose) -> None:
        decision = await self._consent.may(tenant_id, subject, purpose)
        if not decision.allowed:
            raise _Withheld(decision.reason)

    async def _mark_read(self, phone_number_id: str, token: str, message_id: str) -> None:
        try:
            await self._graph.mark_read(phone_number_id, token, message_id, typing=True)
        except GraphError as exc:  # cosmetic: the turn goes on without the typing indicator
            log.info("turn.mark_read_failed", code=exc.code)

    async def _compose(
        self, claim: Claim, todo: list[Job], config: TurnConfig, token: str
    ) -> tuple[str, bool]:
        """The reply text for the batch (memoized), and whether it goes out as a voice note."""
        voice = self._reply_mode(todo) != "text"
        memo_name = "answer:" + _digest(todo)
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            return (await self._store.open(claim.conv, memo)).decode(), voice
        heard = [await self._hear(claim, job, token) for job in todo]
        said = "\n".join(h.text for h in heard if h.text)
        tenant_id = todo[0].payload["tenant"]
        if said:
            await self._check(tenant_id, claim.conv, Purpose.REPLY)  # a STOP may have come during STT
            conversation = await self._store.load(claim.conv)
            first = todo[0].payload
            seed_sender(conversation.vault, wa_id=first.get("to"), profile_name=first.get("profile_name"))
            timings: dict[str, float] = {}
            toolbox = self._toolbox(claim, todo)
            speaker = self._voice(tenant_id) if voice else None
            result = await self._runner.answer(said, conversation, config, timings, toolbox, voice=speaker)
            if result.reply_audio is not None:
                _SPOKEN.set((result.reply_text, result.reply_audio))
            if toolbox is not None and toolbox.ended:  # the next message starts afresh; the vault stays
                conversation.history, conversation.summary = [], ""
            self._observe(timings)
            reply = result.reply_text
            if result.outcome is Outcome.ANSWERED:
                await self._keep(claim, todo, said, result.minimized_user_text, reply, voice=voice)
                self._note_llm(result)
                retained = await self._consent.may(tenant_id, claim.conv, Purpose.RETAIN_CONTENT)
                # Without retention, the history is working memory for the service window only.
                await self._store.save(claim.conv, conversation, ttl_s=None if retained else SERVICE_WINDOW_S)
        else:
            reply = next((h.fallback for h in heard if h.fallback), config.fallbacks.not_understood)
        await self._queue.remember(claim, memo_name, await self._store.seal(claim.conv, reply.encode()))
        return reply, voice

    async def _keep(
        self, claim: Claim, todo: list[Job], said: str, minimized: str, reply: str, *, voice: bool
    ) -> None:
        """T2: the person's words, the minimized prompt text and the reply, if retention is allowed."""
        message_id = todo[-1].message_id
        await self._consent.retain(
            todo[0].payload["tenant"],
            claim.conv,
            [
                ("transcript" if voice else "message", said, message_id),
                ("prompt", minimized, message_id),
                ("reply", reply, message_id),
            ],
        )

    @staticmethod
    def _note_llm(result: TurnResult) -> None:
        facts = _FACTS.get()
        if facts is not None and result.llm is not None:
            facts.models["llm"] = result.llm.model
            facts.tokens |= {"prompt": result.llm.prompt_tokens, "completion": result.llm.completion_tokens}

    def _reply_mode(self, todo: list[Job]) -> ReplyMode:
        """The tenant's reply modality for this batch: per inbound type (a voice note in the batch wins)."""
        tenant, _ = self._tenants.get(todo[0].payload["tenant"])
        return tenant.replies.audio if any(j.kind == "audio" for j in todo) else tenant.replies.text

    async def _text_copy(self, phone_number_id: str, token: str, to: str, text: str) -> None:
        """The voice note's words as text too. The voice note already went out: a failure here is logged,
        never retried (a retry would send the voice note twice)."""
        try:
            await self._graph.send_text(phone_number_id, token, to, text)
        except GraphError as exc:
            log.warning("turn.text_copy_failed", code=exc.code)

    def _toolbox(self, claim: Claim, todo: list[Job]) -> ConversationTools | None:
        """The tenant's tools bound to this conversation and person (never chosen by the model)."""
        if self._tools is None:
            return None
        first = todo[0].payload
        tenant, _ = self._tenants.get(first["tenant"])
        return self._tools.for_turn(tenant, conv=claim.conv, contact=first["to"], turn_id=_digest(todo))

    async def _hear(self, claim: Claim, job: Job, token: str) -> _Heard:
        payload = job.payload
        if job.kind in ("text", "interactive"):
            return _Heard(text=payload.get("text") or "")
        if job.kind != "audio":
            return _Heard(fallback=UNSUPPORTED_REPLY)
        _, config = self._tenants.get(payload["tenant"])
        memo_name = "stt:" + job.message_id
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            return _Heard(**json.loads(await self._store.open(claim.conv, memo)))
        heard = await self._transcribe(payload, token, config)
        sealed = await self._store.seal(
            claim.conv, json.dumps({"text": heard.text, "fallback": heard.fallback}).encode()
        )
        await self._queue.remember(claim, memo_name, sealed)
        return heard

    async def _transcribe(self, payload: dict[str, Any], token: str, config: TurnConfig) -> _Heard:
        media = payload["media"]
        try:
            info = await self._graph.media_url(media["id"], token)
            data = await self._graph.download_media(info, token, media.get("sha256"))
        except MediaError as exc:
            log.warning("turn.media_rejected", reason=exc.reason.value)
            problem = AudioProblem.TOO_LARGE if exc.reason is MediaFailure.TOO_LARGE else AudioProblem.CORRUPT
            return _Heard(fallback=config.fallbacks.for_audio(problem))
        except ValueError:  # a media id that is not a Graph id: nothing to fetch
            log.warning("turn.media_rejected", reason="bad_media_id")
            return _Heard(fallback=config.fallbacks.for_audio(AudioProblem.CORRUPT))
        timings: dict[str, float] = {}
        try:
            transcript = await self._runner.transcribe(data, timings)
        except AudioError as exc:
            log.info("turn.audio_rejected", problem=exc.problem.value)
            return _Heard(fallback=config.fallbacks.for_audio(exc.problem))
        self._observe(timings)
        if not transcript.understood:
            return _Heard(fallback=config.fallbacks.not_understood)
        return _Heard(text=transcript.text)

    async def _answer(self, claim: Claim, todo: list[Job], text: str, *, voice: bool) -> None:
        """An answer carries the AI disclosure when due, and goes out only if `may(reply)` still holds right
        before the send (a STOP that arrived meanwhile stops it)."""
        tenant_id = todo[0].payload["tenant"]
        text, notice = await self._consent.outgoing(tenant_id, claim.conv, text, todo[-1].payload.get("text"))

        async def still_allowed() -> None:
            await self._check(tenant_id, claim.conv, Purpose.REPLY)

        sent_id = await self._reply(claim, todo, text, voice=voice, before_send=still_allowed)
        if notice is not None and sent_id is not None:
            await self._consent.disclosed(tenant_id, claim.conv, notice, sent_id)

    async def _reply(
        self,
        claim: Claim,
        todo: list[Job],
        text: str,
        *,
        voice: bool,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> str | None:
        """Upload (memoized) and send through the ledger: at most one reply per inbound message. Returns the
        sent message's id, None when an earlier attempt already answered."""
        payload = todo[0].payload
        phone_number_id, to = payload["phone_number_id"], payload["to"]
        token = self._tenants.access_token(payload["tenant"])
        media_id = await self._voice_note(claim, todo, text, phone_number_id, token) if voice else None
        if before_send is not None:
            await before_send()
        if not await self._queue.begin_send(claim, todo):
            return None
        try:
            if media_id is not None:
                sent_id = await self._graph.send_voice_note(phone_number_id, token, to, media_id)
                if self._reply_mode(todo) == "voice_and_text":
                    await self._text_copy(phone_number_id, token, to, text)
            else:
                sent_id = await self._graph.send_text(phone_number_id, token, to, text)
        except GraphError as exc:
            if exc.http_status and not exc.outcome_unknown:  # Meta refused it: a retry may send it
                await self._queue.abort_send(claim, todo)
            raise
        await self._queue.mark_sent(claim, todo)
        return sent_id

    async def _voice_note(
        self, claim: Claim, todo: list[Job], text: str, phone_number_id: str, token: str
    ) -> str:
        memo_name = "media:" + _digest(todo)
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            return memo.decode()
        timings: dict[str, float] = {}
        spoken = _SPOKEN.get()
        if spoken is not None and spoken[0] == text:
            audio = spoken[1]  # spoken while the LLM wrote it
        else:  # a retry, a fallback, or the reply with the AI disclosure before it
            audio = await self._runner.speak(text, timings, self._voice(todo[0].payload["tenant"]))
            self._observe(timings)
        media_id = await self._graph.upload_media(phone_number_id, token, audio, "audio/ogg")
        await self._queue.remember(claim, memo_name, media_id.encode())
        return media_id

    def _voice(self, tenant_id: str) -> Synthesizer:
        tenant, _ = self._tenants.get(tenant_id)
        return self._voices.get(tenant.voice) if self._voices is not None else self._runner.voice

    def _observe(self, timings: dict[str, float]) -> None:
        facts = _FACTS.get()
        for stage, ms in timings.items():
            self._metrics.stage_seconds.labels(stage).observe(ms / 1000)
            if facts is not None:
                facts.timings_ms[stage] = facts.timings_ms.get(stage, 0.0) + ms


def _digest(jobs: list[Job]) -> str:
    return hashlib.sha256("\0".join(j.message_id for j in jobs).encode()).hexdigest()[:16]
