"""Conversation memory with a token budget: older turns are folded into a summary, never dropped silently.

Folding happens in one go down to half the budget, so the summarizer runs once every few turns and each
message is summarized once: a turn's cost stays flat however long the conversation gets. The summary is
written by the model from minimized text and minimized again before it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pipelines.llm import SUMMARY_PREFIX, ChatTurn, LLMError, Responder
from pipelines.pii import PiiTimeout
from pipelines.sentences import cut_to_sentence

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from pipelines.pii import PiiGuard, Vault

_BYTES_PER_TOKEN = 4  # BPE tokenizers average ~4 bytes of UTF-8 per token on chat text
_MESSAGE_OVERHEAD = 4  # role and separators

SUMMARIZE_INSTRUCTIONS = (
    "You keep notes for a business's WhatsApp assistant. Merge the notes so far with the new messages into "
    "short notes (at most five sentences): what the customer wants, facts they gave, what was promised or "
    "booked, open questions. Keep placeholders such as <PHONE_1> exactly as written. Write only the notes."
)


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate, good enough for a budget (no tokenizer download is possible offline)."""
    return -(-len(text.encode()) // _BYTES_PER_TOKEN) + _MESSAGE_OVERHEAD


class Summarizer(Protocol):
    async def summarize(self, notes: str, turns: Sequence[ChatTurn]) -> str: ...


class LLMSummarizer:
    """Summarizes with the tenant's own LLM endpoint (the same minimized text the model already saw)."""

    def __init__(self, responder: Responder) -> None:
        self._responder = responder

    async def summarize(self, notes: str, turns: Sequence[ChatTurn]) -> str:
        transcript = "\n".join(f"{t.role}: {t.content}" for t in turns)
        reply = await self._responder.reply(
            [
                {"role": "system", "content": SUMMARIZE_INSTRUCTIONS},
                {
                    "role": "user",
                    "content": f"Notes so far: {notes or '(none)'}\n\nNew messages:\n{transcript}",
                },
            ]
        )
        return reply.text


@dataclass(frozen=True, slots=True)
class Fitted:
    history: list[ChatTurn]
    summary: str
    folded: int  # messages folded into the summary by this call


class Memory:
    """Keeps summary + history + the new message within `budget_tokens` (the system prompt is extra)."""

    def __init__(
        self,
        summarizer: Summarizer,
        pii: PiiGuard,
        *,
        budget_tokens: int = 1200,
        max_messages: int = 12,
        summary_tokens: int = 250,
    ) -> None:
        if summary_tokens * 2 > budget_tokens:
            raise ValueError("summary_tokens must be at most half of budget_tokens")
        self._summarizer = summarizer
        self._pii = pii
        self._budget = budget_tokens
        self._max_messages = max_messages
        self._summary_tokens = summary_tokens

    def cost(self, history: Sequence[ChatTurn], summary: str, incoming: str) -> int:
        summary_cost = approx_tokens(SUMMARY_PREFIX + summary) if summary else 0
        return summary_cost + sum(approx_tokens(t.content) for t in history) + approx_tokens(incoming)

    async def fit(
        self,
        history: Sequence[ChatTurn],
        summary: str,
        incoming: str,
        vault: Vault,
        *,
        public: Collection[str] = (),
    ) -> Fitted:
        if len(history) <= self._max_messages and self.cost(history, summary, incoming) <= self._budget:
            return Fitted(list(history), summary, 0)
        keep = self._kept(history, incoming)
        older, recent = list(history[: len(history) - keep]), list(history[len(history) - keep :])
        try:
            notes = await self._summarizer.summarize(summary, older)
        except LLMError:
            # The model is down: say what is missing rather than pretend the summary is complete.
            notes = f"{summary} ({len(older)} earlier messages could not be summarized.)".strip()
        try:
            notes = (await self._pii.minimize(notes, vault, public=public)).text
        except PiiTimeout:  # the model's notes could not be checked: keep none of their words
            notes = f"({len(older)} earlier messages could not be summarized.)"
        return Fitted(recent, self._capped(notes), len(older))

    def _kept(self, history: Sequence[ChatTurn], incoming: str) -> int:
        """How many recent messages stay verbatim: within half the budget (after the new message and a
        full summary), at most half of `max_messages`, and an even number so user/assistant pairs stay."""
        room = self._budget // 2 - approx_tokens(incoming)
        keep = 0
        for turn in reversed(history):
            cost = approx_tokens(turn.content)
            if keep >= self._max_messages // 2 or cost > room:
                break
            room -= cost
            keep += 1
        return keep - keep % 2

    def _capped(self, notes: str) -> str:
        limit = (self._summary_tokens - _MESSAGE_OVERHEAD) * _BYTES_PER_TOKEN - len(SUMMARY_PREFIX.encode())
        raw = notes.encode()
        if len(raw) <= limit:
            return notes
        return cut_to_sentence(raw[:limit].decode(errors="ignore"))  # never longer than its input
