"""A local OpenAI-compatible endpoint on 127.0.0.1 for tests.

It stands in for a hosted LLM and TTS (which cannot be reached here): it speaks the documented
`POST /v1/chat/completions` and `POST /v1/audio/speech` protocols, rejects requests that do not follow them
(400 with an OpenAI-style error body), records every raw request body for the tests to inspect, and
answers chat with a reply the test computes from the messages, speech with 24 kHz 16-bit mono PCM
(`response_format="pcm"`) lasting 0.3 s per word of input. `fail_with` makes it answer with an HTTP
error; `delay_s` makes it slow, `hold` (a `threading.Event`) keeps every chat answer back until the test
sets it (a fault test acts while a turn waits for the model), `token_delay_s` paces each word of a reply
(and each piece of a tool call) as a model generating it would; a reply that is not streamed comes once all
of it would have been written.

Streaming: a request with `"stream": true` is answered as OpenAI does, with server-sent events
(`text/event-stream`): one `chat.completion.chunk` per word of the reply (the first carrying the role), then
any tool calls as OpenAI streams them (`delta.tool_calls[i]` with `index`; `id`, `type` and `function.name`
in the call's first piece, `function.arguments` split over several chunks), a last chunk with the
finish_reason ("tool_calls" or "stop"), then `data: [DONE]`. `break_after` ends a stream after that many
chunks with an error event, as a failing endpoint does mid-stream.

Tool calling: the reply function may return a list of `Call`s, optionally after text the model says first
("Let me check that."); the peer answers with `tool_calls` (finish_reason "tool_calls") as OpenAI does, but
only when the request offered tools and not under `tool_choice: "none"` (then it answers with the text
only, possibly empty). Like a real model, it may name a function that was not offered. It checks the
protocol of what it is sent: offered tools are `{"type": "function", "function": {"name", "parameters"}}`;
an assistant message may carry `tool_calls` instead of content, and they must be the calls this peer made
(same id, name and arguments: streamed pieces put back together); every call is answered by one `tool`
message with its `tool_call_id` before the conversation goes on. `forbidden` lists raw values (PII) that
must never reach it: a request containing one is rejected and recorded in `leaks`. Every rejection's
reason is in `rejected`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.local_server import serve_in_thread

if TYPE_CHECKING:
    import threading

    from starlette.requests import Request

_ROLES = {"system", "user", "assistant", "tool", "developer"}
_ARGUMENT_PIECE = 6  # characters of a call's arguments per streamed chunk


@dataclass(frozen=True)
class Call:
    """A scripted tool call; `arguments` as an object, or raw text to send malformed JSON."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)


Reply = Callable[[list[dict[str, Any]]], str | Sequence[str | Call]]  # text, or text said first + calls


def _protocol_problem(data: dict[str, Any], issued: dict[str, tuple[str, str]]) -> str:
    tools = data.get("tools", [])
    if not isinstance(tools, list) or not all(
        isinstance(t, dict)
        and t.get("type") == "function"
        and isinstance(t.get("function", {}).get("name"), str)
        and isinstance(t["function"].get("parameters", {}), dict)
        for t in tools
    ):
        return "tools must be a list of function tools with a name and object parameters"
    if data.get("tool_choice", "auto") not in ("auto", "none", "required"):
        return "tool_choice must be auto, none or required"
    messages = data.get("messages")
    if not isinstance(data.get("model"), str) or not isinstance(messages, list) or not messages:
        return "model (string) and messages (non-empty list) are required"
    if not isinstance(data.get("stream", False), bool):
        return "stream must be a boolean"
    unanswered: set[str] = set()
    answered: set[str] = set()
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if role not in _ROLES:
            return "each message needs a known role"
        if role != "tool" and unanswered:
            return "every tool call must be answered by a tool message before the conversation goes on"
        if role == "assistant" and m.get("tool_calls"):
            for c in m["tool_calls"]:
                made = issued.get(c.get("id"))
                if made is None or made != (c["function"]["name"], c["function"]["arguments"]):
                    return "an assistant tool call must be one this model made (same id, name, arguments)"
                unanswered.add(c["id"])
            if content is not None and not isinstance(content, str):
                return "assistant content must be a string or null"
            continue
        if not isinstance(content, str):
            return "each message needs string content"
        if role == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in unanswered or call_id in answered:
                return "a tool message must answer an earlier tool call by its id, once"
            unanswered.discard(call_id)
            answered.add(call_id)
    return "every tool call must be answered by a tool message" if unanswered else ""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)


