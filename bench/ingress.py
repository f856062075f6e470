"""Webhook ingress throughput: `leadclose serve` (uvicorn, one process pinned to core 0) against a real
redis-server with AOF on (core 1), loaded by `wrk` (core 1) with pre-signed requests, each a new message.

wrk, not a Python client: an httpx load generator saturates its own core at ~300 req/s and measures itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.agent.whatsapp import webhooks as wh
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wrk_script(folder: Path, count: int) -> Path:
    """wrk cycles through `count` distinct signed bodies, read from a file at start-up (wrk's Lua has no HMAC,
    and a script with the bodies inline hits Lua's limit on constants)."""
    bodies = folder / "bodies.tsv"
    with bodies.open("w") as out:
        for i in range(count):
            body = wh.payload(
                messages=[wh.text(f"9198{i % 5000:08d}", f"wamid.wrk.{i}", "What does 3 kW cost?")]
            )
            out.write(f"{wh.headers(body)['X-Hub-Signature-256']}\t{body.decode()}\n")
    script = folder / "webhooks.lua"
    script.write_text(f"""
local reqs = {{}}
for line in io.lines("{bodies}") do
  local signature, body = line:match("([^\t]+)\t(.*)")
  reqs[#reqs + 1] = wrk.format("POST", "/webhooks/whatsapp", {{["Host"] = "127.0.0.1",
    ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = signature}}, body)
end
local n = 0
request = function() n = n % #reqs + 1; return reqs[n] end
""")
    return script


def bench(seconds: int, connections: list[int]) -> None:
    if shutil.which("wrk") is None:
        print("ingress: skipped, needs Debian's wrk (apt-get install wrk)")
        return
    with tempfile.TemporaryDirectory() as folder:
        script = _wrk_script(Path(folder), 80_000)  # more than any run sends: every request is a new message
        redis = RedisServer(Path(folder) / "redis")
        redis.start()
        port = _free_port()
        env = {
            **os.environ,
            "LEADCLOSE_REDIS_URL": redis.url,
            "LEADCLOSE_PROMPTS_DIR": str(ROOT / "prompts"),
            "LEADCLOSE_WHATSAPP_APP_SECRET": wh.APP_SECRET,
            "LEADCLOSE_WHATSAPP_VERIFY_TOKEN": "v",
            "LEADCLOSE_MASTER_KEY": "bench-master-key-123456",
            "LEADCLOSE_HTTP_PORT": str(port),
        }
        server = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "agent.cli.main", "serve"], env=env
        )
        print(
            f"ingress: signed webhooks, server on 1 core, redis-server with AOF everysec, {seconds} s per run"
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)
            for conns in connections:
                out = subprocess.run(
                    [
                        "taskset",
                        "-c",
                        "1",
                        "wrk",
                        "-t1",
                        f"-c{conns}",
                        f"-d{seconds}s",
                        "--latency",
                        "-s",
                        str(script),
                        url,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
                p50 = re.search(r"50%\s+([\d.]+\w+)", out)
                p99 = re.search(r"99%\s+([\d.]+\w+)", out)
                errors = "Non-2xx" in out
                print(
                    f"  {conns:3d} connections: {float(rps.group(1)) if rps else 0:7.0f} req/s, "
                    f"p50 {p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}"
                    + (", NON-200 ANSWERS" if errors else ", all 200")
                )
        finally:
            server.terminate()
            server.wait()
            redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.ingress")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 16, 64])
    args = parser.parse_args()
    bench(args.seconds, args.connections)


if __name__ == "__main__":
    main()
