"""`leadclose staff add|list|remove` on a real redis-server: the password comes from standard input (argv has
no place for it), is stored as an Argon2id hash, and the e-mail appears in no key name."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest
from redis import Redis

from agent.cli.main import main
from tests.agent.stack import MASTER
from tests.conftest import ROOT

if TYPE_CHECKING:
    from tests.conftest import RedisBackend

PASSWORD = "a long enough passphrase"


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
