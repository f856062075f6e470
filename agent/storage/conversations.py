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

from agent.storage.erasure import FENCE_PRELUDE, PENDING_FIELD, ErasedError, FencedWriter
from agent.storage.keyring import NONCE, DataKeyGoneError, SealError
from agent.storage.keys import conversation_key
from pipelines.llm import ChatTurn
from pipelines.pii import Vault
from pipelines.turn import Conversation

if TYPE_CHECKING:
    from agent.storage.erasure import Fence
    from agent.storage.keyring import Keyring
    from agent.storage.redis_client import RedisClient

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


def conversation_bytes(conversation: Conversation, history_limit: int) -> bytes:
    """A conversation's state as it is sealed: the vault, the last `history_limit` messages, the summary."""
    data = {
        "vault": conversation.vault.to_dict(),
        "history": [[t.role, t.content] for t in conversation.history[-history_limit:]],
        "summary": conversation.summary,
    }
    return json.dumps(data, separators=(",", ":")).encode()


def conversation_from_bytes(plaintext: bytes) -> Conversation:
    data = json.loads(plaintext)
    return Conversation(
        vault=Vault.from_dict(data["vault"]),
        history=[ChatTurn(role, content) for role, content in data["history"]],
        summary=data.get("summary", ""),
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
        return conversation_from_bytes(await self.open(conv, raw))

    async def save(
        self, conv: str, conversation: Conversation, *, fence: Fence, ttl_s: int | None = None
    ) -> None:
        """Keeps only the last `history_limit` messages: storage and prompt size stay bounded. `ttl_s`
        shortens the lifetime (working memory of a person who did not agree to retention). Raises
        `ErasedError` (and writes nothing) if the person was erased since `fence` was taken."""
        plaintext = conversation_bytes(conversation, self._history_limit)
        sealed = await self.seal(conv, plaintext, fence=fence)
        await self.writer.write(
            fence, [("SET", self._key(conv, "state"), [sealed, "EX", ttl_s or self._ttl_s])]
        )

    async def erase(self, conv: str) -> None:
        """Crypto-shred: without the data key nothing sealed for this conversation can be read again
        (`SubjectRights.erase` does this and everything else an erasure must)."""
        await self.key_store.delete(self._key(conv, "dek"))
        await self._redis.delete(self._key(conv, "dek"), self._key(conv, "state"))
