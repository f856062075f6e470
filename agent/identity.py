"""One subject per person: a person's phone number (wa_id) and business-scoped user id (BSUID) resolve to one
subject key, whichever of them a payload, the CLI or the admin API names.

Meta identifies a person by the number, the BSUID, or both (a person who hides their number sends only the
BSUID). Every id the webhook sees is recorded in one alias hash per tenant, keyed by the id's HMAC (never the id),
pointing at the person's subject (`Keyring.conversation_ref` of the id that was seen first, the BSUID when a
payload carries both). A payload with both ids writes both aliases atomically (one Lua script, one key), so a
STOP or an erasure recorded under one id is found under the other.

    lc:tenant:{T}:aliases   hash   conversation_ref(T, id) → subject

Aliases hold HMACs only; they outlive an erasure on purpose, so the person's STOP and suppression stay found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.consent_store import tenant_key
from agent.queue import conversation_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agent.store import Keyring

# The first id already known decides the subject; an id not yet known joins it (HSETNX: never re-pointed).
_RESOLVE = """
-- KEYS: aliases   ARGV: refs (the preferred default first)
local subject = false
for i = 1, #ARGV do
  subject = redis.call('HGET', KEYS[1], ARGV[i])
  if subject then break end
end
if not subject then subject = ARGV[1] end
for i = 1, #ARGV do redis.call('HSETNX', KEYS[1], ARGV[i], subject) end
return subject
"""

# Keys that exist for a person seen before aliases were recorded (their consent or conversation state).
_TRACES = ("consent", "state")


class Identities:
    def __init__(self, redis: Redis, keyring: Keyring, *, shards: int) -> None:
        self._redis = redis
        self._keyring = keyring
        self._shards = shards
        self._resolve = redis.register_script(_RESOLVE)

    async def subject(self, tenant: str, user_key: str, wa_id: str | None = None) -> str:
        """The subject of the person a payload names (`user_key`: the BSUID, or the number when Meta sent no
        BSUID; `wa_id`: the number, if the payload has it too); records the aliases."""
        refs = [self._keyring.conversation_ref(tenant, user_key)]
        if wa_id and wa_id != user_key:
            refs.append(self._keyring.conversation_ref(tenant, wa_id))
        raw = await self._resolve(keys=[tenant_key(tenant, "aliases")], args=refs)
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def find(self, tenant: str, user_key: str) -> str | None:
        """The subject of the person this id (a number or a BSUID) names, without recording anything; None
        when this deployment has never seen them under that id."""
        ref = self._keyring.conversation_ref(tenant, user_key)
        raw = await self._redis.hget(tenant_key(tenant, "aliases"), ref)
        if raw is not None:
            return raw.decode() if isinstance(raw, bytes) else str(raw)
        traces = [conversation_key(ref, suffix, self._shards) for suffix in _TRACES]
        return ref if await self._redis.exists(*traces) else None

    async def known_or_derived(self, tenant: str, user_key: str) -> str:
        """`find`, or for a person never seen the key their id derives to (nothing is stored under it)."""
        return await self.find(tenant, user_key) or self._keyring.conversation_ref(tenant, user_key)
