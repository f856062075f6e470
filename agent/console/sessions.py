"""Console sessions in Redis, a CSRF token per session, login throttling.

    lc:console:session:{sha256(id)}   hash   tenant, staff ref, csrf, created (TTL: idle timeout, renewed)
    lc:console:sessions:{staff ref}   set    the hashed ids of one person's sessions ("log out everywhere")
    lc:console:throttle:{scope}       int    failed logins in the current window

The cookie holds the session id (`secrets.token_urlsafe(32)`); Redis holds only its SHA-256, so a copy of
the database does not let anyone in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.console.accounts import Staff
    from agent.storage.redis_client import RedisClient


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    tenant: str
    staff: str  # the staff member's e-mail reference
    csrf: str

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


def _session_key(id_hash: str) -> str:
    return f"lc:console:session:{id_hash}"


def _staff_sessions(ref: str) -> str:
    return f"lc:console:sessions:{ref}"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(
        self, redis: RedisClient, *, idle_s: int = 8 * 3600, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis
        self._idle_s = idle_s
        self._clock = clock

    async def open(self, staff: Staff) -> tuple[str, Session]:
        """A new session: (the id for the cookie, the session)."""
        session_id = secrets.token_urlsafe(32)
        session = Session(_hash(session_id), staff.tenant, staff.ref, secrets.token_urlsafe(32))
        key = _session_key(session.id_hash)
        fields: dict[str | bytes, str | float] = {
            "tenant": staff.tenant, "staff": staff.ref, "csrf": session.csrf, "created": self._clock(),
        }  # fmt: skip
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.expire(key, self._idle_s)
            pipe.sadd(_staff_sessions(staff.ref), session.id_hash)
            pipe.expire(_staff_sessions(staff.ref), self._idle_s)
            await pipe.execute()
        return session_id, session

    async def get(self, session_id: str | None) -> Session | None:
        """The live session for a cookie (its idle timeout renewed), None when unknown, expired or ended."""
        if not session_id or len(session_id) > 100:
            return None
        id_hash = _hash(session_id)
        key = _session_key(id_hash)
        raw = await self._redis.hgetall(key)
        if not raw:
            return None
        await self._redis.expire(key, self._idle_s)
        f = {_s(k): _s(v) for k, v in raw.items()}
        return Session(id_hash, f["tenant"], f["staff"], f["csrf"])

    async def alive(self, session: Session) -> bool:
        return bool(await self._redis.exists(_session_key(session.id_hash)))

    async def close(self, session: Session) -> None:
        await self._redis.delete(_session_key(session.id_hash))
        await self._redis.srem(_staff_sessions(session.staff), session.id_hash)

    async def close_all(self, staff_ref: str) -> int:
        """Log out everywhere: every session of this person ends (their live streams end with them)."""
        ids = [_s(i) for i in await self._redis.smembers(_staff_sessions(staff_ref))]
        if ids:
            await self._redis.delete(*(_session_key(i) for i in ids))
        await self._redis.delete(_staff_sessions(staff_ref))
        return len(ids)


class LoginThrottle:
    """At most `per_account` failed logins per e-mail and `per_client` per client address in a window: one
    account cannot be guessed at, and one address cannot try many accounts (an office behind one address
    keeps its room)."""

    def __init__(
        self, redis: RedisClient, *, per_account: int = 5, per_client: int = 50, window_s: int = 900
    ) -> None:
        self._redis = redis
        self._limits = {"email": per_account, "client": per_client}
        self._window_s = window_s

    @staticmethod
    def _key(kind: str, value: str) -> str:
        return f"lc:console:throttle:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:24]}"

    async def blocked(self, email: str, client: str) -> bool:
        for kind, value in (("email", email.strip().lower()), ("client", client)):
            count = await self._redis.get(self._key(kind, value))
            if count is not None and int(count) >= self._limits[kind]:
                return True
        return False

    async def failed(self, email: str, client: str) -> None:
        for kind, value in (("email", email.strip().lower()), ("client", client)):
            key = self._key(kind, value)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self._window_s, nx=True)
                await pipe.execute()

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(self._key("email", email.strip().lower()))


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
