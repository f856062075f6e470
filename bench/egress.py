"""What the tenant-input guards cost: a tool call through the guarded transport (connect-time address checks,
one deadline, raw capped read) vs a plain httpx client, and a system prompt rendered in the bounded sandbox
vs Jinja's plain immutable sandbox (what rendered it before).

Tool calls go to the local tenant peer on 127.0.0.1 (tests/agent/tenant_peer.py, which verifies each
signature), opened with `LEADCLOSE_TOOLS_ALLOW_NETWORKS=127.0.0.1/32` as the tests do; `--fresh` opens a
new connection per call (so every call resolves and checks again).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agent.egress import EgressPolicy, GuardedTransport
from agent.tenants.registry import load_tenant
from agent.tools.conversation import EndpointCaller, signature
from pipelines.prompt import render_system_prompt
from tests.agent.tenant_peer import serve_tenant_peer
from tests.conftest import ROOT

SECRET = b"bench-secret"


async def _guarded(url: str, n: int, fresh: bool) -> list[float]:
    times = []
    caller = EndpointCaller(GuardedTransport(EgressPolicy.from_setting("127.0.0.1/32")))
    for i in range(n):
        if fresh:
            await caller.aclose()
            caller = EndpointCaller(GuardedTransport(EgressPolicy.from_setting("127.0.0.1/32")))
        started = time.perf_counter()
        await caller.call("POST", url, SECRET, {"q": i}, timeout_s=5, max_bytes=4096, idempotency_key=str(i))
        times.append(time.perf_counter() - started)
    await caller.aclose()
    return times


async def _plain(url: str, n: int, fresh: bool) -> list[float]:
    times = []
    http = httpx.AsyncClient()
    for i in range(n):
        if fresh:
            await http.aclose()
            http = httpx.AsyncClient()
        body = b'{"q":%d}' % i
        stamp = int(time.time())
        headers = {
            "X-Leadclose-Signature": signature(SECRET, stamp, body),
            "X-Leadclose-Timestamp": str(stamp),
        }
        started = time.perf_counter()
        async with http.stream("POST", url, content=body, headers=headers, timeout=5) as response:
            await response.aread()
        times.append(time.perf_counter() - started)
    await http.aclose()
    return times


def _render_times(n: int) -> tuple[float, float]:
    folder = ROOT / "prompts" / "gharkhoj-realty"
    tenant = load_tenant(folder)
    template = (folder / tenant.system_prompt).read_text()
    context = tenant.model_dump(include={"name", "business", "tone", "persona", "language", "languages"}) | {
        "knowledge": (folder / "knowledge.md").read_text()
    }
    plain_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    plain, bounded = [], []
    for _ in range(n):
        started = time.perf_counter()
        plain_env.from_string(template).render(**context)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_system_prompt(template, context)
        bounded.append(time.perf_counter() - started)
    return statistics.median(plain), statistics.median(bounded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    with serve_tenant_peer(SECRET) as peer:
        url = f"{peer.base_url}/hook"
        for fresh in (False, True):
            asyncio.run(_plain(url, 20, fresh))  # warm up both
            asyncio.run(_guarded(url, 20, fresh))
            plain = statistics.median(asyncio.run(_plain(url, args.calls, fresh)))
            guarded = statistics.median(asyncio.run(_guarded(url, args.calls, fresh)))
            what = "new connection per call" if fresh else "kept-alive connection"
            print(
                f"tool call, {what}: plain {plain * 1000:.2f} ms, guarded {guarded * 1000:.2f} ms "
                f"(x{guarded / plain:.2f}), median of {args.calls}"
            )
    plain_ms, bounded_ms = (t * 1000 for t in _render_times(args.renders))
    print(
        f"system prompt (gharkhoj-realty): plain sandbox {plain_ms:.2f} ms, bounded {bounded_ms:.2f} ms "
        f"(x{bounded_ms / plain_ms:.2f}), median of {args.renders}"
    )


if __name__ == "__main__":
    main()
