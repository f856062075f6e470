"""Playground sessions in Redis: sandbox conversations of the staff console, kept apart from real people.

A session is its own subject (`pg:<session>`, never a phone number or a person's reference), so no consent
ledger, inbox, T0/T2 log or analytics of a real person ever sees it. Its parts (`playground_key`) share
one hash tag: the session's facts (tenant, sandbox consent, turn count, its data key wrapped under the
master key), its sealed conversation (vault + minimized history) and its sealed reply voice notes. Every
part expires `ttl_s` after the session's last turn, and `end` deletes them all. A turn that finishes after
the session ended writes nothing (the keep script checks the session still exists in the same step).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.storage.conversations import conversation_bytes, conversation_from_bytes
from agent.storage.keyring import NONCE, SealError
from agent.storage.keys import playground_key
from pipelines.consent import Overlay, Purpose, State, SubjectConsent, Transition
from pipelines.turn import Conversation

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from agent.storage.keyring import Keyring
    from agent.storage.redis_client import RedisClient

SESSION_TTL_S = 3600  # an idle session is gone an hour after its last turn
MAX_TURNS = 50  # a session's voice notes are bounded; start a new session for more
BUSY_TTL_S = 300  # a turn's lock outlives any turn (decode, STT, LLM, TTS budgets)
HISTORY_LIMIT = 24
SESSION_ID = r"[A-Za-z0-9_-]{32}"
_PARTS = ("meta", "state", "busy")

# KEYS: meta, state, audio   ARGV: ttl, consent, handed_off, turns, sealed state, sealed audio ('' = none)
_KEEP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'consent', ARGV[2], 'handed_off', ARGV[3], 'turns', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[5], 'EX', ARGV[1])
if ARGV[6] ~= '' then redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[1]) end
return 1
"""


class SessionGoneError(Exception):
    """No such session for this tenant (never opened, ended, expired, or another tenant's)."""


class SessionBusyError(Exception):
    """A turn of the session is running: a session answers one message at a time, like a conversation."""


class SessionFullError(Exception):
    """The session has had `MAX_TURNS` turns."""


@dataclass(frozen=True, slots=True)
class Sandbox:
    """What a session knows between turns besides its conversation: the sandbox person's consent (their
    STOP, START or HUMAN keywords act on it, not on any ledger) and how many turns it had."""

    tenant: str
    consent: SubjectConsent = field(default_factory=SubjectConsent)
    handed_off: bool = False
    turns: int = 0
    wrapped_key: bytes = field(default=b"", repr=False, compare=False)  # the session's data key, wrapped

    def changed(self, change: Transition) -> Sandbox:
        consent = SubjectConsent(
            {**self.consent.states, **change.states},
            self.consent.overlays | change.add_overlays,
            self.consent.noticed_at,
        )
        return replace(self, consent=consent)


def _consent_json(consent: SubjectConsent) -> str:
    return json.dumps(
        {
            "states": {p.value: s.value for p, s in consent.states.items()},
            "overlays": sorted(o.value for o in consent.overlays),
            "noticed_at": consent.noticed_at,
        }
    )


