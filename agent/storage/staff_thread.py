"""What a person of the business needs to answer a handed-off conversation, sealed with the conversation's data
key (erasure makes it unreadable with everything else): how to reach the person (`contact`: their WhatsApp id
and the business number they wrote to, refreshed by every turn) and the messages exchanged while a person of
the business holds the conversation (`thread`: the customer's messages the assistant withheld, staff replies).

Kept for the service window plus a day: a reply outside the window can only be a template anyway. The turn
writes under its erasure fence; the console writes unfenced (a person acting now, not on behalf of a turn).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agent.storage.erasure import ErasedError, FencedWriter
from agent.storage.inbox import InboxIndex
from agent.storage.keyring import DataKeyGoneError, SealError
from agent.storage.keys import conversation_key

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from agent.storage.conversations import ConversationStore
    from agent.storage.erasure import Fence
    from agent.storage.redis_client import RedisClient

KEEP_S = 2 * 86_400
THREAD_CAP = 200  # entries per conversation: a long takeover keeps its most recent messages

Author = Literal["customer", "staff"]


@dataclass(frozen=True, slots=True)
class Contact:
    to: str
    phone_number_id: str
    last_inbound: float  # the customer's last message (Meta's timestamp): the service window runs from it


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    author: Author
    kind: str  # text, audio (a voice note), voice (a staff voice reply)
    text: str
    at: float
    staff: str = ""  # the staff member's e-mail for a staff reply
    media: tuple[str, str] | None = None  # a customer's voice note: (Graph media id, sha256), for playback


class StaffThread:
    def __init__(
        self,
        redis: RedisClient,
        store: ConversationStore,
        *,
        shards: int,
        index: InboxIndex | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._index = index or InboxIndex(redis, clock=clock)
        self._store = store
        self._shards = shards
        self._clock = clock
        self._writer = FencedWriter(redis, shards=shards)

    def _key(self, conv: str, suffix: str) -> str:
        return conversation_key(conv, suffix, self._shards)

    async def _sealed(self, conv: str, value: dict[str, Any], fence: Fence | None) -> bytes:
        return await self._store.seal(conv, json.dumps(value, separators=(",", ":")).encode(), fence=fence)

    async def seen(self, conv: str, contact: Contact, *, fence: Fence) -> None:
        """A turn's inbound messages: remember how to reach the person, and tell the console (recent
        conversations, live updates). Nothing is kept of a person erased (or being erased) since the turn
        began; the turn's own checks decide what happens to it."""
        value = {
            "to": contact.to,
            "phone_number_id": contact.phone_number_id,
            "last_inbound": contact.last_inbound,
        }
        with contextlib.suppress(ErasedError):
            sealed = await self._sealed(conv, value, fence)
            await self._writer.write(fence, [("SET", self._key(conv, "contact"), [sealed, "EX", KEEP_S])])
            await self._index.note(conv, "message")

    async def withheld(self, conv: str, entries: Sequence[ThreadEntry], *, fence: Fence) -> None:
        """Messages the assistant did not answer because a person of the business holds the conversation."""
        sealed = [await self._sealed(conv, _fields(e), fence) for e in entries]
        await self._append(conv, sealed, fence)
        await self._index.note(
            conv, "message", withheld=len(entries)
        )  # the open conversation page shows them now

    async def staff_reply(self, conv: str, text: str, staff: str, *, kind: str = "text") -> None:
        entry = ThreadEntry("staff", kind, text, self._clock(), staff)
        await self._append(conv, [await self._sealed(conv, _fields(entry), None)], None)

    async def _append(self, conv: str, entries: list[bytes], fence: Fence | None) -> None:
        key = self._key(conv, "thread")
        commands = [("RPUSH", key, entries), ("LTRIM", key, [-THREAD_CAP, -1]), ("EXPIRE", key, [KEEP_S])]
        if fence is not None:
            await self._writer.write(fence, commands)  # type: ignore[arg-type]
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *entries)
            pipe.ltrim(key, -THREAD_CAP, -1)
            pipe.expire(key, KEEP_S)
            await pipe.execute()

    async def contact(self, conv: str) -> Contact | None:
        raw = await self._redis.get(self._key(conv, "contact"))
        if raw is None:
            return None
        try:
            data = json.loads(await self._store.open(conv, _b(raw)))
        except (DataKeyGoneError, SealError):
            return None
        return Contact(data["to"], data["phone_number_id"], float(data["last_inbound"]))

    async def entries(self, conv: str) -> list[ThreadEntry]:
        out = []
        for raw in await self._redis.lrange(self._key(conv, "thread"), 0, -1):
            try:
                data = json.loads(await self._store.open(conv, _b(raw)))
            except (DataKeyGoneError, SealError):
                return []
            media = data.get("media")
            out.append(
                ThreadEntry(data["author"], data["kind"], data["text"], data["at"], data.get("staff", ""),
                            (media[0], media[1]) if media else None)
            )  # fmt: skip
        return out

    async def drop(self, conv: str, count: int) -> None:
        """The oldest `count` entries, which went into the assistant's (minimized) history at give-back."""
        await self._redis.ltrim(self._key(conv, "thread"), count, -1)


def _fields(entry: ThreadEntry) -> dict[str, Any]:
    return {
        "author": entry.author,
        "kind": entry.kind,
        "text": entry.text,
        "at": entry.at,
        "staff": entry.staff,
        "media": list(entry.media) if entry.media else None,
    }


def _b(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value
