"""A local OpenAI-compatible endpoint on 127.0.0.1 for tests.

It stands in for a hosted LLM and TTS (which cannot be reached here): it speaks the documented
`POST /v1/chat/completions` and `POST /v1/audio/speech` protocols, rejects requests that do not follow them
(400 with an OpenAI-style error body), records every raw request body for the tests to inspect, and
answers chat with a reply the test computes from the messages, speech with 24 kHz 16-bit mono PCM
(`response_format="pcm"`) lasting 0.3 s per word of input. `fail_with` makes it answer with an HTTP
error; `delay_s` makes it slow, `token_delay_s` paces each word of a reply as a model generating it would.

Streaming: a request with `"stream": true` is answered as OpenAI does, with server-sent events
(`text/event-stream`): one `chat.completion.chunk` per word of the reply (the first carrying the role), a last
chunk with the finish_reason, then `data: [DONE]`. Streamed tool calls are not served (400).

Tool calling: the reply function may return a list of `Call`s instead of text; the peer answers with
`tool_calls` (finish_reason "tool_calls") as OpenAI does, but only when the request offered tools and not
under `tool_choice: "none"` (then it answers with empty content). Like a real model, it may name a function
that was not offered. It checks the protocol of what it is
sent: offered tools are `{"type": "function", "function": {"name", "parameters"}}`, an assistant message
may carry `tool_calls` instead of content, and every `tool` message answers an earlier call by its id.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.local_server import serve_in_thread

if TYPE_CHECKING:
    from starlette.requests import Request

_ROLES = {"system", "user", "assistant", "tool", "developer"}


@dataclass(frozen=True)
class Call:
    """A scripted tool call; `arguments` as an object, or raw text to send malformed JSON."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)


Reply = Callable[[list[dict[str, Any]]], str | list[Call]]


def _protocol_problem(data: dict[str, Any]) -> str:
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
    open_calls: set[str] = set()
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if role not in _ROLES:
            return "each message needs a known role"
        if role == "assistant" and m.get("tool_calls"):
            open_calls |= {c["id"] for c in m["tool_calls"]}
            if content is not None and not isinstance(content, str):
                return "assistant content must be a string or null"
            continue
        if not isinstance(content, str):
            return "each message needs string content"
        if role == "tool" and m.get("tool_call_id") not in open_calls:
            return "a tool message must answer an earlier tool call by its id"
    return ""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)


@dataclass
class ChatPeer:
    reply: Reply
    bodies: list[bytes] = field(default_factory=list)
    speech_bodies: list[bytes] = field(default_factory=list)
    fail_with: int | None = None
    delay_s: float = 0.0
    token_delay_s: float = 0.0
    streams_finished: int = 0  # streamed replies sent to the end ([DONE])
    tools_supported: bool = True  # False: like a server without tool support, 400 to a request with tools
    base_url: str = ""

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.bodies]

    async def _completions(self, request: Request) -> Response:
        body = await request.body()
        self.bodies.append(body)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            return _error(self.fail_with, "peer told to fail")
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            return _error(400, "body is not JSON")
        problem = _protocol_problem(data)
        if not problem and data.get("tools") and not self.tools_supported:
            problem = "this model does not support tools"
        if not problem and not isinstance(data.get("stream", False), bool):
            problem = "stream must be a boolean"
        if problem:
            return _error(400, problem)
        messages = data["messages"]
        scripted = self.reply(messages)
        if isinstance(scripted, list):
            if data.get("stream"):
                return _error(400, "this peer does not stream tool calls")
            return self._tool_calls(data, scripted)
        text = scripted
        if data.get("stream"):
            return StreamingResponse(self._chunks(data["model"], text), media_type="text/event-stream")
        await asyncio.sleep(self.token_delay_s * len(text.split()))
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.bodies)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": data["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": _usage(messages, text),
            }
        )

    async def _chunks(self, model: str, text: str) -> AsyncIterator[str]:
        head = {"id": f"chatcmpl-{len(self.bodies)}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}  # fmt: skip
        words = text.split(" ")
        for i, word in enumerate(words):
            delta = {"content": word if i == len(words) - 1 else word + " "}
            if i == 0:
                delta["role"] = "assistant"
            yield _event({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            await asyncio.sleep(self.token_delay_s)
        yield _event({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        yield "data: [DONE]\n\n"
        self.streams_finished += 1

    def _tool_calls(self, data: dict[str, Any], calls: list[Call]) -> JSONResponse:
        offered = {t["function"]["name"] for t in data.get("tools", [])}
        message: dict[str, Any] = {"role": "assistant", "content": ""}
        finish = "stop"
        if offered and data.get("tool_choice", "auto") != "none":
            n = len(self.bodies)
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{n}_{i}",
                        "type": "function",
                        "function": {
                            "name": c.name,
                            "arguments": _arguments(c),
                        },
                    }
                    for i, c in enumerate(calls)
                ],
            }
            finish = "tool_calls"
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.bodies)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": data["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": _usage(data["messages"], ""),
            }
        )

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
