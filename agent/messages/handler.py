"""One claimed batch of a conversation's messages → at most one reply through the Graph API.

The turn itself is composed by `pipelines.turn.TurnRunner.run`; this handler keeps what is the worker's:
the consent gate (keywords, handoff, `may`, the disclosure), Graph I/O (read receipt, media download, upload,
send), the reply ledger and the records. The queue is the turn's memo (sealed with the conversation's data
key), so a retry after a crash does not transcribe, ask the LLM or upload again; the reply ledger makes sure
a batch that may already have been answered is never answered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import structlog

from agent.analytics.facts import Count, TurnFacts
from agent.messages.queue import (
    Batch,
    Claim,
    ConversationQueue,
    QueuedMessage,
    QueueFormatError,
    ReplyState,
    TakenOverError,
    open_batch,
)
from agent.privacy.records import ProcessingRecord, hashed_id
from agent.storage.erasure import ErasedError, Fence, StaleLeaseError
from agent.storage.keyring import DataKeyGoneError
from agent.storage.staff_thread import Contact, StaffThread, ThreadEntry
from agent.whatsapp import GraphClient, GraphError, GraphTransportError, MediaError, MediaFailure
from pipelines.audio import AudioError, AudioProblem
from pipelines.consent import Method, Purpose
from pipelines.pii import seed_sender
from pipelines.turn import Message, Outcome, Turn, TurnConfig, TurnPorts, TurnRunner

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from agent.engines.speech import SpeechEngines
    from agent.engines.voices import Voices
    from agent.messages.queue import ClaimMemo, Job, QueuedMedia
    from agent.metrics import Metrics
    from agent.privacy.gate import ConsentGate
    from agent.storage.conversations import ConversationStore
    from agent.tenants.automation import ReplyMode
    from agent.tenants.registry import TenantRegistry
    from agent.tools.conversation import ConversationTools, ToolFactory
    from pipelines.consent import Intent, Notice
    from pipelines.turn import Conversation, StageTiming, TurnResult, VoiceChoice

log = structlog.get_logger()

SERVICE_WINDOW_S = 24 * 3600


class Verdict(StrEnum):
    REPLIED = "replied"
    ALREADY_REPLIED = "already_replied"
    WINDOW_CLOSED = "window_closed"
    GAVE_UP = "gave_up"
    WITHHELD = "withheld"  # consent (a STOP, an objection, an erasure) or a human handoff: nothing sent
    OUTCOME_UNKNOWN = "outcome_unknown"  # the reply may have reached the person; it is never sent again


class _Withheld(Exception):  # noqa: N818 - a verdict, not an error
    """Consent no longer allows this turn's next side effect; carries the guard's fixed reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Confirmed(Exception):  # noqa: N818 - a verdict, not an error
    """A spoken keyword took effect: the turn is answered with its confirmation, no model asked."""

    def __init__(self, confirmation: str) -> None:
        super().__init__("keyword")
        self.confirmation = confirmation


class _SendUnknown(Exception):  # noqa: N818 - a verdict, not an error
    """The reply may have been delivered: the ledger says so and the turn ends without another send."""


@dataclass(slots=True)
class _TurnTimer:
    """The turn's stage timings: each observed as a metric as it ends, and summed for the T0 record."""

    metrics: Metrics
    timings_ms: dict[str, float] = field(default_factory=dict)

    def record(self, timing: StageTiming) -> None:
        self.metrics.stage_seconds.labels(timing.stage).observe(timing.ms / 1000)
        self.timings_ms[timing.stage] = round(self.timings_ms.get(timing.stage, 0.0) + timing.ms, 2)


