"""Redis-backed conversation state (PII vault + minimized history), encrypted with a per-conversation key.

Each conversation has a random data key, stored wrapped (AES-GCM) under the deployment's master key. The
vault and anything else with content is sealed with that data key, so erasing a person's data is deleting
one key: every copy (AOF, replicas, backups) becomes unreadable at once.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.messages.queue import ErasedError, conversation_key
from agent.storage.erasure import FENCE_PRELUDE, PENDING_FIELD, FencedWriter
from agent.storage.inbox import InboxIndex
from agent.storage.keyring import NONCE, DataKeyGoneError, Keyring, SealError, master_secret
from agent.storage.redis_client import run_script_many
from pipelines.pii import Vault
from pipelines.respond import ChatTurn
from pipelines.turn import Conversation

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agent.storage.erasure import Fence
    from agent.storage.redis_client import RedisClient

__all__ = [
    "ConversationStore",
    "DataKeyGoneError",
    "DeliveryStatuses",
    "HandoffFlags",
    "Keyring",
    "SealError",
    "master_secret",
]

DAY_S = 86_400

# KEYS: epoch, consent, dek   ARGV: fence epoch ('' = not fenced), pending field, wrapped candidate, ttl_s
# A new key (or the one that appeared meanwhile), but for a fenced writer only while no erasure ran, runs or
# is pending since it began: a turn never recreates the key of a person erased meanwhile.
_DATA_KEY = (
    FENCE_PRELUDE
    + """
local current = redis.call('GET', KEYS[3])
if current then return current end
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
return ARGV[3]
"""
)


class ConversationStore:
    """Loads and saves a conversation's vault and minimized history; seals other content for the worker."""

    def __init__(
        self,
        redis: RedisClient,
        keyring: Keyring,
        *,
        shards: int,
        history_limit: int = 24,
        ttl_s: int = 30 * DAY_S,
        key_store: RedisClient | None = None,
    ) -> None:
        """`key_store`: where data keys live. A separate server, kept out of the data's AOF and backups,
        is what makes erasure reach those copies; by default the keys sit beside the data."""
        self._redis = redis
        self.key_store = key_store or redis
        self.keyring = keyring
        self._shards = shards
        self._history_limit = history_limit
        self._ttl_s = ttl_s
        self.writer = FencedWriter(redis, shards=shards)
        self._get_or_create = self.key_store.register_script(_DATA_KEY)

    def _key(self, conv: str, suffix: str) -> str:
        return conversation_key(conv, suffix, self._shards)

    async def _data_key(self, conv: str, *, create: bool, fence: Fence | None = None) -> AESGCM:
        """The subject's data key. Opening never creates one (nothing sealed can exist without it); sealing
        creates one if needed, under `fence` for a turn."""
        key = self._key(conv, "dek")
        wrapped = await self.key_store.getex(key, ex=self._ttl_s)  # its lifetime renewed in the same trip
        if wrapped is None and not create:
            raise DataKeyGoneError("no data key (erased or expired)")
        if wrapped is None:
            if (
                fence is not None
                and self.key_store is not self._redis
                and await self._redis.hexists(self._key(conv, "consent"), PENDING_FIELD)
            ):  # the key store cannot see the consent hash: asked here (the data writes check it again)
                raise ErasedError
            candidate = self.keyring.wrap(conv, AESGCM.generate_key(bit_length=256))
            wrapped = await self._get_or_create(  # whoever wins a race, everyone uses the stored key
                keys=[*self.writer.fence_keys(conv), key],
                args=[*self.writer.fence_args(fence), candidate, self._ttl_s],
            )
            if wrapped == -2:
                raise ErasedError
        raw = wrapped.encode() if isinstance(wrapped, str) else wrapped
        return AESGCM(self.keyring.unwrap(conv, raw))

    async def seal(self, conv: str, plaintext: bytes, *, fence: Fence | None = None) -> bytes:
        """`fence`: the caller is a turn (or call) that must not recreate the key of a person erased since
        it began; ingress and the operator seal unfenced (they act now, not on behalf of an older turn)."""
        aead = await self._data_key(conv, create=True, fence=fence)
        nonce = os.urandom(NONCE)
        return nonce + aead.encrypt(nonce, plaintext, conv.encode())

    async def open(self, conv: str, sealed: bytes) -> bytes:
        aead = await self._data_key(conv, create=False)
        try:
            return aead.decrypt(sealed[:NONCE], sealed[NONCE:], conv.encode())
        except InvalidTag:
            raise SealError("sealed value does not open") from None

    async def load(self, conv: str) -> Conversation:
        sealed = await self._redis.get(self._key(conv, "state"))
        if sealed is None:
            return Conversation()
        raw = sealed.encode() if isinstance(sealed, str) else sealed
        data = json.loads(await self.open(conv, raw))
        return Conversation(
            vault=Vault.from_dict(data["vault"]),
            history=[ChatTurn(role, content) for role, content in data["history"]],
            summary=data.get("summary", ""),
        )

    async def save(
        self, conv: str, conversation: Conversation, *, fence: Fence, ttl_s: int | None = None
    ) -> None:
        """Keeps only the last `history_limit` messages: storage and prompt size stay bounded. `ttl_s`
        shortens the lifetime (working memory of a person who did not agree to retention). Raises
        `ErasedError` (and writes nothing) if the person was erased since `fence` was taken."""
        recent = conversation.history[-self._history_limit :]
        data = {
            "vault": conversation.vault.to_dict(),
            "history": [[t.role, t.content] for t in recent],
            "summary": conversation.summary,
        }
        sealed = await self.seal(conv, json.dumps(data, separators=(",", ":")).encode(), fence=fence)
        await self.writer.write(
            fence, [("SET", self._key(conv, "state"), [sealed, "EX", ttl_s or self._ttl_s])]
        )

    async def erase(self, conv: str) -> None:
        """Crypto-shred: without the data key nothing sealed for this conversation can be read again
        (`SubjectRights.erase` does this and everything else an erasure must)."""
        await self.key_store.delete(self._key(conv, "dek"))
        await self._redis.delete(self._key(conv, "dek"), self._key(conv, "state"))


