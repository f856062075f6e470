"""One claimed batch of a conversation's messages → at most one reply through the Graph API.

Every expensive step is memoized per message or per batch (sealed with the conversation's data key), so a
retry after a crash does not transcribe, ask the LLM or upload again; the reply ledger makes sure a batch
that may already have been answered is never answered twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import structlog

from agent.messages.queue import (
    Claim,
    ConversationQueue,
    ErasedError,
    Job,
    ReplyState,
    StaleLeaseError,
    open_payload,
)
from agent.privacy.records import ProcessingRecord, hashed_id
from agent.storage.erasure import Fence
from agent.storage.keyring import DataKeyGoneError
from agent.whatsapp import GraphClient, GraphError, GraphTransportError, MediaError, MediaFailure
from pipelines.audio import AudioError, AudioProblem
from pipelines.consent import Method, Purpose
from pipelines.pii import seed_sender
from pipelines.turn import Outcome, TurnConfig, TurnRunner

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agent.engines.speech import SpeechEngines
    from agent.engines.voices import Voices
    from agent.metrics import Metrics
    from agent.privacy.gate import ConsentGate
    from agent.storage.conversations import ConversationStore
    from agent.tenants.automation import ReplyMode
    from agent.tenants.registry import TenantRegistry
    from agent.tools.conversation import ConversationTools, ToolFactory
    from pipelines.turn import TurnResult, VoiceChoice

log = structlog.get_logger()

SERVICE_WINDOW_S = 24 * 3600


class Verdict(StrEnum):
    REPLIED = "replied"
    ALREADY_REPLIED = "already_replied"
    WINDOW_CLOSED = "window_closed"
    GAVE_UP = "gave_up"
    WITHHELD = "withheld"  # consent (a STOP, an objection, an erasure) or a human handoff: nothing sent
    OUTCOME_UNKNOWN = "outcome_unknown"  # the reply may have reached the person; it is never sent again


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


class _SendUnknown(Exception):  # noqa: N818 - a verdict, not an error
    """The reply may have been delivered: the ledger says so and the turn ends without another send."""


@dataclass(slots=True)
class _Facts:
    """Content-free facts about one turn for the T0 processing ledger (ids, sizes, timings, tokens)."""

    timings_ms: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # keywords (per intent), leads, bookings, ...
    sizes: dict[str, int] = field(default_factory=dict)  # audio_ms: the voice notes' length
    outcome: str = ""  # what the record says instead of the verdict (`pii_timeout`: the text went nowhere)


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
        speech: SpeechEngines | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
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
            return await self._handle(await self._opened(claim))
        except (ErasedError, DataKeyGoneError):
            return await self._erased(claim)

    async def _opened(self, claim: Claim) -> Claim:
        """The claim with its jobs' sealed parts opened (the inbox holds them sealed with the data key)."""
        jobs = [
            dataclasses.replace(job, payload=await open_payload(self._store, claim.conv, job.payload))
            for job in claim.jobs
        ]
        return dataclasses.replace(claim, jobs=tuple(jobs))

    async def _erased(self, claim: Claim) -> Verdict:
        log.info("turn.erased", conv=claim.conv, messages=len(claim.jobs))
        with contextlib.suppress(StaleLeaseError):  # the erasure deleted the lease with the inbox
            await self._queue.ack(claim)
        tenant_id = claim.jobs[0].payload["tenant"]
        record = ProcessingRecord(
            event="turn", subject=None, outcome="erased", sizes={"messages": len(claim.jobs)}
        )
        await self._consent.processed(tenant_id, None, record)  # no subject key: the person is gone
        return Verdict.WITHHELD

    async def _handle(self, claim: Claim) -> Verdict:
        states = await self._queue.reply_states(claim)
        todo = [j for j in claim.jobs if j.message_id not in states]
        interrupted = [j for j in claim.jobs if states.get(j.message_id) is ReplyState.SENDING]
        if interrupted:
            # A previous attempt died inside the send: it may have reached the person. At most one reply.
            await self._queue.mark_unknown(claim, interrupted)
            self._send_unknown(claim, interrupted, "interrupted")
        if not todo:
            await self._queue.ack(claim)
            return Verdict.ALREADY_REPLIED
        first = todo[0].payload
        tenant_id = first["tenant"]
        try:
            _, config = self._tenants.get(tenant_id)
        except KeyError:  # the tenant was removed: no attempt can ever answer
            await self._queue.dead_letter(claim, "tenant_removed")
            return Verdict.GAVE_UP
        last_inbound = max(int(j.payload["timestamp"]) for j in todo)
        if self._clock() - last_inbound > SERVICE_WINDOW_S:
            await self._queue.dead_letter(claim, "window_closed")
            return Verdict.WINDOW_CLOSED
        if claim.attempts > self._queue.config.max_attempts + 1:  # even the fallback could not be sent
            await self._queue.dead_letter(claim, "max_attempts_no_reply")
            return Verdict.GAVE_UP
        if claim.attempts > self._queue.config.max_attempts:
            with contextlib.suppress(_Withheld, _SendUnknown):  # consent withdrawn meanwhile: no apology
                await self._answer(
                    claim,
                    todo,
                    config.texts.for_message(todo[-1].payload.get("text") or "").unavailable,
                    voice=False,
                )
            await self._queue.dead_letter(claim, "max_attempts")
            return Verdict.GAVE_UP
        token = self._tenants.access_token(tenant_id)
        facts = _Facts()
        _FACTS.set(facts)
        _SPOKEN.set(None)  # nothing spoken yet for this claim (a caller may handle several in one task)
        try:
            verdict = await self._gated_turn(claim, todo, config, token)
        except _Withheld as withheld:
            await self._queue.ack(claim)
            verdict, outcome = Verdict.WITHHELD, withheld.reason
        except _SendUnknown:
            await self._queue.ack(claim)
            verdict = Verdict.OUTCOME_UNKNOWN
            outcome = verdict.value
        else:
            outcome = facts.outcome or verdict.value
        await self._consent.processed(
            tenant_id,
            claim.conv,
            ProcessingRecord(
                event="turn",
                subject=claim.conv,
                outcome=outcome,
                message=hashed_id(todo[-1].message_id),
                timings_ms=facts.timings_ms,
                sizes={"messages": len(todo), "audio": sum(j.kind == "audio" for j in todo)} | facts.sizes,
                models=facts.models,
                tokens=facts.tokens,
                counts=facts.counts,
            ),
        )
        return verdict

    async def _gated_turn(self, claim: Claim, todo: list[Job], config: TurnConfig, token: str) -> Verdict:
        """Typed keywords first (before any model), then handoff and `may(reply)`; only a person who may be
        answered gets the read receipt and typing indicator, and only then is any media downloaded and
        transcribed (spoken keywords, then the answer). Raises `_Withheld`."""
        tenant_id = todo[0].payload["tenant"]
        typed = [(j, j.payload.get("text"), _METHODS[j.kind]) for j in todo if j.kind in _METHODS]
        confirmation = await self._keywords(claim, typed)
        if confirmation is not None:
            await self._reply(claim, todo, confirmation, voice=False)  # always allowed: it answers a request
            await self._queue.ack(claim)
            return Verdict.REPLIED
        if await self._consent.handed_off(claim.conv):
            raise _Withheld("handed_off")  # a person of the business answers now
        await self._check(tenant_id, claim.conv, Purpose.REPLY)
        await self._mark_read(todo[0].payload["phone_number_id"], token, todo[-1].message_id)
        spoken = [
            ((await self._hear(claim, j, token)).text, j) for j in todo if j.kind == "audio"
        ]  # transcribed once (memoized): the answer reuses it
        confirmation = await self._keywords(claim, [(j, said, Method.VOICE) for said, j in spoken])
        if confirmation is not None:
            await self._reply(claim, todo, confirmation, voice=False)
            await self._queue.ack(claim)
            return Verdict.REPLIED
        reply_text, voice = await self._compose(claim, todo, config, token)
        await self._answer(claim, todo, reply_text, voice=voice)
        await self._queue.ack(claim)
        return Verdict.REPLIED

    async def _keywords(self, claim: Claim, said: list[tuple[Job, str | None, Method]]) -> str | None:
        """Each keyword message takes effect in order (of the time it was sent); the batch is answered with
        the last one's confirmation, and its other messages are not given to the LLM. Raises `_Withheld` when
        every keyword was superseded by a newer signal (nothing changed: nothing to confirm)."""
        confirmation, matched = None, False
        for job, text, method in said:
            tenant_id = job.payload["tenant"]
            match = self._consent.keywords.match(tenant_id, text)
            if match is not None:
                matched = True
                given_at = float(job.payload["timestamp"])
                answer = await self._consent.answer_keyword(
                    tenant_id, claim.conv, match, job.message_id, method, given_at, fence=_fence(claim)
                )
                if answer is not None:
                    _count("keywords", match.intent.value)
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

    async def _compose(
        self, claim: Claim, todo: list[Job], config: TurnConfig, token: str
    ) -> tuple[str, bool]:
        """The reply text for the batch (memoized), and whether it goes out as a voice note."""
        voice = self._reply_mode(todo) != "text"
        memo_name = "answer:" + _digest(todo)
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            await self._recall_facts(claim, todo)
            return (await self._store.open(claim.conv, memo)).decode(), voice
        fence = _fence(claim)
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
            if toolbox is not None:
                _count(*toolbox.done)
            if result.outcome is not Outcome.ANSWERED:
                _count("fallback")
            reply = result.reply_text
            if result.outcome is Outcome.PII_TIMEOUT:
                log.warning("turn.pii_timeout", conv=claim.conv)
                self._note_outcome(result.outcome)
            if result.outcome is Outcome.ANSWERED:
                await self._keep(claim, todo, said, result.minimized_user_text, reply, voice=voice)
                self._note_llm(result)
                retained = await self._consent.may(tenant_id, claim.conv, Purpose.RETAIN_CONTENT)
                # Without retention, the history is working memory for the service window only.
                ttl_s = None if retained else SERVICE_WINDOW_S
                await self._store.save(claim.conv, conversation, fence=fence, ttl_s=ttl_s)
        else:
            _count("fallback")
            reply = next(
                (h.fallback for h in heard if h.fallback), config.texts.get(config.language).not_understood
            )
        await self._keep_facts(claim, todo)
        await self._queue.remember(
            claim, memo_name, await self._store.seal(claim.conv, reply.encode(), fence=fence)
        )
        return reply, voice

    async def _keep_facts(self, claim: Claim, todo: list[Job]) -> None:
        """The answer's counts and sizes (leads, bookings, voice-note length: no content), for a retry that
        reuses the memoized answer: its T0 record says what the first attempt did."""
        facts = _FACTS.get()
        if facts is not None:
            kept = json.dumps({"counts": facts.counts, "sizes": facts.sizes}).encode()
            await self._queue.remember(claim, "facts:" + _digest(todo), kept)

    async def _recall_facts(self, claim: Claim, todo: list[Job]) -> None:
        facts, kept = _FACTS.get(), await self._queue.memo(claim, "facts:" + _digest(todo))
        if facts is not None and kept is not None:
            saved = json.loads(kept)
            facts.counts |= saved["counts"]
            facts.sizes |= saved["sizes"]

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
            fence=_fence(claim),
        )

    @staticmethod
    def _note_outcome(outcome: Outcome) -> None:
        facts = _FACTS.get()
        if facts is not None:
            facts.outcome = outcome.value

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

    async def _text_copy(
        self, claim: Claim, todo: list[Job], phone_number_id: str, token: str, to: str, text: str
    ) -> None:
        """The voice note's words as text too. The voice note already went out: a failure here is logged,
        never retried (a retry would send the voice note twice)."""
        try:
            await self._graph.send_text(phone_number_id, token, to, text)
        except GraphError as exc:
            log.warning("turn.text_copy_failed", code=exc.code)
            if exc.outcome_unknown:
                self._send_unknown(claim, todo, _unknown_kind(exc), fbtrace_id=exc.fbtrace_id)

    def _toolbox(self, claim: Claim, todo: list[Job]) -> ConversationTools | None:
        """The tenant's tools bound to this conversation and person (never chosen by the model)."""
        if self._tools is None:
            return None
        first = todo[0].payload
        tenant, _ = self._tenants.get(first["tenant"])
        return self._tools.for_turn(
            tenant, conv=claim.conv, contact=first["to"], turn_id=_digest(todo), fence=_fence(claim)
        )

    async def _hear(self, claim: Claim, job: Job, token: str) -> _Heard:
        payload = job.payload
        if job.kind in ("text", "interactive"):
            return _Heard(text=payload.get("text") or "")
        _, config = self._tenants.get(payload["tenant"])
        if job.kind != "audio":
            return _Heard(fallback=config.texts.get(config.language).unsupported)
        memo_name = "stt:" + job.message_id
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            return _Heard(**json.loads(await self._store.open(claim.conv, memo)))
        heard = await self._transcribe(payload, token, config)
        sealed = await self._store.seal(
            claim.conv,
            json.dumps({"text": heard.text, "fallback": heard.fallback}).encode(),
            fence=_fence(claim),
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
            return _Heard(fallback=config.texts.get(config.language).for_audio(problem))
        except ValueError:  # a media id that is not a Graph id: nothing to fetch
            log.warning("turn.media_rejected", reason="bad_media_id")
            return _Heard(fallback=config.texts.get(config.language).for_audio(AudioProblem.CORRUPT))
        timings: dict[str, float] = {}
        # The tenant's language router (preloaded by the worker: a cache hit here), else the runner's engine.
        router = self._speech.for_tenant(self._tenants.get(payload["tenant"])[0]) if self._speech else None
        try:
            transcript = await self._runner.transcribe(data, timings, router)
        except AudioError as exc:
            log.info("turn.audio_rejected", problem=exc.problem.value)
            return _Heard(fallback=config.texts.get(config.language).for_audio(exc.problem))
        self._observe(timings)
        facts = _FACTS.get()
        if facts is not None:
            facts.sizes["audio_ms"] = facts.sizes.get("audio_ms", 0) + round(transcript.duration_s * 1000)
        if not transcript.understood:
            log.info("turn.not_understood", reason=transcript.reason, language=transcript.language)
            return _Heard(fallback=config.texts.for_heard(transcript.language).not_understood)
        return _Heard(text=transcript.text)

    async def _answer(self, claim: Claim, todo: list[Job], text: str, *, voice: bool) -> None:
        """An answer carries the AI disclosure when due, and goes out only if `may(reply)` still holds right
        before the send (a STOP that arrived meanwhile stops it)."""
        tenant_id = todo[0].payload["tenant"]
        # A voice note has no text: the disclosure takes the reply's language (a Hindi note, a Hindi notice).
        said = todo[-1].payload.get("text") or text
        text, notice = await self._consent.outgoing(tenant_id, claim.conv, text, said)

        async def still_allowed() -> None:
            await self._check(tenant_id, claim.conv, Purpose.REPLY)

        sent_id = await self._reply(claim, todo, text, voice=voice, before_send=still_allowed)
        if notice is not None and sent_id is not None:
            await self._consent.disclosed(tenant_id, claim.conv, notice, sent_id, fence=_fence(claim))

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
                    await self._text_copy(claim, todo, phone_number_id, token, to, text)
            else:
                sent_id = await self._graph.send_text(phone_number_id, token, to, text)
        except GraphError as exc:
            if exc.outcome_unknown:  # it may have reached the person: recorded, counted, never sent again
                await self._queue.mark_unknown(claim, todo)
                self._send_unknown(claim, todo, _unknown_kind(exc), fbtrace_id=exc.fbtrace_id)
                raise _SendUnknown from None
            await self._queue.abort_send(claim, todo)  # never arrived, or Meta refused it: a retry may send
            raise
        await self._queue.mark_sent(claim, todo)
        self._note_reply_time(todo)
        return sent_id

    def _note_reply_time(self, todo: list[Job]) -> None:
        """From the oldest message's arrival (its queue entry's id is the Redis time it was accepted, in ms)
        to this send."""
        facts = _FACTS.get()
        if facts is not None:
            arrived_ms = min(int(j.entry_id.split("-", 1)[0]) for j in todo)
            facts.timings_ms["reply"] = max(0.0, round(self._clock() * 1000 - arrived_ms, 1))

    def _send_unknown(self, claim: Claim, jobs: list[Job], kind: str, fbtrace_id: str | None = None) -> None:
        tenant = claim.conv.split(":", 1)[0]
        self._metrics.send_outcome_unknown.labels(tenant, kind).inc()
        log.warning(
            "turn.send_outcome_unknown",
            conv=claim.conv,
            kind=kind,
            messages=[hashed_id(j.message_id) for j in jobs],
            attempt=claim.attempts,
            fbtrace_id=fbtrace_id,
        )

    async def _voice_note(
        self, claim: Claim, todo: list[Job], text: str, phone_number_id: str, token: str
    ) -> str | None:
        """The reply as an uploaded voice note, None when the tenant has no voice for its language (it goes
        as text: an English voice never reads Devanagari)."""
        memo_name = "media:" + _digest(todo)
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            return memo.decode()
        timings: dict[str, float] = {}
        voice = self._voice(todo[0].payload["tenant"])(text)
        if voice is None:
            return None
        spoken = _SPOKEN.get()
        if spoken is not None and spoken[0] == text:
            audio = spoken[1]  # spoken while the LLM wrote it, by this same voice (`TurnRunner.answer`)
        else:  # a retry, a fallback, or the reply with the AI disclosure before it
            audio = await self._runner.speak(text, timings, voice)
            self._observe(timings)
        media_id = await self._graph.upload_media(phone_number_id, token, audio, "audio/ogg")
        await self._queue.remember(claim, memo_name, media_id.encode())
        return media_id

    def _voice(self, tenant_id: str) -> VoiceChoice:
        """The tenant's voice for a reply's text (None: no voice for its language), else the runner's."""
        tenant, _ = self._tenants.get(tenant_id)
        voices, runner = self._voices, self._runner
        if voices is None:
            return lambda _text: runner.voice
        return lambda text: voices.for_reply(tenant.voice, tenant.language, text)

    def _observe(self, timings: dict[str, float]) -> None:
        facts = _FACTS.get()
        for stage, ms in timings.items():
            self._metrics.stage_seconds.labels(stage).observe(ms / 1000)
            if facts is not None:
                facts.timings_ms[stage] = facts.timings_ms.get(stage, 0.0) + ms


_METHODS = {"text": Method.KEYWORD, "interactive": Method.BUTTON}  # keywords read without any download


def _unknown_kind(exc: GraphError) -> str:
    """The metric's `kind` for a send whose outcome is unknown."""
    if isinstance(exc, GraphTransportError):
        return exc.kind
    return "http_5xx" if exc.http_status >= 500 else "bad_response"


def _count(*names: str) -> None:
    """Adds one to each named count of this turn's T0 record."""
    facts = _FACTS.get()
    if facts is not None:
        for name in names:
            facts.counts[name] = facts.counts.get(name, 0) + 1


def _fence(claim: Claim) -> Fence:
    return Fence(claim.conv, claim.epoch)


def _digest(jobs: list[Job]) -> str:
    return hashlib.sha256("\0".join(j.message_id for j in jobs).encode()).hexdigest()[:16]
