"""One claimed batch of a conversation's messages → at most one reply through the Graph API.

Every expensive step is memoized per message or per batch (sealed with the conversation's data key), so a
retry after a crash does not transcribe, ask the LLM or upload again; the reply ledger makes sure a batch
that may already have been answered is never answered twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import structlog

from agent.queue import Claim, ConversationQueue, Job, ReplyState
from agent.whatsapp import GraphClient, GraphError, MediaError, MediaFailure
from pipelines.audio import AudioError, AudioProblem
from pipelines.pii import seed_sender
from pipelines.turn import Outcome, TurnConfig, TurnRunner

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.metrics import Metrics
    from agent.store import ConversationStore
    from agent.tenants import TenantRegistry

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


@dataclass(frozen=True, slots=True)
class _Heard:
    """What the person said in one message, or the fixed reply for what could not be heard."""

    text: str = ""
    fallback: str = ""


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
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
            await self._reply(claim, todo, config.fallbacks.unavailable, voice=False)
            await self._queue.dead_letter(claim, "max_attempts")
            return Verdict.GAVE_UP
        token = self._tenants.access_token(tenant_id)
        await self._mark_read(first["phone_number_id"], token, todo[-1].message_id)
        reply_text, voice = await self._compose(claim, todo, config, token)
        await self._reply(claim, todo, reply_text, voice=voice)
        await self._queue.ack(claim)
        return Verdict.REPLIED

    async def _mark_read(self, phone_number_id: str, token: str, message_id: str) -> None:
        try:
            await self._graph.mark_read(phone_number_id, token, message_id, typing=True)
        except GraphError as exc:  # cosmetic: the turn goes on without the typing indicator
            log.info("turn.mark_read_failed", code=exc.code)

    async def _compose(
        self, claim: Claim, todo: list[Job], config: TurnConfig, token: str
    ) -> tuple[str, bool]:
        """The reply text for the batch (memoized), and whether it goes out as a voice note."""
        voice = any(j.kind == "audio" for j in todo)
        memo_name = "answer:" + _digest(todo)
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            return (await self._store.open(claim.conv, memo)).decode(), voice
        heard = [await self._hear(claim, job, token) for job in todo]
        said = "\n".join(h.text for h in heard if h.text)
        if said:
            conversation = await self._store.load(claim.conv)
            first = todo[0].payload
            seed_sender(conversation.vault, wa_id=first.get("to"), profile_name=first.get("profile_name"))
            timings: dict[str, float] = {}
            result = await self._runner.answer(said, conversation, config, timings)
            self._observe(timings)
            if result.outcome is Outcome.ANSWERED:
                await self._store.save(claim.conv, conversation)
            reply = result.reply_text
        else:
            reply = next((h.fallback for h in heard if h.fallback), config.fallbacks.not_understood)
        await self._queue.remember(claim, memo_name, await self._store.seal(claim.conv, reply.encode()))
        return reply, voice

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

    async def _reply(self, claim: Claim, todo: list[Job], text: str, *, voice: bool) -> None:
        """Upload (memoized) and send through the ledger: at most one reply per inbound message."""
        payload = todo[0].payload
        phone_number_id, to = payload["phone_number_id"], payload["to"]
        token = self._tenants.access_token(payload["tenant"])
        media_id = await self._voice_note(claim, todo, text, phone_number_id, token) if voice else None
        if not await self._queue.begin_send(claim, todo):
            return
        try:
            if media_id is not None:
                await self._graph.send_voice_note(phone_number_id, token, to, media_id)
            else:
                await self._graph.send_text(phone_number_id, token, to, text)
        except GraphError as exc:
            if exc.http_status and not exc.outcome_unknown:  # Meta refused it: a retry may send it
                await self._queue.abort_send(claim, todo)
            raise
        await self._queue.mark_sent(claim, todo)

    async def _voice_note(
        self, claim: Claim, todo: list[Job], text: str, phone_number_id: str, token: str
    ) -> str:
        memo_name = "media:" + _digest(todo)
        memo = await self._queue.memo(claim, memo_name)
        if memo is not None:
            return memo.decode()
        timings: dict[str, float] = {}
        audio = await self._runner.speak(text, timings)
        self._observe(timings)
        media_id = await self._graph.upload_media(phone_number_id, token, audio, "audio/ogg")
        await self._queue.remember(claim, memo_name, media_id.encode())
        return media_id

    def _observe(self, timings: dict[str, float]) -> None:
        for stage, ms in timings.items():
            self._metrics.stage_seconds.labels(stage).observe(ms / 1000)


def _digest(jobs: list[Job]) -> str:
    return hashlib.sha256("\0".join(j.message_id for j in jobs).encode()).hexdigest()[:16]
