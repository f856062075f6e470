"""`leadclose worker` (or another long-running command, `leadclose calls`) as a real child process, for crash,
restart and drain tests."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


class WorkerProcess:
    def __init__(self, env: dict[str, str], concurrency: int = 2, *, args: Sequence[str] = ()) -> None:
        """`args`: the command and its options (default `worker --concurrency N`); it is ready once it logs
        `<command>.started`."""
        self._env = {**os.environ, **env}
        self._args = list(args) or ["worker", "--concurrency", str(concurrency)]
        self._process: subprocess.Popen[bytes] | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []

    def start(self, ready_within_s: float = 60.0) -> WorkerProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.main", *self._args],
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self._process.stderr is not None
        threading.Thread(target=self._pump, args=(self._process.stderr,), daemon=True).start()
        deadline = time.monotonic() + ready_within_s
        while time.monotonic() < deadline:
            try:
                if f"{self._args[0]}.started" in self.lines.get(timeout=0.5):
                    return self
            except queue.Empty:
                if self._process.poll() is not None:
                    break
        raise RuntimeError(f"{self._args[0]} did not start:\n" + "\n".join(self.log[-20:]))

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace")
            self.log.append(line)
            self.lines.put(line)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup, no drain, as a crash or an OOM kill."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()

    def terminate(self, within_s: float = 30.0) -> int:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        return self._process.wait(timeout=within_s)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
