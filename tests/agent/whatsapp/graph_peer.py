"""A local WhatsApp Cloud API (Graph API) peer on 127.0.0.1 for tests.

It stands in for graph.facebook.com and Meta's media host (which cannot be reached here) and speaks the
documented protocol: `GET /{version}/{media-id}` (url, mime_type, sha256 hex, file_size as a string),
`POST /{version}/{phone-number-id}/media` (multipart: messaging_product, type, file) and
`POST /{version}/{phone-number-id}/messages` (text, audio, template, and read receipts with a typing indicator)
and `POST /{version}/{phone-number-id}/calls` (pre_accept/accept with the SDP answer, reject, terminate).
It checks what it receives the way Meta does (a missing or wrong bearer token is a 401 with code 190, a malformed
body a 400 with code 100) and records every request with its headers, so tests can see which Authorization
headers each host received. Media downloads are served under `/media-download/{id}` on the same server.

Failure injection: `fail_next` answers the next requests with a Meta error body whose `message` deliberately
quotes the request's path, query and Authorization header (what a client must never echo); `stall_next` delays
answers; `hold_accepted_sends_s` records a send as delivered but answers it late;
`fail_accepted_sends_next` records sends as delivered and then answers them with a 5xx (Meta processed it
and still failed the request); `redirect_download` and `report_wrong_sha256` make media misbehave. A second
instance built with `host="localhost"` serves as "another host" (same loopback interface, a different host
name and port).

Media as it travels from Meta (`media_network`): each media request (`GET /{media-id}` and the download)
answers after a round trip, and the download's body arrives at a given rate. For tests of what overlaps with
what, `download_asked(media_id)` is an event set when that file's download arrives and `hold_download` keeps
its answer until the test's events are set (`hold_read_receipts` the same for read receipts): conditions,
not timings.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.local_server import serve_in_thread

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from starlette.requests import Request

GRAPH_VERSION = "v23.0"
_MESSAGE_TYPES = ("text", "audio", "template")
_AUDIO_TYPES = {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}
_MAX_AUDIO_BYTES = 16 * 1024 * 1024
_CALL_ACTIONS = ("pre_accept", "accept", "reject", "terminate")
HOLD_LIMIT_S = 20.0  # a held download no test releases is answered 504 then, never hangs the test
_CHUNK = 16 * 1024


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Upload:
    media_id: str
    data: bytes
    mime_type: str
    filename: str


@dataclass
class _Media:
    data: bytes
    mime_type: str
    chunked: bool = False
    redirect_to: str | None = None
    wrong_sha256: bool = False


@dataclass(frozen=True)
class MediaNetwork:
    """How media reaches the worker: `rtt_s` before each media answer starts (Graph's processing included),
    then the download's body at `bytes_per_s` (0: at once)."""

    rtt_s: float = 0.0
    bytes_per_s: float = 0.0


@dataclass(frozen=True)
class _Failure:
    code: int | None
    status: int
    retry_after: float | None


def meta_error(status: int, code: int, message: str, subcode: int | None = None) -> JSONResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbC-123_x",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status)


def _invalid(message: str) -> JSONResponse:
    return meta_error(400, 100, f"(#100) Invalid parameter: {message}")


@dataclass
class GraphPeer:
    token: str
    host: str = "127.0.0.1"
    origin: str = ""
    requests: list[SeenRequest] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    read_receipts: list[dict[str, Any]] = field(default_factory=list)
    hold_accepted_sends_s: float = 0.0  # a send is recorded (delivered), then its response is this late
    receipts_at_send: list[int] = field(
        default_factory=list
    )  # per message sent: read receipts answered by then
    call_actions: list[dict[str, Any]] = field(default_factory=list)  # POST /{pnid}/calls, in order
    media_network: MediaNetwork = MediaNetwork()
    _media: dict[str, _Media] = field(default_factory=dict)
    _holds: dict[str, tuple[threading.Event, ...]] = field(default_factory=dict)
    _receipt_holds: tuple[threading.Event, ...] = ()
    _asked: dict[str, threading.Event] = field(default_factory=dict)
    _served: dict[str, threading.Event] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _stalls: list[float] = field(default_factory=list)
    _failed_after_delivery: list[int] = field(default_factory=list)
    _refused_sends: list[tuple[int, int]] = field(default_factory=list)  # (code, status)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- what tests call ------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.origin}/{GRAPH_VERSION}"

    @property
    def authorizations(self) -> list[str | None]:
        """The Authorization header of every request this host received (None when absent)."""
        return [r.headers.get("authorization") for r in self.requests]

    def add_media(
        self, media_id: str, data: bytes, mime_type: str = "audio/ogg", *, chunked: bool = False
    ) -> None:
        """Registers inbound media; `chunked` serves it without Content-Length (streamed)."""
        self._media[media_id] = _Media(data, mime_type, chunked=chunked)

    def fail_next(
        self, code: int | None, status: int, times: int = 1, retry_after: float | None = None
    ) -> None:
        """The next `times` requests get a Meta error body with `code` (None: a plain-text body) and `status`."""
        self._failures.extend([_Failure(code, status, retry_after)] * times)

    def stall_next(self, seconds: float, times: int = 1) -> None:
        self._stalls.extend([seconds] * times)

    def fail_accepted_sends_next(self, status: int = 500, times: int = 1) -> None:
        """The next `times` sends are delivered (recorded in `messages`), then answered with `status`."""
        self._failed_after_delivery.extend([status] * times)

    def refuse_sends_next(self, code: int, status: int, times: int = 1) -> None:
        """The next `times` message sends (not read receipts, not media) are refused, undelivered, with a Meta
        error `code` and `status` (e.g. 130429, 429: the rate limit)."""
        self._refused_sends.extend([(code, status)] * times)

    def redirect_download(self, media_id: str, location: str) -> None:
        self._media[media_id].redirect_to = location

    def report_wrong_sha256(self, media_id: str) -> None:
        self._media[media_id].wrong_sha256 = True

    def hold_download(self, media_id: str, *until: threading.Event) -> None:
        """The download of `media_id` is answered once every event in `until` is set (a 504 after
        `HOLD_LIMIT_S` if they never are)."""
        self._holds[media_id] = until

    def hold_read_receipts(self, *until: threading.Event) -> None:
        """Read receipts are answered once every event in `until` is set (a 504 after `HOLD_LIMIT_S`)."""
        self._receipt_holds = until

    def download_asked(self, media_id: str) -> threading.Event:
        """Set when a download of `media_id` arrives (before any hold or network delay)."""
        return self._asked.setdefault(media_id, threading.Event())

    def download_served(self, media_id: str) -> threading.Event:
        """Set when the last byte of a download of `media_id` was handed to the server."""
        return self._served.setdefault(media_id, threading.Event())

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    # --- the server side ------------------------------------------------------------------------------------

    def _wrap(
        self, inner: Callable[[Request, bytes], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            seen = SeenRequest(
                request.method,
                request.url.path,
                request.url.query,
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
            self.requests.append(seen)
            if self._stalls:
                await asyncio.sleep(self._stalls.pop(0))
            if self._failures:
                return self._failure(self._failures.pop(0), seen)
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return meta_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
            return await inner(request, body)

        return endpoint

    @staticmethod
    def _failure(failure: _Failure, seen: SeenRequest) -> Response:
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
        # Meta's messages may quote what was sent; this one quotes the most sensitive parts on purpose
        leak = f"{seen.path}?{seen.query} auth={seen.headers.get('authorization')} body={seen.body[:200]!r}"
        if failure.code is None:
            return PlainTextResponse(f"upstream failure {leak}", status_code=failure.status, headers=headers)
        response = meta_error(failure.status, failure.code, f"(#{failure.code}) injected failure {leak}")
        response.headers.update(headers)
        return response

    def _known_media(self, media_id: str) -> _Media | None:
        if media_id in self._media:
            return self._media[media_id]
        upload = self.uploads.get(media_id)
        return _Media(upload.data, upload.mime_type) if upload else None

    async def _media_info(self, request: Request, _: bytes) -> Response:
        media_id = request.path_params["object_id"]
        await asyncio.sleep(self.media_network.rtt_s)
        media = self._known_media(media_id)
        if media is None:
            return meta_error(
                400, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist", 33
            )
        digest = hashlib.sha256(b"not the file" if media.wrong_sha256 else media.data).hexdigest()
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.origin}/media-download/{media_id}?mid={media_id}&ext=1700000000&hash=ATsecret",
                "mime_type": media.mime_type,
                "sha256": digest,
                "file_size": str(len(media.data)),
                "id": media_id,
            }
        )

    async def _download(self, request: Request, _: bytes) -> Response:
        media_id = request.path_params["media_id"]
        self.download_asked(media_id).set()
        for event in self._holds.get(media_id, ()):
            if not await asyncio.to_thread(event.wait, HOLD_LIMIT_S):
                return PlainTextResponse("held too long", status_code=504)
        await asyncio.sleep(self.media_network.rtt_s)
        media = self._known_media(media_id)
        if media is None:
            return PlainTextResponse("not found", status_code=404)
        if media.redirect_to is not None:
            return RedirectResponse(media.redirect_to, status_code=302)
        rate, served = self.media_network.bytes_per_s, self.download_served(media_id)
        if not media.chunked and not rate:
            served.set()
            return Response(media.data, media_type=media.mime_type)
        data = media.data

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(data), _CHUNK):
                if rate:
                    await asyncio.sleep(min(_CHUNK, len(data) - i) / rate)
                yield data[i : i + _CHUNK]
            served.set()

        # chunked: no Content-Length (streamed); at a rate: with it, as a CDN sends a file
        headers = {} if media.chunked else {"content-length": str(len(data))}
        return StreamingResponse(chunks(), media_type=media.mime_type, headers=headers)

    async def _upload(self, request: Request, body: bytes) -> Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return _invalid("media upload must be multipart/form-data")
        form = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields: dict[str, bytes] = {}
        file_part: tuple[str, str, bytes] | None = None
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                return _invalid("every multipart part needs a name")
            if name == "file":
                filename = part.get_filename()
                if not filename:
                    return _invalid("file part needs a filename")
                file_part = (filename, part.get_content_type(), payload)
            else:
                fields[name] = payload
        if fields.get("messaging_product") != b"whatsapp":
            return _invalid("messaging_product must be whatsapp")
        if file_part is None or not file_part[2]:
            return _invalid("file is required")
        filename, file_type, data = file_part
        declared = fields.get("type", b"").decode()
        if declared != file_type or declared not in _AUDIO_TYPES:
            return _invalid("type must be a supported audio MIME type matching the file part")
        if len(data) > _MAX_AUDIO_BYTES:
            return meta_error(400, 131053, "(#131053) Media upload error: file too large")
        media_id = str(900_000 + next(self._ids))
        self.uploads[media_id] = Upload(media_id, data, file_type, filename)
        return JSONResponse({"id": media_id})

    async def _messages(self, request: Request, body: bytes) -> Response:
        try:
            data = json.loads(body)
        except ValueError:
            return _invalid("body is not JSON")
        if not isinstance(data, dict) or data.get("messaging_product") != "whatsapp":
            return _invalid("messaging_product must be whatsapp")
        if "status" in data:
            for event in self._receipt_holds:
                if not await asyncio.to_thread(event.wait, HOLD_LIMIT_S):
                    return PlainTextResponse("held too long", status_code=504)
            return self._read_receipt(data)
        to, kind = data.get("to"), data.get("type")
        if data.get("recipient_type", "individual") != "individual":
            return _invalid("recipient_type must be individual")
        if not isinstance(to, str) or not to:
            return _invalid("to is required")
        if kind not in _MESSAGE_TYPES:
            return _invalid("type is not one this peer serves")
        if any(other in data for other in _MESSAGE_TYPES if other != kind):
            return _invalid("the message has an object of another type")
        content = data.get(kind)
        problem = self._check_content(kind, content)
        if problem:
            return _invalid(problem)
        if self._refused_sends:
            code, status = self._refused_sends.pop(0)
            return meta_error(status, code, f"(#{code}) refused")
        self.messages.append(data)
        self.receipts_at_send.append(len(self.read_receipts))
        if self._failed_after_delivery:
            return meta_error(self._failed_after_delivery.pop(0), 131000, "(#131000) Something went wrong")
        if self.hold_accepted_sends_s:
            await asyncio.sleep(self.hold_accepted_sends_s)
        wamid = f"wamid.{next(self._ids)}"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _check_content(self, kind: str, content: Any) -> str | None:
        if not isinstance(content, dict):
            return f"{kind} object is required"
        if kind == "text":
            text = content.get("body")
            if not isinstance(text, str) or not 0 < len(text) <= 4096:
                return "text.body must be 1-4096 characters"
            if not isinstance(content.get("preview_url", False), bool):
                return "text.preview_url must be a boolean"
        elif kind == "audio":
            if ("id" in content) == ("link" in content):
                return "audio needs exactly one of id and link"
            if "id" in content and self._known_media(str(content["id"])) is None:
                return "audio.id is not a known media id"
            if not isinstance(content.get("voice", False), bool):
                return "audio.voice must be a boolean"
        else:
            language = content.get("language")
            if not isinstance(content.get("name"), str) or not isinstance(language, dict):
                return "template needs a name and a language object"
            if not isinstance(language.get("code"), str):
                return "template.language.code is required"
            if not isinstance(content.get("components", []), list):
                return "template.components must be a list"
        return None

    def _read_receipt(self, data: dict[str, Any]) -> Response:
        if data.get("status") != "read" or not isinstance(data.get("message_id"), str) or "to" in data:
            return _invalid("a read receipt is status=read with a message_id")
        typing = data.get("typing_indicator")
        if typing is not None and typing != {"type": "text"}:
            return _invalid("typing_indicator must be {type: text}")
        self.read_receipts.append(data)
        return JSONResponse({"success": True})

    def answer_sdp(self, call_id: str) -> str | None:
        """The SDP answer the business sent with `pre_accept` (what Meta relays to the caller's phone)."""
        for action in self.call_actions:
            if action["call_id"] == call_id and action["action"] == "pre_accept":
                return str(action["session"]["sdp"])
        return None

    def actions_of(self, call_id: str) -> list[str]:
        return [a["action"] for a in self.call_actions if a["call_id"] == call_id]

    async def _calls(self, request: Request, body: bytes) -> Response:
        try:
            data = json.loads(body)
        except ValueError:
            return _invalid("body is not JSON")
        if not isinstance(data, dict) or data.get("messaging_product") != "whatsapp":
            return _invalid("messaging_product must be whatsapp")
        call_id, action = data.get("call_id"), data.get("action")
        if not isinstance(call_id, str) or action not in _CALL_ACTIONS:
            return _invalid("call_id and an action (pre_accept, accept, reject, terminate) are required")
        session = data.get("session")
        if action in ("pre_accept", "accept"):
            if not isinstance(session, dict) or session.get("sdp_type") != "answer":
                return _invalid("session with sdp_type answer is required")
            sdp = session.get("sdp")
            if not isinstance(sdp, str) or "a=fingerprint:sha-256 " not in sdp:
                return _invalid("session.sdp must be an SDP answer with a sha-256 fingerprint")
            if any(line.startswith("a=fingerprint:") and "sha-256 " not in line for line in sdp.splitlines()):
                return _invalid("only the sha-256 fingerprint is supported")
            earlier = self.answer_sdp(call_id)
            if action == "accept" and earlier is not None and earlier != sdp:
                return _invalid("accept must carry the SDP sent with pre_accept")
        elif session is not None:
            return _invalid(f"{action} takes no session")
        self.call_actions.append(data)
        return JSONResponse({"messaging_product": "whatsapp", "success": True})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(f"/{GRAPH_VERSION}/{{object_id}}", self._wrap(self._media_info), methods=["GET"]),
                Route(f"/{GRAPH_VERSION}/{{pnid}}/media", self._wrap(self._upload), methods=["POST"]),
                Route(f"/{GRAPH_VERSION}/{{pnid}}/messages", self._wrap(self._messages), methods=["POST"]),
                Route(f"/{GRAPH_VERSION}/{{pnid}}/calls", self._wrap(self._calls), methods=["POST"]),
                Route("/media-download/{media_id}", self._wrap(self._download), methods=["GET"]),
            ]
        )


@contextmanager
def serve_graph_peer(token: str, *, host: str = "127.0.0.1") -> Iterator[GraphPeer]:
    """Runs a peer bound to 127.0.0.1; `host` is the name it puts in the URLs it hands out."""
    peer = GraphPeer(token, host)
    with serve_in_thread(peer.app()) as port:
        peer.origin = f"http://{host}:{port}"
        yield peer
