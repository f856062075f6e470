"""Typed errors of the WhatsApp Cloud (Graph) API client, translated at the edge from httpx and Meta's bodies.

GraphError                   any failed Graph API or media call: http_status, Graph code, retryable
 ├── GraphRateLimited        throughput / pair-rate limits (4, 80007, 130429, 131056; 131048 not retryable)
 ├── GraphUnavailable        Meta-side transient failure (2, 131000, 131016, 133004, any HTTP 5xx)
 ├── GraphTransportError     no usable response: timeout or connection failure (http_status 0)
 ├── GraphAuthError          token expired, revoked or lacking permission (0, 10, 190, 200-299, HTTP 401/403)
 ├── GraphWindowClosed       131047: outside the 24 h customer-service window, a template is needed
 ├── GraphRecipientError     131026 undeliverable, 131051 unsupported message type
 ├── GraphProtocolError      a response this client cannot use (unexpected body, a redirect)
 └── MediaError              a media download refused or failed, with a `MediaFailure` reason

Every message is built from numbers and validated identifiers only: never the token, a URL (media URLs carry
signed queries), Meta's `message` text (it can quote what was sent) or a recipient. Callers decide on
`retryable`, and on `reason` for media; they never parse `str(exc)`.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import httpx

# Meta's identifiers are short tokens; anything else from the body is dropped rather than echoed.
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131048, 131056})
TRANSIENT_CODES = frozenset({2, 4, 80007, 130429, 131000, 131016, 131056, 133004})
WINDOW_CLOSED_CODE = 131047
RECIPIENT_CODES = frozenset({131026, 131051})
AUTH_CODES = frozenset({0, 10, 190, *range(200, 300)})


class GraphError(Exception):
    """A Graph API call failed. `http_status` is 0 when no response arrived; `code` is Meta's error code.

    `outcome_unknown` is set when the request may have reached Meta although no usable answer came back (a
    read timeout, a connection dropped after the request was written, an HTTP 5xx, a 2xx whose body was
    unusable): a send may then have been delivered after all, and must never be repeated. It is False only
    when the request certainly did not arrive (never connected) or Meta refused it (a 4xx with its error body).
    """

    def __init__(
        self,
        *,
        http_status: int,
        code: int | None = None,
        subcode: int | None = None,
        retryable: bool = False,
        error_type: str | None = None,
        fbtrace_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.retryable = retryable
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.retry_after_s = retry_after_s
        self.outcome_unknown = 200 <= http_status < 300 or http_status >= 500
        super().__init__(self._describe())

    def __str__(self) -> str:
        return self._describe()  # built from the attributes, so it follows `outcome_unknown` once set

    def _describe(self) -> str:
        parts = [f"code={self.code}", f"http={self.http_status}"]
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode}")
        if self.error_type:
            parts.append(f"type={self.error_type}")
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        parts.append("retryable" if self.retryable else "final")
        if self.outcome_unknown:
            parts.append("outcome_unknown")
        return f"{type(self).__name__}: " + " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only constructors do not survive pickling by args; rebuild from the attributes instead
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[GraphError], state: dict[str, Any]) -> GraphError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._describe())
    return error


class GraphRateLimited(GraphError):  # noqa: N818 - names the condition, as httpx's ReadTimeout does
    """A throughput or pair-rate limit: back off, or reschedule after `retry_after_s` when it is long."""


class GraphUnavailable(GraphError):  # noqa: N818 - names the condition, as httpx's ReadTimeout does
    """Meta answered with a transient server-side failure."""


class GraphAuthError(GraphError):
    """The business's token is expired, revoked or lacks a permission; retrying cannot help."""


class GraphWindowClosed(GraphError):  # noqa: N818 - names the condition, as httpx's ReadTimeout does
    """131047: the person last wrote more than 24 h ago; only a template message can re-engage them."""


class GraphRecipientError(GraphError):
    """The recipient cannot receive this message (131026 undeliverable, 131051 unsupported type)."""


class GraphProtocolError(GraphError):
    """The response cannot be used: an unexpected body, or a redirect this client never follows."""

    def __init__(self, what: str, *, http_status: int) -> None:
        self.what = what
        super().__init__(http_status=http_status)

    def _describe(self) -> str:
        unknown = " outcome_unknown" if self.outcome_unknown else ""
        return f"GraphProtocolError: {self.what} http={self.http_status}{unknown}"


TransportKind = Literal["connection", "timeout", "network"]  # "connection": never connected, nothing sent


class GraphTransportError(GraphError):
    """No usable response arrived (timeout, refused or dropped connection); retryable where repeating the
    request is harmless. Only `"connection"` (never connected) is known not to have reached Meta."""

    def __init__(self, kind: TransportKind) -> None:
        self.kind = kind
        super().__init__(http_status=0, retryable=True)
        self.outcome_unknown = kind != "connection"

    def _describe(self) -> str:
        unknown = " outcome_unknown" if self.outcome_unknown else ""
        return f"GraphTransportError: {self.kind}{unknown}"


class MediaFailure(StrEnum):
    HOST_NOT_ALLOWED = "host_not_allowed"
    INSECURE_SCHEME = "insecure_scheme"
    REDIRECT = "redirect"
    TOO_LARGE = "too_large"
    CHECKSUM_MISMATCH = "checksum_mismatch"  # also: the expected checksum is neither hex nor base64 SHA-256
    HTTP_STATUS = "http_status"


class MediaError(GraphError):
    """A media download was refused before or while it ran; `reason` says why, for the dead-letter entry."""

    def __init__(self, reason: MediaFailure, *, http_status: int = 0, retryable: bool = False) -> None:
        self.reason = reason
        super().__init__(http_status=http_status, retryable=retryable)

    def _describe(self) -> str:
        return f"MediaError: {self.reason.value} http={self.http_status}"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def _token_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and _SAFE_TOKEN.fullmatch(value) else None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as delta-seconds; an HTTP-date (not sent by Graph) is ignored."""
    raw = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 else None


def error_from_response(response: httpx.Response) -> GraphError:
    """Maps a non-2xx Graph response onto the tree; only the code, type and trace id are read from the body."""
    status = response.status_code
    body: Any = None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    refused = isinstance(error, dict)  # Meta's own error body: it looked at the request and turned it down
    error = error if isinstance(error, dict) else {}
    code = _int_or_none(error.get("code"))
    fields: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "subcode": _int_or_none(error.get("error_subcode")),
        "error_type": _token_or_none(error.get("type")),
        "fbtrace_id": _token_or_none(error.get("fbtrace_id")),
    }
    exc = _classify(response, status, code, fields)
    if not refused:
        exc.outcome_unknown = True  # not Meta's refusal (a proxy, a cut-off body): it may have been processed
    return exc


def _classify(response: httpx.Response, status: int, code: int | None, fields: dict[str, Any]) -> GraphError:
    if code == WINDOW_CLOSED_CODE:
        return GraphWindowClosed(**fields)
    if code in RECIPIENT_CODES:
        return GraphRecipientError(**fields)
    retry_after = retry_after_seconds(response)
    if code in RATE_LIMIT_CODES or (code is None and status == 429):
        retryable = code in TRANSIENT_CODES or code is None
        return GraphRateLimited(retryable=retryable, retry_after_s=retry_after, **fields)
    if code in AUTH_CODES or (code is None and status in (401, 403)):
        return GraphAuthError(**fields)
    if code in TRANSIENT_CODES or status >= 500:
        return GraphUnavailable(retryable=True, retry_after_s=retry_after, **fields)
    return GraphError(**fields)
