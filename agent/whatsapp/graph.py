"""WhatsApp Cloud API (Graph API) client: fetch inbound media, upload and send replies, mark messages read.

One `GraphClient` serves every business: the access token is an argument of each call (one business, one token)
and only ever travels in an `Authorization` header, to Graph or to an allow-listed media host. Failures arrive as
the typed tree in `agent.whatsapp.errors`; transient ones are retried here with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import random
import re
import time
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import structlog

from agent.whatsapp.errors import (
    GraphError,
    GraphProtocolError,
    GraphTransportError,
    MediaError,
    MediaFailure,
    error_from_response,
)

if TYPE_CHECKING:
    from httpx._client import UseClientDefault

DEFAULT_MEDIA_HOSTS: tuple[str, ...] = ("lookaside.fbsbx.com", "mmg.whatsapp.net")
DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own cap for audio
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_GRAPH_ID = re.compile(r"[A-Za-z0-9_\-]{1,128}")  # ids go into URL paths: nothing that could add a segment

_log = structlog.get_logger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff; `jitter` is the fraction of each delay drawn at random (0 = deterministic)."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError("RetryPolicy needs max_attempts >= 1 and 0 <= base_delay_s <= max_delay_s")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter is a fraction between 0 and 1")

    def backoff_s(self, attempt: int, draw: Callable[[], float]) -> float:
        """Delay after failed attempt `attempt` (1-based); `draw` returns a float in [0, 1)."""
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return delay * (1 - self.jitter * draw())


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("RateLimit needs per_second > 0 and burst >= 1")


class TokenBucketLimiter:
    """Token bucket per key, by reservation: each caller books a token and sleeps until it is due, so concurrent
    callers on one key queue up fairly without polling. Buckets that have refilled are forgotten, so a key per
    recipient does not grow memory without bound."""

    def __init__(
        self, limit: RateLimit, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, at)
        self._sweep_above = 1024

    def reserve(self, key: Hashable) -> float:
        """Books one token for `key` and returns how many seconds to wait before using it."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self._limit.burst), now))
        tokens = min(float(self._limit.burst), tokens + (now - at) * self._limit.per_second) - 1
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._sweep_above:
            self._sweep(now)
        return max(0.0, -tokens / self._limit.per_second)

    async def acquire(self, key: Hashable) -> None:
        wait = self.reserve(key)
        if wait > 0:
            await self._sleep(wait)

    def _sweep(self, now: float) -> None:
        full = self._limit.burst - 1e-9
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self._limit.per_second >= full:
                del self._buckets[key]
        self._sweep_above = max(1024, 2 * len(self._buckets))


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """`GET /{media-id}`: where to fetch the file (a short-lived signed URL, kept out of repr) and what to expect."""

    url: str = field(repr=False)
    mime_type: str
    sha256: str
    file_size: int | None


