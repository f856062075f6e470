"""Runs an ASGI app (a test's stand-in for a remote service) with uvicorn in a thread on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.types import ASGIApp


@contextmanager
def serve_in_thread(app: ASGIApp, **config: Any) -> Iterator[int]:
    """Yields the port; the server stops when the context exits. `config`: more of uvicorn's settings
    (e.g. `ssl_certfile`, `ssl_keyfile` for a TLS peer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("local server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        server.force_exit = True  # a request a test left held (a stalled peer) must not hold the exit
        thread.join(timeout=10)
        sock.close()
