"""One subject per person: a person's phone number (wa_id) and business-scoped user id (BSUID) resolve to one
subject key, whichever of them a payload, the CLI or the admin API names.

Meta identifies a person by the number, the BSUID, or both (a person who hides their number sends only the
BSUID). Every id the webhook sees is recorded in one alias hash per tenant, keyed by the id's reference (an HMAC,
never the id), pointing at the person's subject (the reference of the id that was seen first, the BSUID when a
payload carries both). A payload with both ids writes both aliases atomically (one Lua script, one key), so a
STOP or an erasure recorded under one id is found under the other.

The alias hash (`lc:tenant:{T}:aliases`, agent/storage/keys.py) maps conversation_ref(T, id) → subject.

This composes with master-key versions (`agent.privacy.subjects.Subjects`): each id is first resolved across
key versions (a person known under an older version keeps that reference), and the alias hash is looked up under every
version's reference of each id. Aliases hold HMACs only; they outlive an erasure on purpose, so the person's STOP
and suppression stay found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.storage.keys import tenant_key

if TYPE_CHECKING:
    from agent.privacy.subjects import Subjects
    from agent.storage.redis_client import RedisClient

# The first id already known decides the subject; an id not yet known joins it (HSETNX: never re-pointed).
_RESOLVE = """
-- KEYS: aliases   ARGV: n, then n refs to look up (every id under every key version, the preferred id first),
-- then the refs to record (each id resolved across key versions, the preferred id's first: the default subject)
local n = tonumber(ARGV[1])
local subject = false
for i = 2, n + 1 do
  subject = redis.call('HGET', KEYS[1], ARGV[i])
  if subject then break end
end
if not subject then subject = ARGV[n + 2] end
for i = n + 2, #ARGV do redis.call('HSETNX', KEYS[1], ARGV[i], subject) end
return subject
"""


def _s(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class Identities:
    """Subjects across ids (number, BSUID) on top of `Subjects` (across master-key versions)."""

    def __init__(self, redis: RedisClient, subjects: Subjects) -> None:
        self._redis = redis
        self._subjects = subjects
        self._resolve = redis.register_script(_RESOLVE)

    async def subject(self, tenant: str, user_key: str, wa_id: str | None = None) -> str:
        """The subject of the person a payload names (`user_key`: the BSUID, or the number when Meta sent no
        BSUID; `wa_id`: the number, if the payload has it too); records the aliases."""
        ids = [user_key] if not wa_id or wa_id == user_key else [user_key, wa_id]
        lookup = [ref for i in ids for ref in self._subjects.keyring.conversation_refs(tenant, i)]
        record = list(dict.fromkeys([await self._subjects.resolve(tenant, i) for i in ids]))
        raw = await self._resolve(keys=[tenant_key(tenant, "aliases")], args=[len(lookup), *lookup, *record])
        return _s(raw)

    async def find(self, tenant: str, user_key: str) -> str | None:
        """The subject of the person this id (a number or a BSUID) names, without recording anything; None
        when this deployment has never seen them under that id (under any master-key version)."""
        refs = self._subjects.keyring.conversation_refs(tenant, user_key)
        for raw in await self._redis.hmget(tenant_key(tenant, "aliases"), refs):
            if raw is not None:
                return _s(raw)
        ref = await self._subjects.resolve(tenant, user_key)  # seen before aliases were recorded
        return ref if await self._subjects.known(ref) else None

    async def known_or_derived(self, tenant: str, user_key: str) -> str:
        """`find`, or for a person never seen the key their id derives to (nothing is stored under it)."""
        return await self.find(tenant, user_key) or self._subjects.keyring.conversation_ref(tenant, user_key)
