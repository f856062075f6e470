"""Tenant folders: the shipped example loads and renders; broken ones fail with a clear message."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import httpx
import pytest

from agent.http.app import create_app
from agent.messages.queue import ConversationQueue
from agent.metrics import Metrics
from agent.tenants.registry import Reload, TenantError, TenantRegistry, load_tenant, turn_config
from pipelines.automation import leaks_instructions
from pipelines.pii import EntityType, RestoreTarget
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


def test_default_tenant_renders_its_prompt_with_knowledge() -> None:
    tenant = load_tenant(DEFAULT)
    assert tenant.id == "default"
    assert tenant.phone_number_ids
    config = turn_config(tenant, DEFAULT)
    assert tenant.name in config.system_prompt
    assert "automated AI assistant" in config.system_prompt
    assert "Warranty: 25 years" in config.system_prompt
    assert "{{" not in config.system_prompt
    assert not config.restore_policy.allows(EntityType.CARD, RestoreTarget.REPLY)
    assert config.restore_policy.allows(EntityType.PHONE, RestoreTarget.REPLY)
    assert config.restore_policy.allows(EntityType.IBAN, RestoreTarget.TOOL)
    assert not config.restore_policy.allows(EntityType.IBAN, RestoreTarget.REPLY)


@pytest.fixture
def tenant_dir(tmp_path: Path) -> Path:
    return copy_tenant(DEFAULT, tmp_path / "acme")


def test_yaml_error_names_the_line(tenant_dir: Path) -> None:
    path = tenant_dir / "tenant.yaml"
    path.write_text(path.read_text() + "\nbroken: [unclosed\n")
    with pytest.raises(TenantError, match=r"tenant.yaml: line \d+ not valid YAML"):
        load_tenant(tenant_dir)


def test_schema_error_names_the_field(tenant_dir: Path) -> None:
    path = tenant_dir / "tenant.yaml"
    path.write_text(path.read_text().replace("  CARD: never", "  CARDS: never"))
    with pytest.raises(TenantError, match=r"pii_restore: .*unknown PII types"):
        load_tenant(tenant_dir)


def test_template_with_an_undefined_name_fails_to_load(tenant_dir: Path) -> None:
    (tenant_dir / "system.j2").write_text("You work for {{ nmae }}.")
    with pytest.raises(TenantError, match=r"system\.j2: system template: UndefinedError"):
        turn_config(load_tenant(tenant_dir), tenant_dir)


def test_template_cannot_reach_python_internals(tenant_dir: Path) -> None:
    (tenant_dir / "system.j2").write_text("{{ name.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TenantError, match="SecurityError"):
        turn_config(load_tenant(tenant_dir), tenant_dir)


SHIPPED = sorted(p.parent for p in (ROOT / "prompts").glob("*/tenant.yaml"))


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_tenant_loads_and_renders(folder: Path) -> None:
    tenant = load_tenant(folder)
    config = turn_config(tenant, folder)
    assert "{{" not in config.system_prompt
    assert config.instructions
    assert tenant.name not in config.instructions  # the public profile is blanked from the guarded text
    if tenant.knowledge:
        first_fact = (folder / tenant.knowledge).read_text().splitlines()[0].lstrip("- ")
        assert first_fact in config.system_prompt


def test_example_tenants_show_automation() -> None:
    realty = load_tenant(ROOT / "prompts" / "gharkhoj-realty")
    clinic = load_tenant(ROOT / "prompts" / "sunrise-clinic")
    assert realty.automation.enabled
    assert realty.automation.booking is not None
    assert realty.automation.booking.tool == "schedule_callback"
    assert [t.name for t in realty.automation.tools] == ["search_listings"]
    assert "hi" in realty.languages
    assert realty.replies.audio == "voice_and_text"
    assert clinic.automation.booking is not None
    assert clinic.automation.booking.tool == "book_appointment"
    config = turn_config(realty, ROOT / "prompts" / "gharkhoj-realty")
    assert "en, hi" in config.system_prompt
    assert config.max_tool_steps == realty.automation.max_steps
    # Introducing itself with its persona and profile is no leak; repeating its instructions is.
    intro = f"Hi, I'm {realty.persona} for {realty.name}. {realty.name} offers {realty.business.sells}."
    assert not leaks_instructions(intro, config.instructions)
    assert leaks_instructions(config.instructions.splitlines()[-3], config.instructions)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_nested_error_names_the_yaml_line(tmp_path: Path) -> None:
    folder = tmp_path / "gharkhoj-realty"
    shutil.copytree(ROOT / "prompts" / "gharkhoj-realty", folder)
    path = folder / "tenant.yaml"
    text = path.read_text().replace(
        "https://api.gharkhoj-realty.example/listings", "http://api.gharkhoj-realty.example/listings"
    )
    path.write_text(text)
    line = _line_of(text, "http://api.gharkhoj-realty.example/listings")
    with pytest.raises(
        TenantError, match=rf"tenant.yaml: line {line}: automation\.tools\.0\.url: .*plain http"
    ):
        load_tenant(folder)


def test_errors_never_echo_values(tenant_dir: Path) -> None:
    path = tenant_dir / "tenant.yaml"
    secret = "EAAG-super-secret-token-value"
    text = path.read_text().replace(
        "access_token_env: LEADCLOSE_TENANT_ACME__ACCESS_TOKEN",
        f"access_token_env: {secret}\naccess_token: {secret}",
    )
    path.write_text(text)
    with pytest.raises(TenantError) as err:
        load_tenant(tenant_dir)
    message = str(err.value)
    assert secret not in message
    assert (
        f"line {_line_of(text, 'access_token_env:')}: access_token_env: String should match pattern"
        in message
    )
    assert f"line {_line_of(text, 'access_token:')}: access_token: Extra inputs are not permitted" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("bhk: {type: integer", "bhk: {type: intgr"),
            r"automation\.tools\.0\.parameters: .*not a valid JSON Schema",
        ),
        (
            ("timezone: Asia/Kolkata", "timezone: Mars/Olympus"),
            r"automation\.booking\.timezone: .*unknown time zone",
        ),
        (('sun: "11:00-17:00"', 'sun: "17:00-11:00"'), r"automation\.booking\.hours: .*before closing"),
        (
            ("  secret_env: LEADCLOSE_TENANT_GHARKHOJ_REALTY__WEBHOOK_SECRET\n", ""),
            r"automation: .*secret_env is required",
        ),
        (("    - name: search_listings", "    - name: capture_lead"), r"built-in tool"),
    ],
)
def test_automation_section_errors(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    folder = tmp_path / "gharkhoj-realty"
    shutil.copytree(ROOT / "prompts" / "gharkhoj-realty", folder)
    path = folder / "tenant.yaml"
    old, new = change
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(TenantError, match=expected):
        load_tenant(folder)


def test_registry_refresh_applies_valid_changes_and_keeps_the_old_config_on_invalid_ones(
    tmp_path: Path,
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT, prompts / "default")
    registry = TenantRegistry.load(prompts)
    assert registry.refresh() == []  # nothing changed
    path = prompts / "default" / "tenant.yaml"
    good = path.read_text()

    path.write_text(good.replace("tone: warm", "tone: cheerful"))
    assert registry.refresh() == [Reload("default", applied=True)]
    assert "cheerful" in registry.get("default").turn.system_prompt

    path.write_text(good.replace("business:", "busines:"))
    (change,) = registry.refresh()
    assert not change.applied
    assert "busines: Extra inputs" in change.error
    assert "cheerful" in registry.get("default").turn.system_prompt  # still the last valid version
    assert registry.refresh() == []  # the broken version is reported once

    copy_tenant(DEFAULT, prompts / "copycat")  # claims the same phone number id
    path.write_text(good)
    changes = {c.tenant: c for c in registry.refresh()}
    assert changes["default"].applied
    assert not changes["copycat"].applied
    assert "phone number id claimed" in changes["copycat"].error
    assert registry.ids() == ["default"]
    assert registry.by_number("100000000000001") is not None


async def test_the_webhook_app_routes_a_tenant_added_while_it_runs(
    tmp_path: Path, redis: Redis, redis_server: RedisServer
) -> None:
    """The real app with its lifespan (hot reload on) and a real redis-server."""
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT, prompts / "default")
    app = create_app(stack_settings(redis_server.url, prompts, prompts_reload_s=0.05), metrics=Metrics())
    queue = ConversationQueue(redis)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress") as http,
    ):

        async def post(mid: str) -> None:
            body = wh.payload(
                messages=[wh.text("919876543210", mid, "hi")], phone_number_id="100000000000003"
            )
            assert (
                await http.post("/webhooks/whatsapp", content=body, headers=wh.headers(body))
            ).status_code == 200

        await post("wamid.before")
        assert (await queue.backlog()).pending_messages == 0  # nobody has that number yet: ignored
        shutil.copytree(ROOT / "prompts" / "sunrise-clinic", prompts / "sunrise-clinic")

        async def both_tenants() -> bool:
            return bool((await http.get("/readyz")).json()["tenants"] == 2)

        await eventually(both_tenants)
        await post("wamid.after")
        assert (await queue.backlog()).pending_messages == 1
