"""The deployment's master-key versions: wrap data keys under the current one, unwrap under any known one,
and derive subject references (an HMAC of tenant and user) under each.

A key version's id (`kid`) is a short hash of its secret, so settings never name ids. A wrapped data key
starts with its kid (`MAGIC + len + kid + nonce + ciphertext`); a key wrapped before versions existed has
no header and is tried under every known version. Rotation (`leadclose keys rotate`, `agent/privacy/subjects.py`)
re-wraps every data key under the current version; subject references stay what they were (see
`Subjects.resolve`), so a STOP recorded before a rotation is still found after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agent.settings import Settings

NONCE = 12
MAGIC = b"\xffK"


class SealError(Exception):
    """A sealed value cannot be opened (wrong master key, tampering, or the data key was erased)."""


class DataKeyGoneError(SealError):
    """The subject has no data key: erased (or expired), so nothing sealed for them opens any more."""


class KeyVersion:
    """One master secret: its id, the wrapping cipher and the subject-reference HMAC key derived from it."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("master key must be at least 16 bytes")
        self.kid = hashlib.sha256(b"leadclose/kid\0" + secret).hexdigest()[:8]
        self.wrapper = AESGCM(hashlib.sha256(b"leadclose/wrap\0" + secret).digest())
        self.ref_key = hashlib.sha256(b"leadclose/ref\0" + secret).digest()

    def ref(self, tenant: str, user_key: str) -> str:
        digest = hmac.new(self.ref_key, f"{tenant}\0{user_key}".encode(), hashlib.sha256).hexdigest()[:24]
        return f"{tenant}:{digest}"


class Keyring:
    """The current master key plus the previous ones (`LEADCLOSE_MASTER_KEY`, `…_PREVIOUS`)."""

    def __init__(self, master_secret: bytes, previous: Sequence[bytes] = ()) -> None:
        self.current = KeyVersion(master_secret)
        others = [KeyVersion(s) for s in previous]
        self.versions = [self.current, *(v for v in others if v.kid != self.current.kid)]
        self._by_kid = {v.kid: v for v in self.versions}

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        if settings.master_key is None:
            raise ValueError("LEADCLOSE_MASTER_KEY is not set")
        previous = [master_secret(s.get_secret_value()) for s in settings.master_key_previous]
        return cls(master_secret(settings.master_key.get_secret_value()), previous)

    def conversation_ref(self, tenant: str, user_key: str) -> str:
        """`tenant:hmac` under the current version: phone numbers are enumerable, so a plain hash of one
        would not be anonymous. A person first seen under an older version keeps that version's reference
        (`Subjects.resolve` finds it)."""
        return self.current.ref(tenant, user_key)

    def conversation_refs(self, tenant: str, user_key: str) -> list[str]:
        """The person's reference under every known version, current first."""
        return list(dict.fromkeys(v.ref(tenant, user_key) for v in self.versions))

    def wrap(self, conv: str, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        kid = self.current.kid.encode()
        return (
            MAGIC
            + bytes([len(kid)])
            + kid
            + nonce
            + self.current.wrapper.encrypt(nonce, data_key, conv.encode())
        )

    def kid_of(self, wrapped: bytes) -> str | None:
        """The version a wrapped key names (None: wrapped before versions existed)."""
        if not wrapped.startswith(MAGIC) or len(wrapped) < 3:
            return None
        return wrapped[3 : 3 + wrapped[2]].decode(errors="replace")

    def unwrap(self, conv: str, wrapped: bytes) -> bytes:
        kid = self.kid_of(wrapped)
        if kid is None:
            candidates, body = self.versions, wrapped
        else:
            version = self._by_kid.get(kid)
            if version is None:
                raise SealError("data key wrapped under an unknown master key version")
            candidates, body = [version], wrapped[3 + len(kid) :]
        for version in candidates:
            try:
                return version.wrapper.decrypt(body[:NONCE], body[NONCE:], conv.encode())
            except InvalidTag:
                continue
        raise SealError("data key does not unwrap")


def master_secret(value: str) -> bytes:
    """A master key as base64 (32 random bytes recommended) or any long passphrase."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except ValueError:
        decoded = b""
    return decoded if len(decoded) >= 16 else value.encode()
