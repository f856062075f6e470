"""Staff accounts per tenant: roles `owner` and `agent`, passwords hashed with Argon2id.

    lc:tenant:{T}:staff         hash   email reference → account (JSON: email, role, Argon2id hash)
    lc:console:staff:{ref}      string the tenant an e-mail belongs to (login finds the account by it)

An e-mail belongs to one tenant. Key names hold only the e-mail's reference (an HMAC under the deployment's
master key), never the address.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.storage.redis_client import RedisClient

Role = Literal["owner", "agent"]
ROLES: tuple[Role, ...] = ("owner", "agent")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # Argon2 hashes any length; a megabyte "password" is a cheap way to burn CPU


class AccountError(ValueError):
    """A refused account change; the message names the rule, never the password."""


@dataclass(frozen=True, slots=True)
class Staff:
    tenant: str
    email: str
    role: Role
    ref: str  # the e-mail's reference: what keys, sessions and events name


def _tenant_staff(tenant: str) -> str:
    return f"lc:tenant:{{{tenant}}}:staff"


def _owner_of(ref: str) -> str:
    return f"lc:console:staff:{ref}"


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not (3 <= len(email) <= 320) or email.count("@") != 1 or any(c.isspace() for c in email):
        raise AccountError("not an e-mail address")
    return email


class StaffAccounts:
    def __init__(
        self,
        redis: RedisClient,
        ref_key: bytes,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`ref_key`: a deployment secret (derived from the master key) that e-mail references are HMACs under."""
        self._redis = redis
        self._ref_key = ref_key
        self._hasher = hasher or PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106 low-memory
        self._clock = clock
        # Verifying against this when no account exists costs the same time as a real check (no user oracle).
        self._decoy = self._hasher.hash("decoy password, never valid")

    def ref(self, email: str) -> str:
        digest = hmac.new(self._ref_key, normalize_email(email).encode(), hashlib.sha256).hexdigest()
        return digest[:24]

    async def add(self, tenant: str, email: str, role: Role, password: str) -> Staff:
        if role not in ROLES:
            raise AccountError("role must be owner or agent")
        if not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
            raise AccountError(f"the password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        email = normalize_email(email)
        ref = self.ref(email)
        if not await self._redis.set(_owner_of(ref), tenant, nx=True):
            owner = await self._redis.get(_owner_of(ref))
            if _s(owner) != tenant:
                raise AccountError("this e-mail already has an account with another business")
        hashed = await asyncio.to_thread(self._hasher.hash, password)  # ~50 ms of CPU: off the event loop
        record = {"email": email, "role": role, "hash": hashed, "created": self._clock()}
        await self._redis.hset(_tenant_staff(tenant), ref, json.dumps(record))
        return Staff(tenant, email, role, ref)

    async def remove(self, tenant: str, email: str) -> bool:
        ref = self.ref(email)
        removed = bool(await self._redis.hdel(_tenant_staff(tenant), ref))
        if removed:
            await self._redis.delete(_owner_of(ref))
        return removed

    async def list(self, tenant: str) -> list[Staff]:
        raw = await self._redis.hgetall(_tenant_staff(tenant))
        staff = [self._staff(tenant, _s(ref), json.loads(value)) for ref, value in raw.items()]
        return sorted(staff, key=lambda s: s.email)

    async def get(self, tenant: str, ref: str) -> Staff | None:
        raw = await self._redis.hget(_tenant_staff(tenant), ref)
        return None if raw is None else self._staff(tenant, ref, json.loads(raw))

    async def verify(self, email: str, password: str) -> Staff | None:
        """The account if the password is right; None otherwise (same work either way)."""
        try:
            ref = self.ref(email)
        except AccountError:
            ref = ""
        tenant = await self._redis.get(_owner_of(ref)) if ref else None
        raw = await self._redis.hget(_tenant_staff(_s(tenant)), ref) if tenant is not None else None
        record = json.loads(raw) if raw is not None else None
        stored = record["hash"] if record else self._decoy
        try:
            await asyncio.to_thread(self._hasher.verify, stored, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if record is None or tenant is None:
            return None
        if self._hasher.check_needs_rehash(stored):
            record["hash"] = await asyncio.to_thread(self._hasher.hash, password)
            await self._redis.hset(_tenant_staff(_s(tenant)), ref, json.dumps(record))
        return self._staff(_s(tenant), ref, record)

    @staticmethod
    def _staff(tenant: str, ref: str, record: dict[str, str]) -> Staff:
        role: Role = "owner" if record["role"] == "owner" else "agent"
        return Staff(tenant, record["email"], role, ref)


def _s(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