@dataclass(slots=True)
class _TurnNotes:
    """What this attempt of the turn did, for its T0 record (no content): the consent keywords that took
    effect, what the answer did (its own, or the first attempt's from the memo), when the reply went out."""

    keywords: Counter[Intent] = field(default_factory=Counter)
    facts: TurnFacts = field(default_factory=TurnFacts)
    reply_ms: float | None = None  # from the oldest message's arrival in the queue to the send

    def sent(self, todo: Batch, now: float) -> None:
        self.reply_ms = max(0.0, round(now * 1000 - todo.accepted_ms, 1))

    def counts(self) -> dict[str, int]:
        keywords = {intent.value: n for intent, n in self.keywords.items()}
        total = sum(self.keywords.values())
        return ({Count.KEYWORDS.value: total} if total else {}) | keywords | self.facts.counts()

    def timings_ms(self, stages: Mapping[str, float]) -> dict[str, float]:
        return {**stages, "reply": self.reply_ms} if self.reply_ms is not None else dict(stages)

    def sizes(self, todo: Batch) -> dict[str, int]:
        sizes = {"messages": len(todo.messages), "audio": sum(m.kind == "audio" for m in todo.messages)}
        return sizes | ({"audio_ms": self.facts.audio_ms} if self.facts.audio_ms else {})