class HandoffFlags:
    """Conversations handed to a person of the business: while flagged, the AI sends nothing, until staff give
    it back in the console (`Takeover.give_back` in agent/console/takeover.py deletes the flag atomically with
    its check of who holds the conversation).

    No TTL: a handoff ends only when someone releases it, never silently. Each handoff enters the tenant's
    inbox index first (agent/storage/inbox.py), so the console lists it and sees it live."""

    def __init__(self, redis: RedisClient, *, shards: int, index: InboxIndex | None = None) -> None:
        self._redis = redis
        self._shards = shards
        self._writer = FencedWriter(redis, shards=shards)
        self._index = index or InboxIndex(redis)

    def _key(self, conv: str) -> str:
        return conversation_key(conv, "handoff", self._shards)

    async def hand_off(self, conv: str, reason: str, *, fence: Fence | None = None) -> None:
        """`fence`: set by a turn or call, which must not flag a person erased since it began."""
        await self._index.note(conv, "waiting")
        if fence is None:
            await self._redis.set(self._key(conv), reason)
        else:
            await self._writer.write(fence, [("SET", self._key(conv), [reason])])

    async def release(self, conv: str) -> None:
        """Without a check of who holds it (the console's `Takeover.give_back` checks that, atomically)."""
        await self._redis.delete(self._key(conv))
        await self._index.note(conv, "released")

    async def reason(self, conv: str) -> str | None:
        """Why the conversation was handed off (`keyword`, `assistant`, `staff`), None when it is not."""
        value = await self._redis.get(self._key(conv))
        return None if value is None else _text(value)

    async def active(self, conv: str) -> bool:
        return bool(await self._redis.exists(self._key(conv)))


_RECORD_STATUS = """
-- KEYS: status   ARGV: rank, status, timestamp, error_code, ttl_s
-- Monotonic: sent < delivered < read < played; failed (rank 99) is terminal. Webhooks arrive in any order.
local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or '0')
if tonumber(ARGV[1]) <= current or current == 99 then return 0 end
redis.call('HSET', KEYS[1], 'rank', ARGV[1], 'status', ARGV[2], 'at', ARGV[3], 'error_code', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 99}


class DeliveryStatuses:
    """The latest state of each outbound message, from Meta's status webhooks (ids and codes only)."""

    def __init__(self, redis: RedisClient, *, ttl_s: int = 30 * DAY_S) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._record = redis.register_script(_RECORD_STATUS)

    @staticmethod
    def _key(message_id: str) -> str:
        return f"lc:status:{{{message_id}}}"

    async def record_many(self, updates: Sequence[tuple[str, str, int, int | None]]) -> list[bool]:
        """(message id, status, timestamp, error code) each; True where the state advanced."""
        calls = [
            (
                [self._key(message_id)],
                [
                    _STATUS_RANK[status],
                    status,
                    timestamp,
                    "" if error_code is None else error_code,
                    self._ttl_s,
                ],
            )
            for message_id, status, timestamp, error_code in updates
        ]
        return [bool(r) for r in await run_script_many(self._redis, self._record, calls)]

    async def get(self, message_id: str) -> dict[str, str]:
        raw = await self._redis.hgetall(self._key(message_id))
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
