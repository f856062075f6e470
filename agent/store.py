"""Redis-backed conversation state (PII vault + minimized history), encrypted with a per-conversation key.

Each conversation has a random data key, stored wrapped (AES-GCM) under the deployment's master key. The
vault and anything else with content is sealed with that data key, so erasing a person's data is deleting
one key: every copy (AOF, replicas, backups) becomes unreadable at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.queue import conversation_key
from agent.redis_client import run_script_many
from pipelines.pii import Vault
from pipelines.respond import ChatTurn
from pipelines.turn import Conversation

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agent.redis_client import RedisClient

_NONCE = 12
DAY_S = 86_400


class SealError(Exception):
    """A sealed value cannot be opened (wrong master key, tampering, or the data key was erased)."""


class Keyring:
    """Derives the deployment keys from one master secret (`LEADCLOSE_MASTER_KEY`)."""

    def __init__(self, master_secret: bytes) -> None:
        if len(master_secret) < 16:
            raise ValueError("master key must be at least 16 bytes")
        self._wrap = AESGCM(hashlib.sha256(b"leadclose/wrap\0" + master_secret).digest())
        self._ref = hashlib.sha256(b"leadclose/ref\0" + master_secret).digest()

    def conversation_ref(self, tenant: str, user_key: str) -> str:
        """`tenant:hmac` — phone numbers are enumerable, so a plain hash of one would not be anonymous."""
        digest = hmac.new(self._ref, f"{tenant}\0{user_key}".encode(), hashlib.sha256).hexdigest()[:24]
        return f"{tenant}:{digest}"

    def wrap(self, conv: str, data_key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._wrap.encrypt(nonce, data_key, conv.encode())

    def unwrap(self, conv: str, wrapped: bytes) -> bytes:
        try:
            return self._wrap.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], conv.encode())
        except InvalidTag:
            raise SealError("data key does not unwrap") from None


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
        self._keyring = keyring
        self._shards = shards
        self._history_limit = history_limit
        self._ttl_s = ttl_s

    def _key(self, conv: str, suffix: str) -> str:
        return conversation_key(conv, suffix, self._shards)

    async def _data_key(self, conv: str) -> AESGCM:
        key = self._key(conv, "dek")
        wrapped = await self.key_store.get(key)
        if wrapped is None:
            candidate = self._keyring.wrap(conv, AESGCM.generate_key(bit_length=256))
            await self.key_store.set(key, candidate, nx=True, ex=self._ttl_s)
            wrapped = await self.key_store.get(key)  # whoever won the race, everyone uses the stored key
        else:
            await self.key_store.expire(key, self._ttl_s)
        if wrapped is None:
            raise SealError("data key vanished")
        raw = wrapped.encode() if isinstance(wrapped, str) else wrapped
        return AESGCM(self._keyring.unwrap(conv, raw))

    async def seal(self, conv: str, plaintext: bytes) -> bytes:
        aead = await self._data_key(conv)
        nonce = os.urandom(_NONCE)
        return nonce + aead.encrypt(nonce, plaintext, conv.encode())

    async def open(self, conv: str, sealed: bytes) -> bytes:
        aead = await self._data_key(conv)
        try:
            return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], conv.encode())
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

    async def save(self, conv: str, conversation: Conversation, *, ttl_s: int | None = None) -> None:
        """Keeps only the last `history_limit` messages: storage and prompt size stay bounded. `ttl_s`
        shortens the lifetime (working memory of a person who did not agree to retention)."""
        recent = conversation.history[-self._history_limit :]
        data = {
            "vault": conversation.vault.to_dict(),
            "history": [[t.role, t.content] for t in recent],
            "summary": conversation.summary,
        }
        sealed = await self.seal(conv, json.dumps(data, separators=(",", ":")).encode())
        await self._redis.set(self._key(conv, "state"), sealed, ex=ttl_s or self._ttl_s)

    async def erase(self, conv: str) -> None:
        """Crypto-shred: without the data key nothing sealed for this conversation can be read again."""
        await self.key_store.delete(self._key(conv, "dek"))
        await self._redis.delete(self._key(conv, "dek"), self._key(conv, "state"))


class HandoffFlags:
    """Conversations a human has taken over: while flagged, the AI sends nothing (until a human releases it).

    No TTL: a handoff ends only when someone releases it, never silently."""

    def __init__(self, redis: RedisClient, *, shards: int) -> None:
        self._redis = redis
        self._shards = shards

    def _key(self, conv: str) -> str:
        return conversation_key(conv, "handoff", self._shards)

    async def hand_off(self, conv: str, reason: str) -> None:
        await self._redis.set(self._key(conv), reason)

    async def release(self, conv: str) -> None:
        await self._redis.delete(self._key(conv))

    async def active(self, conv: str) -> bool:
        return bool(await self._redis.exists(self._key(conv)))


def master_secret(value: str) -> bytes:
    """`LEADCLOSE_MASTER_KEY` as base64 (32 random bytes recommended) or any long passphrase."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except ValueError:
        decoded = b""
    return decoded if len(decoded) >= 16 else value.encode()


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
