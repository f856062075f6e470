"""`leadclose consent …` on a real redis-server: the operator exercises a person's rights, each audited."""

from __future__ import annotations

import json
import zipfile
from typing import TYPE_CHECKING

import pytest
import redis as sync_redis

from agent.cli.main import main
from agent.storage.keys import DEFAULT_SHARDS, conversation_key, epoch_key, tenant_key
from tests.agent.stack import MASTER
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from tests.redis_server import RedisServer

ALICE = "919876543210"


@pytest.fixture
def env(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> sync_redis.Redis:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("LEADCLOSE_REDIS_URL", redis_server.url)
    monkeypatch.setenv("LEADCLOSE_PROMPTS_DIR", str(ROOT / "prompts"))
    monkeypatch.setenv("LEADCLOSE_MASTER_KEY", MASTER)
    client = sync_redis.Redis(port=redis_server.port, socket_timeout=5)
    client.flushdb()
    return client


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["consent", *args, "--tenant", "default", "--user", ALICE]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_restrict_status_export_erase_from_the_command_line(
    env: sync_redis.Redis, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _run(capsys, "restrict")["changed"] is True
    assert _run(capsys, "restrict")["changed"] is False
    status = _run(capsys, "status")
    assert status["overlays"] == ["restricted"]
    assert status["allowed"] == []
    out = tmp_path / "alice.zip"
    assert main(["consent", "export", "--tenant", "default", "--user", ALICE, "--out", str(out)]) == 0
    capsys.readouterr()
    names = set(zipfile.ZipFile(out).namelist())
    assert names == {
        "manifest.json", "consents.json", "conversations.jsonl", "leads.json", "profile.json",
        "processing_summary.json",
    }  # fmt: skip
    assert _run(capsys, "erase")["erased"] is True
    assert _run(capsys, "status")["suppressed"] is True
    actions = [json.loads(f[b"body"])["action"] for _, f in env.xrange(tenant_key("default", "audit"))]
    assert actions == ["restrict", "restrict", "status", "export", "erase", "status"]
    assert ALICE not in str(env.xrange(tenant_key("default", "audit")))


def test_an_unknown_tenant_is_a_clear_error(
    env: sync_redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consent", "status", "--tenant", "nobody", "--user", ALICE]) == 2
    assert "no tenant 'nobody'" in capsys.readouterr().err


def test_without_a_master_key_nothing_is_looked_up(
    env: sync_redis.Redis, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADCLOSE_MASTER_KEY")
    assert main(["consent", "status", "--tenant", "default", "--user", ALICE]) == 2
    assert "LEADCLOSE_MASTER_KEY" in capsys.readouterr().err
    assert env.dbsize() == 0


def test_terminating_a_tenant_freezes_it_at_once(
    env: sync_redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "object")  # Alice is known (an objection may come before her first message)
    assert main(["tenant", "terminate", "--tenant", "default"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["deleted_after_days"] == 90
    assert float(env.get(tenant_key("default", "terminated")) or 0) == result["frozen_since"]
    status = _run(capsys, "status")
    assert status["allowed"] == []
    assert status["decisions"]["reply"] == "tenant_frozen"


@pytest.mark.parametrize("action", ["export", "erase"])
def test_a_person_known_under_neither_id_is_said_so_never_a_fake_erasure(
    env: sync_redis.Redis, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    for user in (ALICE, "US.13491208655302741918"):
        assert main(["consent", action, "--tenant", "default", "--user", user]) == 3
        captured = capsys.readouterr()
        assert "no person known under this number or BSUID" in captured.err
        assert captured.out == ""
        assert user not in captured.err
    assert env.dbsize() == 0  # nothing looked up was recorded, and no audit entry claims an erasure


def test_status_says_whether_the_person_is_known(
    env: sync_redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "status")["known"] is False
    _run(capsys, "object")
    assert _run(capsys, "status")["known"] is True


def test_a_restriction_while_the_persons_erasure_runs_is_refused_with_a_clear_error(
    env: sync_redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    subject = str(_run(capsys, "status")["subject"])
    env.set(epoch_key(subject, DEFAULT_SHARDS), 1)  # an erasure of the person runs (odd epoch)
    assert main(["consent", "restrict", "--tenant", "default", "--user", ALICE]) == 3
    assert capsys.readouterr().err == "leadclose: an erasure of this person is pending or running\n"
    assert not env.exists(conversation_key(subject, "consent", DEFAULT_SHARDS))