def _consent_of(raw: str) -> SubjectConsent:
    data = json.loads(raw)
    return SubjectConsent(
        {Purpose(p): State(s) for p, s in data["states"].items()},
        frozenset(Overlay(o) for o in data["overlays"]),
        data["noticed_at"],
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class PlaygroundStore:
    def __init__(
        self,
        redis: RedisClient,
        keyring: Keyring,
        *,
        ttl_s: int = SESSION_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._keyring = keyring
        self.ttl_s = ttl_s
        self._clock = clock
        self._keep = redis.register_script(_KEEP)

    async def open(self, tenant: str) -> str:
        """A new session of `tenant`; returns its id (random: it is the only name of the session)."""
        session = secrets.token_urlsafe(24)
        wrapped = self._keyring.wrap(_subject(session), AESGCM.generate_key(bit_length=256))
        meta = {
            "tenant": tenant,
            "key": base64.b64encode(wrapped).decode(),
            "consent": _consent_json(SubjectConsent()),
            "handed_off": "0",
            "turns": "0",
            "opened": repr(self._clock()),
        }
        key = playground_key(session, "meta")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=meta)  # type: ignore[arg-type]  # redis-py's Mapping key is invariant
            pipe.expire(key, self.ttl_s)
            await pipe.execute()
        return session

    async def load(self, session: str, tenant: str) -> tuple[Sandbox, Conversation]:
        """The session's sandbox facts and conversation; `SessionGoneError` if it is not `tenant`'s."""
        meta = await self._meta(session, tenant)
        wrapped = base64.b64decode(meta["key"])
        consent, handed_off, turns = (
            _consent_of(meta["consent"]),
            meta["handed_off"] == "1",
            int(meta["turns"]),
        )
        sandbox = Sandbox(tenant, consent, handed_off, turns, wrapped)
        sealed = await self._redis.get(playground_key(session, "state"))
        if sealed is None:
            return sandbox, Conversation()
        return sandbox, conversation_from_bytes(self._open(session, wrapped, "state", sealed))

    async def keep(
        self, session: str, sandbox: Sandbox, conversation: Conversation, audio: bytes | None
    ) -> bool:
        """Writes the turn's outcome (the reply's voice note as part `audio:<turn>`) and renews the session's
        lifetime; False (nothing written) when the session ended meanwhile."""
        key = sandbox.wrapped_key
        state = self._seal(session, key, "state", conversation_bytes(conversation, HISTORY_LIMIT))
        note = self._seal(session, key, f"audio:{sandbox.turns}", audio) if audio is not None else b""
        keys = [playground_key(session, p) for p in ("meta", "state", f"audio:{sandbox.turns}")]
        handed_off = "1" if sandbox.handed_off else "0"
        args: list[str | bytes | int] = [self.ttl_s, _consent_json(sandbox.consent), handed_off]
        kept = await self._keep(keys=keys, args=[*args, sandbox.turns, state, note])
        return bool(kept)

    async def voice_note(self, session: str, tenant: str, turn: int) -> bytes | None:
        """The reply voice note of one turn (OGG/Opus), None when there is none (or it expired)."""
        meta = await self._meta(session, tenant)
        sealed = await self._redis.get(playground_key(session, f"audio:{turn}"))
        wrapped = base64.b64decode(meta["key"])
        return None if sealed is None else self._open(session, wrapped, f"audio:{turn}", sealed)

    @asynccontextmanager
    async def turn(self, session: str, tenant: str) -> AsyncIterator[None]:
        """Held while one turn of the session runs; `SessionBusyError` while another does."""
        await self._meta(session, tenant)
        busy = playground_key(session, "busy")
        if not await self._redis.set(busy, "1", nx=True, ex=BUSY_TTL_S):
            raise SessionBusyError
        try:
            yield
        finally:
            await self._redis.delete(busy)

    async def end(self, session: str, tenant: str) -> None:
        """Deletes every part of the session: its conversation and voice notes are gone."""
        await self._meta(session, tenant)
        await self._redis.delete(*self.parts(session))

    @staticmethod
    def parts(session: str) -> list[str]:
        """Every key a session can have."""
        notes = [playground_key(session, f"audio:{n}") for n in range(1, MAX_TURNS + 1)]
        return [playground_key(session, p) for p in _PARTS] + notes

    async def _meta(self, session: str, tenant: str) -> dict[str, str]:
        raw = await self._redis.hgetall(playground_key(session, "meta"))
        meta = {_text(k): _text(v) for k, v in raw.items()}
        if meta.get("tenant") != tenant:
            raise SessionGoneError
        return meta

    def _aead(self, session: str, wrapped: bytes) -> AESGCM:
        return AESGCM(self._keyring.unwrap(_subject(session), wrapped))

    def _seal(self, session: str, wrapped: bytes, part: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead(session, wrapped).encrypt(nonce, plaintext, f"{session}:{part}".encode())

    def _open(self, session: str, wrapped: bytes, part: str, sealed: bytes | str) -> bytes:
        raw = sealed.encode() if isinstance(sealed, str) else sealed
        try:
            return self._aead(session, wrapped).decrypt(
                raw[:NONCE], raw[NONCE:], f"{session}:{part}".encode()
            )
        except InvalidTag:
            raise SealError("sealed value does not open") from None


def _subject(session: str) -> str:
    return "pg:" + session
