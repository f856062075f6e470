"""`leadclose staff add|list|remove` on a real redis-server: the password comes from standard input (argv has
no place for it), is stored as an Argon2id hash, and the e-mail appears in no key name."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from redis import Redis

from agent.cli.main import main
from agent.console.assembly import open_console
from agent.engines import runtime
from agent.settings import Settings
from tests.agent.stack import MASTER
from tests.conftest import ROOT
from tests.redis_server import free_port

if TYPE_CHECKING:
    from pipelines.pii import PiiGuard
    from tests.conftest import RedisBackend

PASSWORD = "a long enough passphrase"
EMAIL = "console-owner@shop.example"
ADD = ["staff", "add", "--tenant", "default", "--email", EMAIL]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, redis_backend: RedisBackend) -> None:
    monkeypatch.setenv("LEADCLOSE_REDIS_URL", redis_backend.url)
    monkeypatch.setenv("LEADCLOSE_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEADCLOSE_PROMPTS_DIR", str(ROOT / "prompts"))


def run(
    argv: list[str], stdin: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_staff_add_list_remove(
    environment: None,
    redis_backend: RedisBackend,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sync: `main` runs its own event loop, as from a shell."""
    redis = Redis.from_url(redis_backend.url)
    redis.flushdb()
    add = ["staff", "add", "--tenant", "default", "--email", "Owner@Shop.example", "--role", "owner"]
    code, out, _ = run(add, PASSWORD + "\n", capsys, monkeypatch)
    assert code == 0
    assert json.loads(out) == {
        "tenant": "default",
        "email": "owner@shop.example",
        "role": "owner",
        "added": True,
    }
    code, out, _ = run(["staff", "list", "--tenant", "default"], "", capsys, monkeypatch)
    assert json.loads(out)["staff"] == [{"email": "owner@shop.example", "role": "owner"}]
    assert PASSWORD not in out
    keys = [k.decode() if isinstance(k, bytes) else k for k in redis.keys("*")]
    assert not [k for k in keys if "shop" in k.lower()]
    stored = redis.hgetall("lc:tenant:{default}:staff")
    (record,) = [json.loads(v) for v in stored.values()]
    assert record["hash"].startswith("$argon2id$")
    assert PASSWORD not in json.dumps(record)
    code, out, _ = run(
        ["staff", "remove", "--tenant", "default", "--email", "owner@shop.example"], "", capsys, monkeypatch
    )
    assert json.loads(out)["removed"] is True
    assert redis.hlen("lc:tenant:{default}:staff") == 0


def test_a_short_password_or_an_unknown_tenant_is_refused(
    environment: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add = ["staff", "add", "--tenant", "default", "--email", "a@shop.example"]
    code, _, err = run(add, "short\n", capsys, monkeypatch)
    assert code == 2
    assert "12 to 1024 characters" in err
    assert "short" not in err
    unknown = ["staff", "add", "--tenant", "nobody", "--email", "a@shop.example"]
    assert run(unknown, PASSWORD + "\n", capsys, monkeypatch)[0] == 2


async def test_the_console_builds_its_pii_engine_with_the_runtimes_one_constructor(
    environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console process's PII engine (staff replies given back into the minimized history) comes from
    `agent.engines.runtime.pii_guard`, the workers' constructor, with the console's settings (thread count,
    budget): a recording wrapper around the real constructor sees the one call while the real app serves."""
    built: list[Settings] = []
    real = runtime.pii_guard

    def recorded(settings: Settings) -> PiiGuard:
        built.append(settings)
        return real(settings)

    monkeypatch.setattr(runtime, "pii_guard", recorded)
    settings = Settings(_env_file=None, pii_threads=3, pii_budget_s=0.5)  # type: ignore[call-arg]
    async with (
        open_console(settings) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client,
    ):
        assert (await client.get("/login")).status_code == 200
    assert built == [settings]


def test_the_console_command_serves_the_login_a_staff_member_uses_and_stops_on_sigterm(
    environment: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leadclose console` as a real process over the composition root: the first owner, created with
    `staff add`, logs in through the form at `/login` and reaches `/inbox`; SIGTERM ends it without an error."""
    run(["staff", "remove", "--tenant", "default", "--email", EMAIL], "", capsys, monkeypatch)
    assert run([*ADD, "--role", "owner"], PASSWORD + "\n", capsys, monkeypatch)[0] == 0
    port = free_port()
    env = {**os.environ, "LEADCLOSE_CONSOLE_PORT": str(port), "LEADCLOSE_CONSOLE_SECURE_COOKIES": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "console"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:
            page = _when_up(client, process)
            assert 'name="email"' in page.text
            assert 'name="password"' in page.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            form = {"email": EMAIL, "password": PASSWORD, "csrf": csrf.group(1)}
            signed_in = client.post("/login", data=form)
            assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/inbox")
            assert client.get("/inbox").status_code == 200
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught (so the exit status says SIGTERM).
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert process.stderr is not None
        assert b"Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _when_up(
    client: httpx.Client, process: subprocess.Popen[bytes], within_s: float = 60.0
) -> httpx.Response:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            return client.get("/login")
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the console did not start listening")