class _AnswerFacts:
    """The facts of the turn's answer (`TurnFacts`), memoized beside it: a rerun that reuses the memoized
    answer records what the first attempt did (the lead it captured, the voice note it heard). Where the
    model answered they are kept before the runner keeps the answer (by the conversation port), so no crash
    separates the two; a fixed reply's facts are kept right after the turn."""

    def __init__(self, memo: ClaimMemo, turn_id: str, tools: ConversationTools | None) -> None:
        self._memo = memo
        self._step = "facts:" + turn_id
        self._tools = tools

    @property
    def ended(self) -> bool:
        """The model ended the conversation in this turn."""
        return self._tools is not None and self._tools.ended

    async def answered(self, result: TurnResult) -> None:
        tools = self._tools
        facts = TurnFacts(
            leads=tools.leads if tools else 0,
            bookings=tools.bookings if tools else 0,
            handoffs=int(tools.handed_off) if tools else 0,
            fallback=result.outcome is not Outcome.ANSWERED,
            audio_ms=result.audio_ms,
        )
        await self._memo.keep(self._step, facts.to_bytes())

    async def of(self, result: TurnResult) -> TurnFacts:
        """The turn's facts: the first attempt's where the answer was recalled (none kept: none known)."""
        if result.outcome is not Outcome.RECALLED and result.outcome is not Outcome.ANSWERED:
            await self.answered(result)
        kept = await self._memo.recall(self._step)
        return TurnFacts.from_bytes(kept) if kept is not None else TurnFacts()


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
        speech: SpeechEngines | None = None,
        staff: StaffThread | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`staff`: where the staff console finds how to reach the person and what they wrote while a person
        of the business held the conversation."""
        self._staff = staff
        self._tools = tools
        self._voices = voices
        self._speech = speech
        self._queue = queue
        self._consent = consent
        self._store = store
        self._graph = graph
        self._runner = runner
        self._tenants = tenants
        self._metrics = metrics
        self._clock = clock

    async def handle(self, claim: Claim) -> Verdict:
        """Erasure wins: once the person was erased (or an erasure runs or is pending) after this claim, every
        fenced write and the send refuse, and the turn ends here having written and sent nothing more."""
        try:
            batch = await open_batch(self._store, claim)
        except (ErasedError, DataKeyGoneError):
            return await self._erased(claim)
        except QueueFormatError as exc:  # no attempt of this process can read it: never retried
            log.error("turn.unreadable", conv=claim.conv, reason=exc.reason)
            await self._queue.dead_letter(claim, exc.reason)
            return Verdict.GAVE_UP
        try:
            return await self._handle(claim, batch)
        except (ErasedError, DataKeyGoneError):
            return await self._erased(claim)

    async def _erased(self, claim: Claim) -> Verdict:
        log.info("turn.erased", conv=claim.conv, messages=len(claim.jobs))
        with contextlib.suppress(StaleLeaseError):  # the erasure deleted the lease with the inbox
            await self._queue.ack(claim)
        record = ProcessingRecord(
            event="turn", subject=None, outcome="erased", sizes={"messages": len(claim.jobs)}
        )
        await self._consent.processed(claim.tenant, None, record)  # no subject key: the person is gone
        return Verdict.WITHHELD

    async def _handle(self, claim: Claim, batch: Batch) -> Verdict:
        states = await self._queue.reply_states(claim)
        todo = batch.without(states)
        interrupted = [j for j in claim.jobs if states.get(j.message_id) is ReplyState.SENDING]
        if interrupted:
            # A previous attempt died inside the send: it may have reached the person. At most one reply.
            await self._queue.mark_unknown(claim, interrupted)
            self._send_unknown(claim, interrupted, "interrupted")
        if not todo.messages:
            await self._queue.ack(claim)
            return Verdict.ALREADY_REPLIED
        try:
            config = self._tenants.get(todo.tenant).turn
        except KeyError:  # the tenant was removed: no attempt can ever answer
            await self._queue.dead_letter(claim, "tenant_removed")
            return Verdict.GAVE_UP
        if self._clock() - max(m.timestamp for m in todo.messages) > SERVICE_WINDOW_S:
            await self._queue.dead_letter(claim, "window_closed")
            return Verdict.WINDOW_CLOSED
        if claim.attempts > self._queue.config.max_attempts + 1:  # even the fallback could not be sent
            await self._queue.dead_letter(claim, "max_attempts_no_reply")
            return Verdict.GAVE_UP
        if self._staff is not None:
            last_inbound = float(max(m.timestamp for m in todo.messages))
            contact = Contact(todo.first.to, todo.first.phone_number_id, last_inbound)
            await self._staff.seen(claim.conv, contact, fence=_fence(claim))
        if claim.attempts > self._queue.config.max_attempts:
            # consent withdrawn (or a person of the business took over) meanwhile: no apology
            with contextlib.suppress(_Withheld, _SendUnknown, TakenOverError):
                await self._answer(claim, todo, config.texts.for_message(todo.last.text or "").unavailable)
            await self._queue.dead_letter(claim, "max_attempts")
            return Verdict.GAVE_UP
        timer, notes = _TurnTimer(self._metrics), _TurnNotes()
        result: TurnResult | None = None
        try:
            verdict, result = await self._gated_turn(claim, todo, config, timer, notes)
        except _Withheld as withheld:
            await self._queue.ack(claim)
            verdict, outcome = Verdict.WITHHELD, withheld.reason
        except TakenOverError:  # a person of the business took over during the turn: nothing was sent
            await self._queue.ack(claim)
            verdict, outcome = Verdict.WITHHELD, "taken_over"
        except _SendUnknown:
            await self._queue.ack(claim)
            verdict = Verdict.OUTCOME_UNKNOWN
            outcome = verdict.value
        else:
            # The record says `pii_timeout` instead of the verdict: the text went nowhere.
            pii_timeout = result is not None and result.outcome is Outcome.PII_TIMEOUT
            outcome = Outcome.PII_TIMEOUT.value if pii_timeout else verdict.value
        llm = result.llm if result is not None and result.outcome is Outcome.ANSWERED else None
        await self._consent.processed(
            todo.tenant,
            claim.conv,
            ProcessingRecord(
                event="turn",
                subject=claim.conv,
                outcome=outcome,
                message=hashed_id(todo.last.message_id),
                timings_ms=notes.timings_ms(timer.timings_ms),
                sizes=notes.sizes(todo),
                models={"llm": llm.model} if llm is not None else {},
                tokens={"prompt": llm.prompt_tokens, "completion": llm.completion_tokens} if llm else {},
                counts=notes.counts(),
            ),
        )
        return verdict

    async def _gated_turn(
        self, claim: Claim, todo: Batch, config: TurnConfig, timer: _TurnTimer, notes: _TurnNotes
    ) -> tuple[Verdict, TurnResult | None]:
        """Typed keywords first (before any model), then handoff and `may(reply)`; only a person who may be
        answered gets the read receipt and typing indicator, and only then does the turn run (downloading
        and hearing the notes while the receipt goes, spoken keywords, the answer). Raises `_Withheld`."""
        typed = [(j, m, m.text, _METHODS[m.kind]) for j, m in _pairs(todo) if m.kind in _METHODS]
        confirmation = await self._keywords(claim, typed, notes)
        if confirmation is not None:
            await self._reply(claim, todo, confirmation, notes)  # always allowed: it answers a request
            await self._queue.ack(claim)
            return Verdict.REPLIED, None
        if await self._consent.handed_off(claim.conv):
            if self._staff is not None:  # the person of the business reads them in the console
                await self._staff.withheld(
                    claim.conv, [_withheld(m) for m in todo.messages], fence=_fence(claim)
                )
            raise _Withheld("handed_off")  # a person of the business answers now
        await self._check(todo.tenant, claim.conv, Purpose.REPLY)
        token = self._tenants.access_token(todo.tenant)
        gate = _Gate(self, claim, todo, notes)
        tools = self._toolbox(claim, todo)
        turn = self._turn(claim, todo, config, token, tools)
        memo = self._queue.memo_of(claim, self._store, _fence(claim))
        facts = _AnswerFacts(memo, turn.id, tools)
        # The read receipt goes out while the notes download and are heard (one Graph round trip less on
        # every turn's path), and is done before any reply: the typing indicator never follows the answer.
        receipt = asyncio.create_task(
            self._mark_read(todo.first.phone_number_id, token, todo.last.message_id)
        )
        try:
            result = await self._runner.run(turn, self._ports(claim, todo, memo, gate, facts, timer))
        except _Confirmed as keyword:
            await receipt
            await self._reply(claim, todo, keyword.confirmation, notes)
            await self._queue.ack(claim)
            return Verdict.REPLIED, None
        finally:
            await receipt  # never left running, also when the turn fails
        notes.facts = await facts.of(result)
        if result.outcome in (Outcome.AUDIO_REJECTED, Outcome.NOT_UNDERSTOOD):
            log.info("turn.unheard", conv=claim.conv, outcome=result.outcome.value, failure=result.failure)
        elif result.outcome is Outcome.PII_TIMEOUT:
            log.warning("turn.pii_timeout", conv=claim.conv)
        sent_id = await self._reply(
            claim, todo, result.reply_text, notes, media_id=result.reply_media, before_send=gate.still_allowed
        )
        if gate.notice is not None and sent_id is not None:
            await self._consent.disclosed(todo.tenant, claim.conv, gate.notice, sent_id, fence=_fence(claim))
        await self._queue.ack(claim)
        return Verdict.REPLIED, result

    def _turn(
        self, claim: Claim, todo: Batch, config: TurnConfig, token: str, tools: ConversationTools | None
    ) -> Turn:
        """The batch as the composition hears it: voice notes download when heard, through the tenant's
        speech engines; the reply is spoken where the tenant answers this kind of message by voice."""
        tenant = self._tenants.get(todo.tenant).config
        return Turn(
            todo.digest,
            tuple(self._message(m, token) for m in todo.messages),
            config,
            voice=self._voice(todo.tenant) if self._reply_mode(todo) != "text" else None,
            # The tenant's language router (preloaded by the worker: a cache hit here), else the runner's.
            transcriber=self._speech.for_tenant(tenant) if self._speech is not None else None,
            toolbox=tools,
        )

    def _message(self, message: QueuedMessage, token: str) -> Message:
        if message.kind in ("text", "interactive"):
            return Message(message.message_id, text=message.text or "")
        if message.kind != "audio" or message.media is None:
            return Message(message.message_id)  # the composition answers with the tenant's fixed text
        media = message.media
        return Message(message.message_id, audio=lambda: self._download(media, token))

    async def _download(self, media: QueuedMedia, token: str) -> bytes:
        """The voice note from the Graph API; media it refuses or cannot check is audio that cannot be heard."""
        try:
            info = await self._graph.media_url(media.id, token)
            return await self._graph.download_media(info, token, media.sha256)
        except MediaError as exc:
            log.warning("turn.media_rejected", reason=exc.reason.value)
            too_large = exc.reason is MediaFailure.TOO_LARGE
            raise AudioError(AudioProblem.TOO_LARGE if too_large else AudioProblem.CORRUPT) from None
        except ValueError:  # a media id that is not a Graph id: nothing to fetch
            log.warning("turn.media_rejected", reason="bad_media_id")
            raise AudioError(AudioProblem.CORRUPT) from None

    def _ports(
        self, claim: Claim, todo: Batch, memo: ClaimMemo, gate: _Gate, facts: _AnswerFacts, timer: _TurnTimer
    ) -> TurnPorts:
        return TurnPorts(
            memo=memo,
            gate=gate,
            conversation=_StoredConversation(self, claim, todo, facts),
            timer=timer,
            voice_out=_Upload(
                self._graph, todo.first.phone_number_id, self._tenants.access_token(todo.tenant)
            ),
        )

    async def _keywords(
        self, claim: Claim, said: Sequence[tuple[Job, QueuedMessage, str | None, Method]], notes: _TurnNotes
    ) -> str | None:
        """Each keyword message takes effect in order (of the time it was sent); the batch is answered with
        the last one's confirmation, and its other messages are not given to the LLM. Raises `_Withheld` when
        every keyword was superseded by a newer signal (nothing changed: nothing to confirm)."""
        confirmation, matched = None, False
        for job, message, text, method in said:
            match = self._consent.keywords.match(message.tenant, text)
            if match is not None:
                matched = True
                answer = await self._consent.answer_keyword(
                    message.tenant,
                    claim.conv,
                    match,
                    job.message_id,
                    method,
                    float(message.timestamp),
                    fence=_fence(claim),
                )
                if answer is not None:
                    notes.keywords[match.intent] += 1
                confirmation = answer if answer is not None else confirmation
        if matched and confirmation is None:
            raise _Withheld("superseded")
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

    async def _keep(self, claim: Claim, todo: Batch, conversation: Conversation, result: TurnResult) -> None:
        """After an answer: T2 (the person's words, the minimized prompt text and the reply) if retention is
        allowed, and the conversation state, which without retention is working memory for the service window
        only. `may(retain_content)` is asked once, by `retain`."""
        message_id = todo.last.message_id
        voice = self._reply_mode(todo) != "text"
        retained = await self._consent.retain(
            todo.tenant,
            claim.conv,
            [
                ("transcript" if voice else "message", result.said, message_id),
                ("prompt", result.minimized_user_text, message_id),
                ("reply", result.reply_text, message_id),
            ],
            fence=_fence(claim),
        )
        ttl_s = None if retained else SERVICE_WINDOW_S
        await self._store.save(claim.conv, conversation, fence=_fence(claim), ttl_s=ttl_s)

    def _reply_mode(self, todo: Batch) -> ReplyMode:
        """The tenant's reply modality for this batch: per inbound type (a voice note in the batch wins)."""
        tenant = self._tenants.get(todo.tenant).config
        return tenant.replies.audio if todo.has_audio else tenant.replies.text

    async def _text_copy(
        self, claim: Claim, todo: Batch, phone_number_id: str, token: str, to: str, text: str
    ) -> None:
        """The voice note's words as text too. The voice note already went out: a failure here is logged,
        never retried (a retry would send the voice note twice)."""
        try:
            await self._graph.send_text(phone_number_id, token, to, text)
        except GraphError as exc:
            log.warning("turn.text_copy_failed", code=exc.code)
            if exc.outcome_unknown:
                self._send_unknown(claim, todo.jobs, _unknown_kind(exc), fbtrace_id=exc.fbtrace_id)

    def _toolbox(self, claim: Claim, todo: Batch) -> ConversationTools | None:
        """The tenant's tools bound to this conversation and person (never chosen by the model)."""
        if self._tools is None:
            return None
        tenant = self._tenants.get(todo.tenant).config
        return self._tools.for_turn(
            tenant, conv=claim.conv, contact=todo.first.to, turn_id=todo.digest, fence=_fence(claim)
        )

    async def _answer(self, claim: Claim, todo: Batch, text: str) -> None:
        """A fixed answer outside a turn (the apology after the last attempt) carries the AI disclosure when
        due, and goes out only if `may(reply)` still holds right before the send."""
        gate = _Gate(self, claim, todo, _TurnNotes())  # no record: the claim is dead-lettered
        text = await gate.outgoing(text, todo.last.text or text)
        sent_id = await self._send(claim, todo, text, before_send=gate.still_allowed)
        if gate.notice is not None and sent_id is not None:
            await self._consent.disclosed(todo.tenant, claim.conv, gate.notice, sent_id, fence=_fence(claim))

    async def _reply(
        self,
        claim: Claim,
        todo: Batch,
        text: str,
        notes: _TurnNotes,
        *,
        media_id: str | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> str | None:
        """The turn's reply through `_send`; notes when it went out (the time to reply)."""
        sent_id = await self._send(claim, todo, text, media_id=media_id, before_send=before_send)
        if sent_id is not None:
            notes.sent(todo, self._clock())
        return sent_id

    async def _send(
        self,
        claim: Claim,
        todo: Batch,
        text: str,
        *,
        media_id: str | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> str | None:
        """Send through the ledger (the voice note `media_id`, else `text`): at most one reply per inbound
        message. Returns the sent message's id, None when an earlier attempt already answered."""
        phone_number_id, to = todo.first.phone_number_id, todo.first.to
        token = self._tenants.access_token(todo.tenant)
        if before_send is not None:
            await before_send()
        if not await self._queue.begin_send(claim, todo.jobs):
            return None
        try:
            if media_id is not None:
                sent_id = await self._graph.send_voice_note(phone_number_id, token, to, media_id)
                if self._reply_mode(todo) == "voice_and_text":
                    await self._text_copy(claim, todo, phone_number_id, token, to, text)
            else:
                sent_id = await self._graph.send_text(phone_number_id, token, to, text)
        except GraphError as exc:
            if exc.outcome_unknown:  # it may have reached the person: recorded, counted, never sent again
                await self._queue.mark_unknown(claim, todo.jobs)
                self._send_unknown(claim, todo.jobs, _unknown_kind(exc), fbtrace_id=exc.fbtrace_id)
                raise _SendUnknown from None
            await self._queue.abort_send(
                claim, todo.jobs
            )  # never arrived, or Meta refused it: a retry may send
            raise
        await self._queue.mark_sent(claim, todo.jobs)
        return sent_id

    def _send_unknown(
        self, claim: Claim, jobs: tuple[Job, ...] | list[Job], kind: str, fbtrace_id: str | None = None
    ) -> None:
        self._metrics.send_outcome_unknown.labels(claim.tenant, kind).inc()
        log.warning(
            "turn.send_outcome_unknown",
            conv=claim.conv,
            kind=kind,
            messages=[hashed_id(j.message_id) for j in jobs],
            attempt=claim.attempts,
            fbtrace_id=fbtrace_id,
        )

    def _voice(self, tenant_id: str) -> VoiceChoice:
        """The tenant's voice for a reply's text (None: no voice for its language), else the runner's."""
        tenant = self._tenants.get(tenant_id).config
        voices, runner = self._voices, self._runner
        if voices is None:
            return lambda _text: runner.voice
        return lambda text: voices.for_reply(tenant.voice, tenant.language, text)


class _Gate:
    """The composition's `TurnGate` for one claim: spoken keywords, `may(reply)` and the AI disclosure (the
    notice it added is recorded once the reply was sent)."""

    def __init__(self, handler: TurnHandler, claim: Claim, todo: Batch, notes: _TurnNotes) -> None:
        self._handler = handler
        self._claim = claim
        self._todo = todo
        self._notes = notes
        self.notice: Notice | None = None

    async def heard(self, spoken: Mapping[str, str]) -> None:
        said = [
            (j, m, spoken[m.message_id], Method.VOICE)
            for j, m in _pairs(self._todo)
            if m.message_id in spoken
        ]
        confirmation = await self._handler._keywords(self._claim, said, self._notes)
        if confirmation is not None:
            raise _Confirmed(confirmation)

    async def still_allowed(self) -> None:
        await self._handler._check(self._todo.tenant, self._claim.conv, Purpose.REPLY)

    async def outgoing(self, reply: str, said: str) -> str:
        # A voice note has no text: the disclosure takes the reply's language (a Hindi note, a Hindi notice).
        text, self.notice = await self._handler._consent.outgoing(
            self._todo.tenant, self._claim.conv, reply, said
        )
        return text

    async def disclosure(self, said: str) -> str:
        # The same rule as `outgoing`, asked earlier: the voice note says the disclosure first, once.
        notice = await self._handler._consent.disclosure(self._todo.tenant, self._claim.conv, said)
        return notice.text if notice is not None else ""


class _StoredConversation:
    """The composition's `ConversationPort`: the sealed conversation state of the claim's person."""

    def __init__(self, handler: TurnHandler, claim: Claim, todo: Batch, facts: _AnswerFacts) -> None:
        self._handler = handler
        self._claim = claim
        self._todo = todo
        self._facts = facts

    async def load(self) -> Conversation:
        conversation = await self._handler._store.load(self._claim.conv)
        seed_sender(conversation.vault, wa_id=self._todo.first.to, profile_name=self._todo.first.profile_name)
        return conversation

    async def answered(self, conversation: Conversation, result: TurnResult) -> None:
        if self._facts.ended:  # the next message starts afresh; the vault stays
            conversation.history, conversation.summary = [], ""
        await self._facts.answered(result)  # before the runner keeps the answer
        await self._handler._keep(self._claim, self._todo, conversation, result)


@dataclass(frozen=True, slots=True)
class _Upload:
    """The composition's `VoiceOut`: the spoken reply uploaded as the tenant's media."""

    graph: GraphClient
    phone_number_id: str
    token: str

    async def publish(self, audio: bytes) -> str:
        return await self.graph.upload_media(self.phone_number_id, self.token, audio, "audio/ogg")


_METHODS = {"text": Method.KEYWORD, "interactive": Method.BUTTON}  # keywords read without any download


def _pairs(batch: Batch) -> list[tuple[Job, QueuedMessage]]:
    return list(zip(batch.jobs, batch.messages, strict=True))


def _unknown_kind(exc: GraphError) -> str:
    """The metric's `kind` for a send whose outcome is unknown."""
    if isinstance(exc, GraphTransportError):
        return exc.kind
    return "http_5xx" if exc.http_status >= 500 else "bad_response"


def _fence(claim: Claim) -> Fence:
    return Fence(claim.conv, claim.epoch)


def _withheld(message: QueuedMessage) -> ThreadEntry:
    """A customer's message as the staff console shows it (a voice note by its media id, for playback)."""
    media = (message.media.id, message.media.sha256 or "") if message.media else None
    return ThreadEntry("customer", message.kind, message.text or "", float(message.timestamp), media=media)
