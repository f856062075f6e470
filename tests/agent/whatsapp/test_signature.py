import hashlib
import hmac
import json
from collections.abc import Callable

import pytest

from agent.whatsapp import sign, verify_signature

SECRET = b"app-secret-under-test"
BODY = b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[]}]}'


def test_valid_signature_verifies() -> None:
    header = sign(SECRET, BODY)
    assert header.startswith("sha256=")
    assert len(header) == len("sha256=") + 64
    assert verify_signature(SECRET, BODY, header)


def test_wrong_secret_fails() -> None:
    assert not verify_signature(SECRET, BODY, sign(b"another-secret", BODY))


def test_missing_header_fails() -> None:
    assert not verify_signature(SECRET, BODY, None)
    assert not verify_signature(SECRET, BODY, "")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda h: h.removeprefix("sha256="), id="no-prefix"),
        pytest.param(lambda h: "sha1=" + h.removeprefix("sha256="), id="sha1-prefix"),
        pytest.param(lambda h: "SHA256=" + h.removeprefix("sha256="), id="upper-prefix"),
        pytest.param(lambda h: h[:-2], id="short"),
        pytest.param(lambda h: h + "00", id="long"),
        pytest.param(lambda h: h[:-1] + "g", id="non-hex"),
        pytest.param(lambda h: h[:-2] + " a", id="embedded-space"),
        pytest.param(lambda h: h[:-1] + "é", id="non-ascii"),
        pytest.param(lambda h: h[:-1] + ("0" if h[-1] != "0" else "1"), id="one-digit-off"),
    ],
)
def test_malformed_or_altered_header_fails(mangle: Callable[[str], str]) -> None:
    assert not verify_signature(SECRET, BODY, mangle(sign(SECRET, BODY)))


def test_reserialized_body_fails() -> None:
    # A framework that parses and re-dumps the JSON changes the bytes, so verification must use the raw body.
    header = sign(SECRET, BODY)
    reserialized = json.dumps(json.loads(BODY)).encode()
    assert reserialized != BODY
    assert json.loads(reserialized) == json.loads(BODY)
    assert not verify_signature(SECRET, reserialized, header)


def test_tampered_body_fails() -> None:
    header = sign(SECRET, BODY)
    assert not verify_signature(SECRET, BODY.replace(b"102290129340398", b"102290129340399"), header)


def test_empty_secret_never_verifies() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign(b"", BODY)
    # Even a header computed under the empty key is refused: a missing secret fails closed.
    forged = "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest()
    assert not verify_signature(b"", BODY, forged)
