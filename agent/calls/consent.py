"""Consent on a call, through the chat path's `ConsentGate`: what the caller says by keyword ("stop", "talk to
a person", "delete my data", …) is applied to the consent ledger as in chat (a handoff is flagged, data requests
reach the business's audit log), and the spoken AI disclosure is recorded as the notice this person was given.
Evidence only: the ledger gets the call id, never what was said.

When the call ends its transcript follows the log tiers of chat turns: the caller's and the agent's words go to
T2 (sealed) only if `retain_content` is allowed at that moment (a "delete my data" said during the call has
already taken it away), and T0 always gets a content-free call record."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from livekit.agents import llm

from agent.analytics.facts import Count
from agent.privacy.records import ProcessingRecord, hashed_id
from agent.storage.erasure import ErasedError
from pipelines.consent import Method, Purpose, render_notice

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agent.privacy.gate import ConsentGate
    from agent.privacy.records import ContentKind
    from agent.storage.erasure import Fence
    from agent.tenants.registry import Tenant
    from pipelines.consent import Decision, Intent, KeywordMatch

log = structlog.get_logger()

# The answer to the recording question, decided on the words before any model: a yes or no first word (no
# negation after a yes), in English and romanized Hindi; anything else is no answer (and so no recording).
_YES = frozenset({"yes", "yeah", "yep", "sure", "ok", "okay", "alright", "haan", "han", "ha", "ji"})
_NO = frozenset({"no", "nope", "nah", "don't", "dont", "nahin", "nahi", "mat"})
_NEGATION = frozenset({"no", "not", "don't", "dont", "nahin", "nahi", "never"})


def yes_or_no(text: str) -> bool | None:
    words = re.sub(r"[^\w\s']", " ", text.lower().replace("’", "'")).split()
    if words[:1] == ["please"]:
        words = words[1:]
    if not words:
        return None
    if words[0] in _NO or words[:2] == ["do", "not"]:
        return False
    if words[0] in _YES and not _NEGATION & set(words[1:]):
        return True
    return None


@dataclass(frozen=True, slots=True)
class CallTranscript:
    """What was said on a call, in order, and the latency of each agent answer (end of the caller's speech →
    the agent's first audio), taken from the session's history when the call ends."""

    turns: list[tuple[str, str]] = field(default_factory=list)  # (role, text): "user" or "assistant"
    response_s: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, history: llm.ChatContext) -> CallTranscript:
        transcript = cls()
        stopped: float | None = None
        for item in history.items:
            if not isinstance(item, llm.ChatMessage) or item.role not in ("user", "assistant"):
                continue
            text = item.text_content or ""
            if text.strip():
                transcript.turns.append((item.role, text))
            if item.role == "user":
                stopped = item.metrics.get("stopped_speaking_at", stopped)
            elif stopped is not None and "started_speaking_at" in item.metrics:
                transcript.response_s.append(max(0.0, item.metrics["started_speaking_at"] - stopped))
                stopped = None
        return transcript


class CallConsent:
    """One caller's consent on one call. Every consent record the call writes (a keyword's change, the
    disclosure's notice, the recording answer, the recording and transcript) is fenced by the erasure epoch
    the call took at its first consent check, as a chat turn's are by its claim's: a caller erased during
    the call gets no consent state or evidence back from it. A refused write sets `erased`, and the call
    ends (the caller hears the goodbye; nothing more is kept or done for them)."""

    def __init__(self, gate: ConsentGate, tenant: Tenant, subject: str, call_id: str) -> None:
        self._gate = gate
        self._tenant = tenant
        self._subject = subject
        self._call_id = call_id
        self._turns = itertools.count(1)
        self._fence: Fence | None = None  # the erasure epoch when the call began (its first `may_reply`)
        self.erased = asyncio.Event()  # a fenced write was refused: the caller was erased during the call
        self._keywords: Counter[Intent] = Counter()  # intents applied during the call, for its T0 record

    async def fence(self) -> Fence:
        """The call's fence: the caller's erasure epoch at the call's first consent check."""
        if self._fence is None:
            self._fence = await self._gate.fence(self._subject)
        return self._fence

    def lost(self) -> None:
        """The caller was erased since the call began: the call ends and keeps nothing more."""
        if not self.erased.is_set():
            log.info("call.caller_erased", call=self._call_id)
        self.erased.set()

    async def may_reply(self) -> Decision:
        """An objection, a restriction, a pending erasure or a STOP: the AI must not answer this caller."""
        await self.fence()
        return await self._gate.may(self._tenant.id, self._subject, Purpose.REPLY)

    async def _fenced(self, write: Callable[[Fence], Awaitable[object]]) -> bool:
        """Runs a consent write under the call's fence; False (and the call ends) if it was refused."""
        try:
            await write(await self.fence())
        except ErasedError:
            self.lost()
            return False
        return True

    async def recording(self, granted: bool) -> bool:
        """The caller's yes or no to the recording question, in the ledger (call id as evidence)."""
        evidence = f"{self._call_id}:{next(self._turns)}"
        return await self._fenced(
            lambda fence: self._gate.answered(
                self._tenant.id,
                self._subject,
                Purpose.CALL_RECORDING,
                granted,
                evidence,
                Method.VOICE,
                fence=fence,
            )
        )

    async def recorded(self, audio: bytes) -> bool:
        """The call's recording (an Opus note) to T2, if `call_recording` is still allowed and the caller was
        not erased during the call."""
        try:
            return await self._gate.keep_recording(
                self._tenant.id, self._subject, audio, self._call_id, fence=self._fence
            )
        except ErasedError:
            return False

    async def keyword(self, match: KeywordMatch) -> bool:
        """The keyword's change in the ledger; False if the caller was erased during the call (nothing
        written: the call ends without confirming)."""
        evidence = f"{self._call_id}:{next(self._turns)}"
        applied = await self._fenced(
            lambda fence: self._gate.answer_keyword(
                self._tenant.id, self._subject, match, evidence, Method.VOICE, fence=fence
            )
        )
        if applied:
            self._keywords[match.intent] += 1
        return applied

    async def disclosed(self, greeting: str) -> None:
        tenant = self._tenant
        notice = render_notice(
            greeting,
            tenant.language,
            business=tenant.name,
            version=tenant.consent.notice_version,
        )
        await self._fenced(
            lambda fence: self._gate.disclosed(tenant.id, self._subject, notice, self._call_id, fence=fence)
        )

    async def ended(
        self, transcript: CallTranscript, outcome: str, duration_s: float, *, recorded: bool = False
    ) -> bool:
        """T2 the transcript if retention is allowed now, T0 the call's facts; returns whether content was kept."""
        entries: list[tuple[ContentKind, str, str]] = [
            ("transcript" if role == "user" else "reply", text, f"{self._call_id}:{i}")
            for i, (role, text) in enumerate(transcript.turns, 1)
        ]
        erased = self.erased.is_set() or (
            self._fence is not None and await self._gate.fence(self._subject) != self._fence
        )
        try:  # the fence is checked again inside the write: an erasure from now on still wins
            kept = not erased and await self._gate.retain(
                self._tenant.id, self._subject, entries, fence=self._fence
            )
        except ErasedError:
            erased, kept = True, False
        log_subject = None if erased else self._subject  # an erased caller's call record does not name them
        timings = {"duration": round(duration_s * 1000, 1)}
        if transcript.response_s:
            timings["first_audio_max"] = round(max(transcript.response_s) * 1000, 1)
            timings["first_audio_mean"] = round(
                sum(transcript.response_s) / len(transcript.response_s) * 1000, 1
            )
        record = ProcessingRecord(
            event="call",
            subject=log_subject,
            outcome=outcome,
            message=hashed_id(self._call_id),
            timings_ms=timings,
            counts={
                Count.USER_TURNS: sum(role == "user" for role, _ in transcript.turns),
                Count.AGENT_TURNS: sum(role == "assistant" for role, _ in transcript.turns),
                "content_kept": int(kept),
                "recorded": int(recorded),
            }
            | {intent.value: n for intent, n in self._keywords.items()},
        )
        await self._gate.processed(self._tenant.id, log_subject, record)
        return kept
