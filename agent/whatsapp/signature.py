"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body under the app secret.

Verify the bytes exactly as received, before parsing: re-serialized JSON (other spacing, key order or escapes)
has a different digest. Comparison is constant-time so the header cannot be guessed byte by byte.
"""

import hashlib
import hmac

_PREFIX = "sha256="
_HEX_DIGEST_LEN = hashlib.sha256().digest_size * 2


def sign(app_secret: bytes, body: bytes) -> str:
    """The header value Meta would send for `body`; for tests, benchmarks and a local Graph peer."""
    if not app_secret:
        raise ValueError("app secret is empty")
    return _PREFIX + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: bytes, body: bytes, header: str | None) -> bool:
    """True only for a well-formed `sha256=<64 hex>` header matching `body`.

    An empty secret never verifies: anyone can compute an HMAC under an empty key, so a missing
    configuration must fail closed rather than accept every request.
    """
    if not app_secret or header is None or not header.startswith(_PREFIX):
        return False
    given_hex = header[len(_PREFIX) :]
    if len(given_hex) != _HEX_DIGEST_LEN:
        return False
    try:
        given = bytes.fromhex(given_hex)
    except ValueError:
        return False
    if len(given) * 2 != _HEX_DIGEST_LEN:  # fromhex skips whitespace, which would shorten the digest
        return False
    expected = hmac.new(app_secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)
