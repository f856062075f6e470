"""A real `redis-server` on 127.0.0.1 for tests: AOF on (appendfsync everysec), data in a temp folder,
restartable on the same port with its data (the Redis restart tests need that)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, folder: Path, *, options: Sequence[str] = ()) -> None:
        """`options`: more `redis-server` arguments (a cluster node's, say)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not installed (./run test installs Debian's redis-server)")
        self._binary = binary
        self._folder = folder
        self.port = free_port()
        self._options = tuple(options)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def aof_dirs(self) -> list[Path]:
        return [self._folder / "appendonlydir"]  # Redis 7's default `appenddirname`

    def start(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self._folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--protected-mode",
                "yes",
                *self._options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port, socket_timeout=1)
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()  # as a crash would: no final save, only what AOF already holds
            self._process.wait()
            self._process = None
