"""What a person of the business may read of a conversation, and giving it back to the assistant.

Content (the restored history, the messages since the handoff, staff replies) only where the person's
consent allows `human_review`, or where the person asked for a person in this conversation (the handoff came
from their HUMAN keyword or the assistant's handoff tool); otherwise metadata only, and the reason.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.storage.erasure import ErasedError
from agent.storage.keyring import DataKeyGoneError, SealError
from pipelines.consent import Purpose
from pipelines.llm import ChatTurn
from pipelines.pii import PiiTimeout, RestorePolicy, RestoreTarget, restore
from pipelines.turn import Conversation

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.console.replies import StaffReplies
    from agent.console.takeover import Holder, Takeover
    from agent.privacy.gate import ConsentGate
    from agent.storage.conversations import ConversationStore
    from agent.storage.handoff import HandoffFlags
    from agent.storage.staff_thread import StaffThread, ThreadEntry
    from pipelines.pii import PiiGuard

ASKED = frozenset({"keyword", "assistant"})  # handoffs the person asked for
NOT_ALLOWED = (
    "Only metadata is shown: this person has not agreed that staff read their conversation (human_review), "
    "and did not ask for a person."
)


@dataclass(frozen=True, slots=True)
class Line:
    author: str  # customer, assistant, staff
    kind: str  # text, audio, voice
    text: str
    at: float | None = None
    voice: int | None = None  # a customer's voice note: its index in the thread, for /voice/{index}


@dataclass(frozen=True, slots=True)
class ConversationPage:
    conv: str
    handoff: str | None  # why it was handed off (None: the assistant handles it)
    holder: Holder | None
    window_left_s: float | None
    content_allowed: bool
    note: str
    lines: list[Line] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class ConversationView:
    def __init__(
        self,
        store: ConversationStore,
        gate: ConsentGate,
        flags: HandoffFlags,
        thread: StaffThread,
        takeover: Takeover,
        replies: StaffReplies,
    ) -> None:
        self._store = store
        self._gate = gate
        self._flags = flags
        self._thread = thread
        self._takeover = takeover
        self._replies = replies

    async def voice_media(self, conv: str, index: int) -> tuple[str, str] | None:
        """The media of the thread's `index`-th entry, if it is a customer's voice note and may be read."""
        entries = await self._thread.entries(conv)
        if not (0 <= index < len(entries)) or not await self.may_read(conv):
            return None
        return entries[index].media

    async def handoff_reason(self, conv: str) -> str | None:
        return await self._flags.reason(conv)

    async def may_read(self, conv: str) -> bool:
        if await self._flags.reason(conv) in ASKED:
            return True
        return (await self._gate.may(conv.split(":", 1)[0], conv, Purpose.HUMAN_REVIEW)).allowed

    async def read(self, conv: str) -> ConversationPage:
        reason = await self._flags.reason(conv)
        allowed = await self.may_read(conv)
        holder = await self._takeover.holder(conv)
        window = await self._replies.window_left_s(conv)
        try:
            conversation = await self._store.load(conv)
        except (DataKeyGoneError, SealError):  # erased (or expired) meanwhile: nothing left to read
            conversation = Conversation()
        entries = await self._thread.entries(conv)
        history = [
            Line("customer" if t.role == "user" else "assistant", "text",
                 restore(t.content, conversation.vault, RestorePolicy(), RestoreTarget.REPLY))
            for t in conversation.history if t.role in ("user", "assistant") and t.content
        ]  # fmt: skip
        since = [Line(e.author, e.kind, e.text, e.at, i if e.media else None) for i, e in enumerate(entries)]
        lines = history + since
        counts = {
            "customer": sum(line.author == "customer" for line in lines),
            "assistant": sum(line.author == "assistant" for line in lines),
            "staff": sum(line.author == "staff" for line in lines),
            "voice": sum(line.kind in ("audio", "voice") for line in lines),
        }
        return ConversationPage(
            conv,
            reason,
            holder,
            window,
            allowed,
            "" if allowed else NOT_ALLOWED,
            lines if allowed else [],
            counts,
        )


class Handback:
    """Gives a conversation back: what was said while a person held it joins the assistant's history,
    minimized like every turn's, so the assistant's next answer knows what the business already said."""

    def __init__(
        self,
        store: ConversationStore,
        thread: StaffThread,
        takeover: Takeover,
        gate: ConsentGate,
        pii: PiiGuard,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._thread = thread
        self._takeover = takeover
        self._gate = gate
        self._pii = pii
        self._clock = clock

    async def give_back(self, conv: str, staff: str, *, force: bool = False) -> int:
        """Returns how many messages joined the history. Releases the conversation last: the assistant's
        next turn starts only once its history is complete."""
        read = await self._thread.entries(conv)
        entries = [e for e in read if e.text]
        with contextlib.suppress(DataKeyGoneError, SealError, ErasedError):  # erased: only the flags go
            await self._merge(conv, entries)
        await self._takeover.give_back(conv, staff, force=force)
        await self._thread.drop(conv, len(read))  # a message that came meanwhile stays for the next read
        return len(entries)

    async def _merge(self, conv: str, entries: list[ThreadEntry]) -> None:
        if entries:
            conversation = await self._store.load(conv)
            for entry in entries:
                try:
                    minimized = await self._pii.minimize(entry.text, conversation.vault)
                except PiiTimeout:  # fails closed: a text not minimized in time never enters a prompt
                    continue
                turn = ChatTurn("user" if entry.author == "customer" else "assistant", minimized.text)
                conversation.history.append(turn)
            tenant = conv.split(":", 1)[0]
            retained = (await self._gate.may(tenant, conv, Purpose.RETAIN_CONTENT)).allowed
            fence = await self._gate.fence(conv)
            await self._store.save(conv, conversation, fence=fence, ttl_s=None if retained else 24 * 3600)
