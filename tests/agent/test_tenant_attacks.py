"""A tenant folder written by an attacker: each attack of issue 12 is refused with an error that names the
file, the key and (where it can) the line, never a secret's value; at hot reload the refused version is
reported and the previous one keeps serving."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from structlog.testing import capture_logs

from agent.egress import EgressPolicy
from agent.http.app import create_app
from agent.messages.queue import ConversationQueue
from agent.metrics import Metrics
from agent.tenants.files import MAX_KNOWLEDGE_BYTES, MAX_TENANT_YAML_BYTES, env_name_problem, env_prefix
from agent.tenants.registry import TenantError, TenantRegistry, load_tenant, turn_config
from tests.agent.stack import eventually
from tests.agent.stack import settings as stack_settings
from tests.agent.tenant_folders import copy_tenant
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from redis.asyncio import Redis

    from tests.redis_server import RedisServer

DEFAULT = ROOT / "prompts" / "default"
REALTY = ROOT / "prompts" / "gharkhoj-realty"
MASTER_VALUE = "master-key-value-that-must-never-show"


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _edit(folder: Path, old: str, new: str) -> str:
    path = folder / "tenant.yaml"
    text = path.read_text()
    assert old in text
    text = text.replace(old, new)
    path.write_text(text)
    return text


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """`acme` (the shipped default under another name) as the victim."""
    root = tmp_path / "prompts"
    copy_tenant(DEFAULT, root / "acme")
    return root


def test_a_folder_cannot_claim_another_tenants_id(prompts: Path) -> None:
    evil = copy_tenant(DEFAULT, prompts / "evil")
    text = _edit(evil, "name: Suryoday Solar", "id: acme\nname: Suryoday Solar")
    _edit(evil, '"100000000000001"', '"100000000000066"')
    with pytest.raises(TenantError) as err:
        load_tenant(evil)
    assert str(err.value) == (
        f"{evil / 'tenant.yaml'}: line {_line(text, 'id: acme')}: id: not allowed: the tenant id is the folder name"
    )
    with pytest.raises(TenantError, match=r"evil/tenant\.yaml: line"):
        TenantRegistry.load(prompts)  # at startup: the process does not start with it


@pytest.mark.parametrize("name", ["Evil_Corp", "-dash", "a", "x" * 64, "dot.ted"])
def test_the_folder_name_must_be_a_tenant_id(tmp_path: Path, name: str) -> None:
    folder = copy_tenant(DEFAULT, tmp_path / name)
    with pytest.raises(TenantError, match="the folder name is the tenant id"):
        load_tenant(folder)


@pytest.mark.parametrize(
    ("knowledge", "reason"),
    [
        ("/proc/self/environ", "must be a file name inside the tenant folder"),
        ("../../x", "must be a file name inside the tenant folder"),
        ("sub/../../acme/knowledge.md", "must be a file name inside the tenant folder"),
        ("missing.md", "does not exist in the tenant folder"),
    ],
)
def test_knowledge_cannot_name_a_file_outside_the_folder(prompts: Path, knowledge: str, reason: str) -> None:
    folder = prompts / "acme"
    _edit(folder, "knowledge: knowledge.md", f"knowledge: {knowledge}")
    tenant = load_tenant(folder)
    with pytest.raises(TenantError, match=f"tenant.yaml: knowledge: '{knowledge}' {reason}"):
        turn_config(tenant, folder)


def test_a_symlink_out_of_the_folder_is_refused_after_resolving(prompts: Path, tmp_path: Path) -> None:
    os.environ["LEADCLOSE_MASTER_KEY_PROBE"] = MASTER_VALUE
    outside = tmp_path / "secrets.txt"
    outside.write_text(MASTER_VALUE)
    folder = prompts / "acme"
    (folder / "knowledge.md").unlink()
    (folder / "knowledge.md").symlink_to(outside)
    (folder / "environ.md").symlink_to("/proc/self/environ")
    tenant = load_tenant(folder)
    with pytest.raises(
        TenantError, match=r"knowledge: 'knowledge\.md' resolves outside the tenant folder"
    ) as err:
        turn_config(tenant, folder)
    assert MASTER_VALUE not in str(err.value)
    _edit(folder, "knowledge: knowledge.md", "knowledge: environ.md")
    with pytest.raises(TenantError, match="resolves outside the tenant folder"):
        turn_config(load_tenant(folder), folder)
    del os.environ["LEADCLOSE_MASTER_KEY_PROBE"]


def test_a_fifo_does_not_hang_the_loader(prompts: Path) -> None:
    folder = prompts / "acme"
    (folder / "knowledge.md").unlink()
    os.mkfifo(folder / "knowledge.md")
    started = time.monotonic()
    with pytest.raises(TenantError, match="is not a regular file"):
        turn_config(load_tenant(folder), folder)
    with pytest.raises(TenantError, match="is not a regular file"):
        TenantRegistry.load(prompts)  # the folder's stamp does not read it either
    assert time.monotonic() - started < 2.0


def test_size_caps(prompts: Path) -> None:
    folder = prompts / "acme"
    (folder / "knowledge.md").write_text("x" * (MAX_KNOWLEDGE_BYTES + 1))
    with pytest.raises(TenantError, match=r"knowledge: 'knowledge.md' is larger than 128 KiB"):
        turn_config(load_tenant(folder), folder)
    path = folder / "tenant.yaml"
    path.write_text(path.read_text() + "#" * MAX_TENANT_YAML_BYTES)
    with pytest.raises(TenantError, match=r"tenant.yaml: is larger than 64 KiB"):
        load_tenant(folder)


def test_yaml_aliases_cannot_expand(prompts: Path) -> None:
    """Billion laughs: nine levels of ten aliases, 10⁹ values once expanded; refused in milliseconds."""
    levels = ['a0: &a0 ["lol"]'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = prompts / "acme" / "tenant.yaml"
    path.write_text(path.read_text() + "\nlaughs:\n" + "\n".join("  " + line for line in levels) + "\n")
    started = time.monotonic()
    with pytest.raises(
        TenantError,
        match=r"tenant\.yaml: is not valid YAML: more than 20000 values once aliases are expanded",
    ):
        load_tenant(prompts / "acme")
    assert time.monotonic() - started < 2.0
    path.write_text("a: &a [*a]\n")
    with pytest.raises(TenantError, match="an alias refers to a node that contains it"):
        load_tenant(prompts / "acme")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "access_token_env: LEADCLOSE_TENANT_ACME__ACCESS_TOKEN",
            "access_token_env: LEADCLOSE_MASTER_KEY",
            "access_token_env",
        ),
        (
            "admin_token_env: LEADCLOSE_TENANT_ACME__ADMIN_TOKEN",
            "admin_token_env: LEADCLOSE_ADMIN_TOKEN",
            "consent.admin_token_env",
        ),
        (  # another tenant's token
            "access_token_env: LEADCLOSE_TENANT_ACME__ACCESS_TOKEN",
            "access_token_env: LEADCLOSE_TENANT_DEFAULT__ACCESS_TOKEN",
            "access_token_env",
        ),
        (  # the prefix of `acme-corp`, which starts like acme's
            "access_token_env: LEADCLOSE_TENANT_ACME__ACCESS_TOKEN",
            "access_token_env: LEADCLOSE_TENANT_ACME_CORP__ACCESS_TOKEN",
            "access_token_env",
        ),
    ],
)
def test_a_tenant_names_only_its_own_variables(
    prompts: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, key: str
) -> None:
    monkeypatch.setenv("LEADCLOSE_MASTER_KEY", MASTER_VALUE)
    monkeypatch.setenv("LEADCLOSE_ADMIN_TOKEN", MASTER_VALUE)
    text = _edit(prompts / "acme", old, new)
    with pytest.raises(TenantError) as err:
        load_tenant(prompts / "acme")
    message = str(err.value)
    assert (
        f"tenant.yaml: line {_line(text, new)}: {key}: must be an environment variable of this tenant"
        in message
    )
    assert "LEADCLOSE_TENANT_ACME__<NAME>" in message
    assert MASTER_VALUE not in message


def test_a_webhook_secret_of_another_tenant_is_refused(tmp_path: Path) -> None:
    folder = copy_tenant(REALTY, tmp_path / "gharkhoj-realty")
    text = _edit(
        folder,
        "secret_env: LEADCLOSE_TENANT_GHARKHOJ_REALTY__WEBHOOK_SECRET",
        "secret_env: LEADCLOSE_TENANT_SUNRISE_CLINIC__WEBHOOK_SECRET",
    )
    with pytest.raises(
        TenantError, match=rf"line {_line(text, 'secret_env:')}: automation.secret_env: must be"
    ):
        load_tenant(folder)


def test_variable_prefixes_cannot_overlap() -> None:
    assert env_prefix("gharkhoj-realty") == "LEADCLOSE_TENANT_GHARKHOJ_REALTY__"
    assert env_name_problem("ab", "LEADCLOSE_TENANT_AB__TOKEN") is None
    assert env_name_problem("ab", "LEADCLOSE_TENANT_AB__X__TOKEN") is not None  # `ab--x`'s
    assert env_name_problem("ab--x", "LEADCLOSE_TENANT_AB__X__TOKEN") is None
    assert env_name_problem("ab", "LEADCLOSE_TENANT_AB___TOKEN") is not None  # `ab-`'s
    assert env_name_problem("ab", "LEADCLOSE_TENANT_AB__") is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:6379",
        "http://[::1]:8080/admin/",
        "http://localhost:9100/metrics",
        "https://[::1]:8080/admin/",
        "https://localhost:9100/metrics",
    ],
)
def test_tool_urls_to_internal_addresses_are_refused_at_load(tmp_path: Path, url: str) -> None:
    folder = copy_tenant(REALTY, tmp_path / "gharkhoj-realty")
    text = _edit(folder, "https://api.gharkhoj-realty.example/listings", url)
    with pytest.raises(TenantError, match=rf"line {_line(text, url)}: automation\.tools\.0\.url: "):
        load_tenant(folder)


def test_ops_can_open_a_network_for_a_tenants_sidecar(tmp_path: Path) -> None:
    folder = copy_tenant(REALTY, tmp_path / "gharkhoj-realty")
    _edit(folder, "https://api.gharkhoj-realty.example/listings", "http://10.20.0.5:8080/listings")
    with pytest.raises(TenantError, match="must use https"):
        load_tenant(folder)
    tenant = load_tenant(folder, egress=EgressPolicy.from_setting("10.20.0.0/16"))
    assert tenant.automation.tools[0].url == "http://10.20.0.5:8080/listings"


def test_a_template_that_loops_too_long_is_refused_at_load(prompts: Path) -> None:
    folder = prompts / "acme"
    (folder / "system.j2").write_text(
        "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(TenantError, match=r"system\.j2: system template: SecurityError: loops run more"):
        turn_config(load_tenant(folder), folder)


def test_the_webhook_url_is_checked_like_a_tool(tmp_path: Path) -> None:
    folder = copy_tenant(REALTY, tmp_path / "gharkhoj-realty")
    _edit(folder, "https://crm.gharkhoj-realty.example/hooks/leadclose", "https://169.254.169.254/hook")
    with pytest.raises(
        TenantError, match=r"automation\.webhook\.url: Value error, points to a cloud metadata"
    ):
        load_tenant(folder)


ATTACKS = [
    ("name: Suryoday Solar", "id: default\nname: Suryoday Solar"),
    ("knowledge: knowledge.md", "knowledge: /proc/self/environ"),
    ("access_token_env: LEADCLOSE_TENANT_ACME__ACCESS_TOKEN", "access_token_env: LEADCLOSE_MASTER_KEY"),
    ("tone: warm", "tone: warm\nlaughs: &a [*a]"),
]


@pytest.mark.parametrize(("old", "new"), ATTACKS, ids=["id", "knowledge", "env", "alias"])
def test_a_refused_hot_reload_keeps_the_previous_version_serving(prompts: Path, old: str, new: str) -> None:
    registry = TenantRegistry.load(prompts)
    before = registry.get("acme")
    _edit(prompts / "acme", old, new)
    (change,) = registry.refresh()
    assert not change.applied
    assert change.tenant == "acme"
    assert "tenant.yaml" in change.error
    assert registry.get("acme") is before  # the last valid version, unchanged
    assert registry.by_number("100000000000001") is before.config
    assert registry.ids() == ["acme"]


def test_a_template_loop_at_hot_reload_keeps_the_previous_version(prompts: Path) -> None:
    registry = TenantRegistry.load(prompts)
    before = registry.get("acme")
    (prompts / "acme" / "system.j2").write_text(
        "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}"
    )
    (change,) = registry.refresh()
    assert not change.applied
    assert "loops run more" in change.error
    assert registry.get("acme") is before


async def test_the_running_app_keeps_serving_a_tenant_whose_new_version_is_refused(
    tmp_path: Path, redis: Redis, redis_server: RedisServer
) -> None:
    """The real app with hot reload on, a real redis-server: the default tenant's folder is rewritten to take
    over `acme` (`id:`) and read the process environment; the reload is refused (logged with file, line and
    key) and the default tenant's number is still routed to it."""
    prompts = tmp_path / "prompts"
    copy_tenant(DEFAULT, prompts / "default")
    app = create_app(stack_settings(redis_server.url, prompts, prompts_reload_s=0.05), metrics=Metrics())
    queue = ConversationQueue(redis)
    with capture_logs() as logs:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress") as http,
        ):
            text = _edit(
                prompts / "default", "knowledge: knowledge.md", "knowledge: /proc/self/environ\nid: acme"
            )

            def refused() -> bool:
                return any(e["event"] == "tenants.reload_rejected" for e in logs)

            await eventually(refused)
            (event,) = [e for e in logs if e["event"] == "tenants.reload_rejected"]
            assert event["tenant"] == "default"
            assert f"line {_line(text, 'id: acme')}: id: not allowed" in event["error"]
            body = wh.payload(
                messages=[wh.text("919876543210", "wamid.after", "hi")], phone_number_id=wh.PHONE_NUMBER_ID
            )
            assert (
                await http.post("/webhooks/whatsapp", content=body, headers=wh.headers(body))
            ).status_code == 200
            assert (await queue.backlog()).pending_messages == 1  # routed to the previous version
            assert (await http.get("/readyz")).json()["tenants"] == 1
