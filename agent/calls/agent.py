"""The call `Agent`: the voice-note path's brain (tenant prompt, PII minimization, Responder) on a live call.

`llm_node` never lets raw PII reach the LLM: it builds a *new* chat context whose messages carry minimized
text (the session's own history stays as heard), delegates to the default node, and restores placeholders
in what is spoken, one sentence at a time because a placeholder can be split across chunks. Each message is
minimized once (cached by item id), so a turn's cost does not grow with the length of the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from livekit.agents import Agent, APIError, llm

from pipelines.pii import Minimizer, RestorePolicy, RestoreTarget, Vault, restore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from livekit.agents.voice import ModelSettings

log = structlog.get_logger()

_SENTENCE_END = re.compile(r"[.!?…।](?:\s+|$)")


@dataclass(frozen=True, slots=True)
class CallTexts:
    """What the agent says without asking the LLM, in the tenant's language."""

    greeting: str = "Hello! You are speaking with an AI assistant. How can I help you?"
    apology: str = (
        "Sorry, I can't answer that right now. I'll ask someone to call you back shortly. Is that all right?"
    )
    goodbye: str = "Thank you for calling. Goodbye!"
    busy: str = "Sorry, we are about to end this call. Please call again in a moment. Goodbye!"


@dataclass(frozen=True, slots=True)
class CallBrain:
    """The tenant's side of a call: prompt, restore policy, texts and the business's public numbers."""

    system_prompt: str
    texts: CallTexts = field(default_factory=CallTexts)
    restore_policy: RestorePolicy = field(default_factory=RestorePolicy)
    public_values: frozenset[str] = frozenset()


class CallAgent(Agent):
    def __init__(self, brain: CallBrain, minimizer: Minimizer, vault: Vault) -> None:
        super().__init__(instructions=brain.system_prompt)
        self._brain = brain
        self._minimizer = minimizer
        self._vault = vault
        self._minimized: dict[str, str] = {}  # chat item id -> minimized text

    @property
    def texts(self) -> CallTexts:
        return self._brain.texts

    async def on_enter(self) -> None:
        # The AI disclosure is the first thing said, before the caller's words are processed or kept.
        self.session.say(self._brain.texts.greeting, allow_interruptions=False)

    def minimized_context(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        """A new context with minimized copies of user and assistant messages (system text is the tenant's)."""
        items: list[llm.ChatItem] = []
        for item in chat_ctx.items:
            if isinstance(item, llm.ChatMessage) and item.role in ("user", "assistant"):
                text = self._minimized.get(item.id)
                if text is None:
                    raw = item.text_content or ""
                    text = self._minimizer.minimize(raw, self._vault, public=self._brain.public_values).text
                    self._minimized[item.id] = text
                items.append(llm.ChatMessage(id=item.id, role=item.role, content=[text]))
            elif isinstance(item, llm.ChatMessage):
                items.append(item.model_copy())
        return llm.ChatContext(items)

    async def llm_node(
        self, chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        minimized = self.minimized_context(chat_ctx)
        pending = ""
        try:
            async for chunk in Agent.default.llm_node(self, minimized, tools, model_settings):
                pending += _text_of(chunk)
                spoken, pending = _complete_sentences(pending)
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


def _text_of(chunk: llm.ChatChunk | str | object) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, llm.ChatChunk) and chunk.delta is not None:
        return chunk.delta.content or ""
    return ""


def _complete_sentences(text: str) -> tuple[str, str]:
    """Split `text` after its last sentence end: what can be spoken now, and what waits for more."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not ends:
        return "", text
    return text[: ends[-1]], text[ends[-1] :]