class GraphClient:
    """The Graph API for all tenants, over the process's shared `httpx.AsyncClient` (owned by the caller).

    Retries: rate limits (130429, 131056, ...), Meta's transient codes (131000, 131016, 133004), HTTP 5xx, timeouts
    and connection errors are retried up to `retry.max_attempts`, honouring `Retry-After`; 131047, 131026, 131051
    and every other 4xx are raised at once.

    Meta has no idempotency key: every POST of a message that reached it is a message the person receives. So a
    request with an effect for the person (a send, picking up or rejecting a call) is repeated only when it
    certainly did not reach Meta (the connection was never made) or Meta refused it (a 4xx with its error body,
    such as a throttle). After a read timeout, a connection lost once the request was written, an HTTP 5xx or an
    unusable 2xx, it raises at once with `outcome_unknown` set, and the caller's reply ledger (agent/messages/queue.py)
    records "outcome unknown" and never sends that reply again. Reads, uploads, read receipts and `terminate`
    have no effect for the person when repeated, and are retried on any transient failure.

    Sends are paced per business number and per recipient by token buckets (`number_limit`, `recipient_limit`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        media_hosts: Collection[str] = DEFAULT_MEDIA_HOSTS,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        retry: RetryPolicy = RetryPolicy(),
        number_limit: RateLimit = RateLimit(per_second=80.0, burst=80),
        recipient_limit: RateLimit = RateLimit(per_second=1.0, burst=5),
        allow_insecure_loopback: bool = False,
        timeout: httpx.Timeout | None = None,  # per request; None: the shared client's own
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._media_hosts = frozenset(h.lower() for h in media_hosts)
        self._max_media_bytes = max_media_bytes
        self._retry = retry
        self._allow_insecure_loopback = allow_insecure_loopback
        self._timeout: httpx.Timeout | UseClientDefault = timeout or httpx.USE_CLIENT_DEFAULT
        self._sleep = sleep
        self._draw = draw
        self._numbers = TokenBucketLimiter(number_limit, clock=clock, sleep=sleep)
        self._recipients = TokenBucketLimiter(recipient_limit, clock=clock, sleep=sleep)

    # --- media in ---------------------------------------------------------------------------------------------

    async def media_url(self, media_id: str, token: str) -> MediaInfo:
        body = await self._graph("media_url", "GET", _graph_id(media_id, "media_id"), token, repeatable=True)
        url, mime, sha, size = (body.get(k) for k in ("url", "mime_type", "sha256", "file_size"))
        if not (isinstance(url, str) and url and isinstance(mime, str) and isinstance(sha, str)):
            raise GraphProtocolError("media_url body", http_status=200)
        return MediaInfo(url=url, mime_type=mime, sha256=sha, file_size=_size_or_none(size))

    async def download_media(self, info: MediaInfo, token: str, expected_sha256: str | None) -> bytes:
        """Fetches the file from an allow-listed host only, never following a redirect, capped at
        `max_media_bytes`; checks it against `expected_sha256` (hex or base64 of the file's SHA-256) when given."""
        url = self._checked_media_url(info.url)
        expected = _digest_bytes(expected_sha256) if expected_sha256 is not None else None
        if info.file_size is not None and info.file_size > self._max_media_bytes:
            raise MediaError(MediaFailure.TOO_LARGE)
        data, digest = await self._retrying(
            "media_download", lambda: self._download_once(url, token), repeatable=True
        )
        if expected is not None and digest != expected:
            raise MediaError(MediaFailure.CHECKSUM_MISMATCH, http_status=200)
        return data

    # --- media out and messages -------------------------------------------------------------------------------

    async def upload_media(
        self,
        phone_number_id: str,
        token: str,
        data: bytes,
        mime_type: str = "audio/ogg",
        filename: str = "reply.ogg",
    ) -> str:
        path = f"{_graph_id(phone_number_id, 'phone_number_id')}/media"
        body = await self._graph(
            "media_upload",
            "POST",
            path,
            token,
            repeatable=True,  # a second upload only leaves an unused media object behind
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)},
        )
        media_id = body.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise GraphProtocolError("media_upload body", http_status=200)
        return media_id

    async def send_voice_note(self, phone_number_id: str, token: str, to: str, media_id: str) -> str:
        """Sends an uploaded OGG/Opus file as a voice note (`voice: true`); returns the message id (wamid)."""
        return await self._send(phone_number_id, token, to, "audio", {"id": media_id, "voice": True})

    async def send_text(self, phone_number_id: str, token: str, to: str, body: str) -> str:
        return await self._send(phone_number_id, token, to, "text", {"body": body, "preview_url": False})

    async def send_template(
        self,
        phone_number_id: str,
        token: str,
        to: str,
        name: str,
        language: str,
        components: Sequence[Mapping[str, Any]] | None = None,
    ) -> str:
        """The only message allowed outside the 24 h window (after `GraphWindowClosed`)."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = [dict(c) for c in components]
        return await self._send(phone_number_id, token, to, "template", template)

    async def mark_read(self, phone_number_id: str, token: str, message_id: str, typing: bool) -> None:
        """Blue ticks on the inbound message; `typing` also shows the typing indicator (up to 25 s)."""
        pnid = _graph_id(phone_number_id, "phone_number_id")
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            payload["typing_indicator"] = {"type": "text"}
        body = await self._graph(
            "mark_read", "POST", f"{pnid}/messages", token, json=payload, pace=(pnid,), repeatable=True
        )
        if body.get("success") is not True:
            raise GraphProtocolError("mark_read body", http_status=200)

    # --- calls (Cloud API calling: `POST /{phone-number-id}/calls`) ---------------------------------------------

    async def pre_accept_call(self, phone_number_id: str, token: str, call_id: str, sdp: str) -> None:
        """Sends our SDP answer so the media connection can be set up before the call is picked up."""
        await self._call_action(phone_number_id, token, call_id, "pre_accept", sdp)

    async def accept_call(self, phone_number_id: str, token: str, call_id: str, sdp: str) -> None:
        """Picks the call up (with the same SDP as `pre_accept`); media may flow once this returns."""
        await self._call_action(phone_number_id, token, call_id, "accept", sdp)

    async def reject_call(self, phone_number_id: str, token: str, call_id: str) -> None:
        await self._call_action(phone_number_id, token, call_id, "reject")

    async def terminate_call(self, phone_number_id: str, token: str, call_id: str) -> None:
        await self._call_action(phone_number_id, token, call_id, "terminate")

    async def _call_action(
        self, phone_number_id: str, token: str, call_id: str, action: str, sdp: str | None = None
    ) -> None:
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "call_id": call_id, "action": action}
        if sdp is not None:
            payload["session"] = {"sdp_type": "answer", "sdp": sdp}
        pnid = _graph_id(phone_number_id, "phone_number_id")
        # Ending a call twice changes nothing for the person; picking up or rejecting twice might.
        repeatable = action == "terminate"
        body = await self._graph(
            f"call_{action}", "POST", f"{pnid}/calls", token, json=payload, repeatable=repeatable
        )
        if body.get("success") is not True:
            raise GraphProtocolError(f"call_{action} body", http_status=200)

    async def _send(
        self, phone_number_id: str, token: str, to: str, kind: str, content: dict[str, Any]
    ) -> str:
        # `to` is a phone number or a business-scoped user id (BSUID): passed through as given, never logged
        if not to:
            raise ValueError("recipient is empty")
        pnid = _graph_id(phone_number_id, "phone_number_id")
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
            kind: content,
        }
        body = await self._graph(
            f"send_{kind}", "POST", f"{pnid}/messages", token, json=payload, pace=(pnid, to)
        )
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise GraphProtocolError(f"send_{kind} body", http_status=200)
        return message_id

    # --- transport ----------------------------------------------------------------------------------------------

    async def _graph(
        self,
        op: str,
        method: str,
        path: str,
        token: str,
        *,
        pace: tuple[str] | tuple[str, str] | None = None,
        repeatable: bool = False,
        **content: Any,
    ) -> dict[str, Any]:
        url = f"{self._base_url}/{path}"

        async def attempt() -> dict[str, Any]:
            if pace is not None:
                await self._numbers.acquire(pace[0])
                if len(pace) == 2:
                    await self._recipients.acquire(pace)
            try:
                response = await self._http.request(
                    method,
                    url,
                    headers=_bearer(token),
                    follow_redirects=False,
                    timeout=self._timeout,
                    **content,
                )
            except httpx.RequestError as exc:
                raise _transport_error(exc) from None
            if response.is_redirect:
                raise GraphProtocolError("redirect", http_status=response.status_code)
            if not response.is_success:
                raise error_from_response(response)
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise GraphProtocolError(f"{op} body", http_status=response.status_code)
            return body

        return await self._retrying(op, attempt, repeatable=repeatable)

    async def _download_once(self, url: httpx.URL, token: str) -> tuple[bytes, bytes]:
        cap = self._max_media_bytes
        try:
            async with self._http.stream(
                "GET", url, headers=_bearer(token), follow_redirects=False, timeout=self._timeout
            ) as response:
                status = response.status_code
                if 300 <= status < 400:
                    raise MediaError(MediaFailure.REDIRECT, http_status=status)
                if not response.is_success:
                    retryable = status >= 500 or status == 429
                    raise MediaError(MediaFailure.HTTP_STATUS, http_status=status, retryable=retryable)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise MediaError(MediaFailure.TOO_LARGE, http_status=status)
                hasher, chunks, size = hashlib.sha256(), [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise MediaError(MediaFailure.TOO_LARGE, http_status=status)
                    hasher.update(chunk)
                    chunks.append(chunk)
        except httpx.RequestError as exc:
            raise _transport_error(exc) from None
        return b"".join(chunks), hasher.digest()

    async def _retrying(self, op: str, attempt: Callable[[], Awaitable[T]], *, repeatable: bool) -> T:
        """`repeatable`: repeating the request has no effect for the person, so any transient failure may be
        retried; otherwise only a request that certainly did not reach Meta, or that Meta refused, is."""
        maybe_arrived = False  # an earlier attempt may have reached Meta although no answer came back
        for number in range(1, self._retry.max_attempts + 1):
            try:
                return await attempt()
            except GraphError as exc:
                maybe_arrived |= exc.outcome_unknown
                exc.outcome_unknown = maybe_arrived
                if not repeatable and exc.outcome_unknown:
                    _failed("graph.outcome_unknown", op, number, exc, fbtrace_id=exc.fbtrace_id)
                    raise  # it may have been delivered: never sent again
                if not exc.retryable or number == self._retry.max_attempts:
                    raise
                delay = self._retry.backoff_s(number, self._draw)
                if exc.retry_after_s is not None:
                    if exc.retry_after_s > self._retry.max_delay_s:
                        raise  # a long wait belongs to the queue's scheduler, not to this coroutine
                    delay = max(delay, exc.retry_after_s)
                _failed("graph.retry", op, number, exc, delay_ms=round(delay * 1000))
                await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _checked_media_url(self, raw: str) -> httpx.URL:
        try:
            url = httpx.URL(raw)
        except httpx.InvalidURL:
            raise MediaError(MediaFailure.HOST_NOT_ALLOWED) from None
        host = url.host.lower()
        if host not in self._media_hosts or url.userinfo:
            raise MediaError(MediaFailure.HOST_NOT_ALLOWED)
        loopback_ok = self._allow_insecure_loopback and host in _LOOPBACK_HOSTS
        if url.scheme != "https" and not (url.scheme == "http" and loopback_ok):
            raise MediaError(MediaFailure.INSECURE_SCHEME)
        return url


def _failed(event: str, op: str, attempt: int, exc: GraphError, **extra: Any) -> None:
    _log.warning(
        event, op=op, attempt=attempt, error=type(exc).__name__, code=exc.code, http=exc.http_status, **extra
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _graph_id(value: str, what: str) -> str:
    if not _GRAPH_ID.fullmatch(value):
        raise ValueError(f"{what} is not a Graph id")  # the value itself is not echoed
    return value


def _size_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)  # Graph returns file_size as a string
    return None


def _digest_bytes(expected: str) -> bytes:
    """Meta gives the SHA-256 as hex (`GET /{media-id}`) or base64 (older webhooks); both mean the same 32 bytes."""
    text = expected.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != hashlib.sha256().digest_size:
        raise MediaError(MediaFailure.CHECKSUM_MISMATCH)
    return raw


def _transport_error(exc: httpx.RequestError) -> GraphTransportError:
    # httpx's own message names the URL (a signed media URL carries its query): only the kind crosses the edge
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return GraphTransportError("connection")  # never connected: the request did not leave
    if isinstance(exc, httpx.TimeoutException):
        return GraphTransportError("timeout")
    return GraphTransportError("network")
