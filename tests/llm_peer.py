"""A local OpenAI-compatible endpoint on 127.0.0.1 for tests.

It stands in for a hosted LLM and TTS (which cannot be reached here): it speaks the documented
`POST /v1/chat/completions` and `POST /v1/audio/speech` protocols, rejects requests that do not follow them
(400 with an OpenAI-style error body), records every raw request body for the tests to inspect, and
answers chat with a reply the test computes from the messages, speech with 24 kHz 16-bit mono PCM
(`response_format="pcm"`) lasting 0.3 s per word of input. `fail_with` makes it answer with an HTTP
error; `delay_s` makes it slow.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.local_server import serve_in_thread

if TYPE_CHECKING:
    from starlette.requests import Request

Reply = Callable[[list[dict[str, Any]]], str]
_ROLES = {"system", "user", "assistant", "tool", "developer"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)


@dataclass
class ChatPeer:
    reply: Reply
    bodies: list[bytes] = field(default_factory=list)
    speech_bodies: list[bytes] = field(default_factory=list)
    fail_with: int | None = None
    delay_s: float = 0.0
    base_url: str = ""

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.bodies]

    async def _completions(self, request: Request) -> JSONResponse:
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
        messages = data.get("messages")
        if not isinstance(data.get("model"), str) or not isinstance(messages, list) or not messages:
            return _error(400, "model (string) and messages (non-empty list) are required")
        for m in messages:
            if m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
                return _error(400, "each message needs a known role and string content")
        text = self.reply(messages)
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.bodies)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": data["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": sum(len(m["content"].split()) for m in messages),
                    "completion_tokens": len(text.split()),
                    "total_tokens": 0,
                },
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