@dataclass
class ChatPeer:
    reply: Reply
    bodies: list[bytes] = field(default_factory=list)
    speech_bodies: list[bytes] = field(default_factory=list)
    fail_with: int | None = None
    delay_s: float = 0.0
    hold: threading.Event | None = None
    token_delay_s: float = 0.0
    finished_at: list[float] = field(default_factory=list)  # time.monotonic() each stream sent [DONE]
    tools_supported: bool = True  # False: like a server without tool support, 400 to a request with tools
    break_after: int | None = None  # a stream fails with an error event after this many chunks
    forbidden: list[str] = field(default_factory=list)  # raw values that must never be sent here
    leaks: list[str] = field(default_factory=list)  # forbidden values found in requests
    rejected: list[str] = field(default_factory=list)  # why each rejected request was rejected
    issued: dict[str, tuple[str, str]] = field(default_factory=dict)  # call id -> (name, arguments)
    base_url: str = ""

    @property
    def streams_finished(self) -> int:
        """Streamed replies sent to the end ([DONE])."""
        return len(self.finished_at)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.bodies]

    async def _completions(self, request: Request) -> Response:
        body = await request.body()
        self.bodies.append(body)
        if self.hold is not None:
            await asyncio.to_thread(self.hold.wait, 30)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            return _error(self.fail_with, "peer told to fail")
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            return self._reject("body is not JSON")
        problem = _protocol_problem(data, self.issued)
        if not problem and data.get("tools") and not self.tools_supported:
            problem = "this model does not support tools"
        leaked = [v for v in self.forbidden if v in body.decode()]
        if leaked:
            self.leaks += leaked
            problem = problem or "raw personal data in the request"
        if problem:
            return self._reject(problem)
        text, calls = self._answer(data)
        if data.get("stream"):
            usage = (
                _usage(data["messages"], text)
                if (data.get("stream_options") or {}).get("include_usage")
                else None
            )
            chunks = self._chunks(data["model"], text, calls, usage)
            return StreamingResponse(chunks, media_type="text/event-stream")
        await asyncio.sleep(self.token_delay_s * len(_deltas(text, calls)))  # as long as streaming it
        message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
        if calls:
            message["tool_calls"] = calls
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.bodies)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": data["model"],
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
                ],
                "usage": _usage(data["messages"], text),
            }
        )

    def _reject(self, reason: str) -> JSONResponse:
        self.rejected.append(reason)
        return _error(400, reason)

    def _answer(self, data: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The scripted reply as text and OpenAI tool calls (made only where tools are offered and allowed)."""
        scripted = self.reply(data["messages"])
        if isinstance(scripted, str):
            return scripted, []
        text = " ".join(s for s in scripted if isinstance(s, str))
        if not data.get("tools") or data.get("tool_choice", "auto") == "none":
            return text, []
        n = len(self.bodies)
        calls = []
        for i, c in enumerate(s for s in scripted if isinstance(s, Call)):
            call_id, arguments = f"call_{n}_{i}", _arguments(c)
            self.issued[call_id] = (c.name, arguments)
            calls.append(
                {"id": call_id, "type": "function", "function": {"name": c.name, "arguments": arguments}}
            )
        return text, calls

    async def _chunks(
        self, model: str, text: str, calls: list[dict[str, Any]], usage: dict[str, int] | None
    ) -> AsyncIterator[str]:
        """OpenAI's chunk stream; asked for usage (`stream_options.include_usage`), a last chunk with no
        choices carries it, as OpenAI documents."""
        head = {"id": f"chatcmpl-{len(self.bodies)}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}  # fmt: skip
        deltas = _deltas(text, calls)
        for sent, delta in enumerate(deltas):
            if sent == self.break_after:
                yield _event({"error": {"message": "the model failed", "type": "server_error"}})
                return
            yield _event({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            await asyncio.sleep(self.token_delay_s)
        finish = "tool_calls" if calls else "stop"
        yield _event({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if usage is not None:
            yield _event({**head, "choices": [], "usage": usage})
        yield "data: [DONE]\n\n"
        self.finished_at.append(time.monotonic())

    async def _speech(self, request: Request) -> Response:
        body = await request.body()
        self.speech_bodies.append(body)
        if self.fail_with is not None:
            return _error(self.fail_with, "peer told to fail")
        data = json.loads(body)
        text = data.get("input")
        if (
            not all(isinstance(data.get(k), str) for k in ("model", "voice"))
            or not isinstance(text, str)
            or not text
        ):
            return _error(400, "model, voice and a non-empty input are required")
        if data.get("response_format") != "pcm":
            return _error(400, "this peer serves response_format=pcm only")
        seconds = 0.3 * len(text.split())
        t = np.arange(int(24_000 * seconds)) / 24_000
        pcm = (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2")
        return Response(pcm.tobytes(), media_type="application/octet-stream")


def _deltas(text: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A reply as the chunk deltas OpenAI streams: a word of text each, then each call's head (id, type,
    name) and its arguments in pieces; the first delta carries the role."""
    words = text.split(" ") if text else []
    deltas: list[dict[str, Any]] = [
        {"content": w if i == len(words) - 1 else w + " "} for i, w in enumerate(words)
    ]
    for i, call in enumerate(calls):
        head = {**call, "index": i, "function": {"name": call["function"]["name"], "arguments": ""}}
        deltas.append({"tool_calls": [head]})
        arguments = call["function"]["arguments"]
        deltas += [
            {"tool_calls": [{"index": i, "function": {"arguments": arguments[k : k + _ARGUMENT_PIECE]}}]}
            for k in range(0, len(arguments), _ARGUMENT_PIECE)
        ]
    if deltas:
        deltas[0] = {"role": "assistant", "content": None, **deltas[0]}
    return deltas


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"


def _arguments(call: Call) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _usage(messages: list[dict[str, Any]], text: str) -> dict[str, int]:
    prompt = sum(len((m.get("content") or "").split()) for m in messages)
    return {"prompt_tokens": prompt, "completion_tokens": len(text.split()), "total_tokens": 0}


@contextmanager
def serve_chat_peer(reply: Reply) -> Iterator[ChatPeer]:
    peer = ChatPeer(reply)
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", peer._completions, methods=["POST"]),
            Route("/v1/audio/speech", peer._speech, methods=["POST"]),
        ]
    )
    with serve_in_thread(app) as port:
        peer.base_url = f"http://127.0.0.1:{port}/v1"
        yield peer
