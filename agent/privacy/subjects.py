"""Master-key versions at work on Redis: a person's subject reference across versions, and the rotation.

`Subjects.resolve` is how a number (or BSUID) becomes a subject: the reference under the current master key,
unless the person is already known under an older version's reference (their consent state, a
suppression, data). So a STOP recorded before a rotation is still found after it, and a person's data is
never split over two references. With one version there is nothing to look up.

`rotate` (`leadclose keys rotate`) re-wraps every data key under the current version. A key deleted by an
erasure meanwhile stays deleted: each rewrite is a compare-and-set on the value it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.storage.keyring import Keyring, SealError
from agent.storage.keys import conversation_key, data_keys_pattern, tenant_key, tenant_of

if TYPE_CHECKING:
    from agent.storage.redis_client import RedisClient

# Keys whose presence means "this reference is a person we know" (all in the subject's slot).
_KNOWN = ("consent", "state", "inbox", "epoch", "fence", "dek", "t2", "leads", "handoff", "profile")

# KEYS: dek   ARGV: the value read, the re-wrapped value. Only if nobody changed or deleted it meanwhile.
_SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""


class Subjects:
    """A person's subject reference: found under any known master-key version, else the current one."""

    def __init__(
        self, redis: RedisClient, keyring: Keyring, *, shards: int, key_store: RedisClient | None = None
    ) -> None:
        self._redis = redis
        self._key_store = key_store or redis
        self.keyring = keyring
        self._shards = shards

    async def resolve(self, tenant: str, user_key: str) -> str:
        refs = self.keyring.conversation_refs(tenant, user_key)
        if len(refs) > 1:
            for ref in refs:
                if await self.known(ref):
                    return ref
        return refs[0]

    async def known(self, ref: str) -> bool:
        """Whether anything of a person is stored under this reference (state, consent, a suppression, data)."""
        keys = [conversation_key(ref, suffix, self._shards) for suffix in _KNOWN]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(*keys)
            pipe.sismember(tenant_key(tenant_of(ref), "suppressed"), ref)
            present, suppressed = await pipe.execute()
        if present or suppressed:
            return True
        return self._key_store is not self._redis and bool(
            await self._key_store.exists(keys[_KNOWN.index("dek")])
        )


@dataclass(frozen=True, slots=True)
class Rotation:
    rewrapped: int = 0
    current: int = 0  # already under the current version
    vanished: int = 0  # deleted (an erasure) or changed while being rewritten
    unreadable: int = 0  # wrapped under a version no longer configured: listed, never deleted


async def rotate(key_store: RedisClient, keyring: Keyring, *, batch: int = 500) -> Rotation:
    """Re-wrap every data key (`lc:{n}:c:<subject>:dek`) under the current master-key version."""
    swap = key_store.register_script(_SWAP)
    counts = {"rewrapped": 0, "current": 0, "vanished": 0, "unreadable": 0}
    async for raw_key in key_store.scan_iter(match=data_keys_pattern(), count=batch):
        key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
        value = await key_store.get(key)
        if value is None:
            counts["vanished"] += 1
            continue
        wrapped = value.encode() if isinstance(value, str) else value
        if keyring.kid_of(wrapped) == keyring.current.kid:
            counts["current"] += 1
            continue
        subject = key.split(":c:", 1)[1].removesuffix(":dek")
        try:
            rewrapped = keyring.wrap(subject, keyring.unwrap(subject, wrapped))
        except SealError:
            counts["unreadable"] += 1
            continue
        done = await swap(keys=[key], args=[wrapped, rewrapped])
        counts["rewrapped" if done else "vanished"] += 1
    return Rotation(**counts)
