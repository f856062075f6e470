"""Tenant folders: the shipped example loads and renders; broken ones fail with a clear message."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from agent.tenants import TenantError, load_tenant, turn_config
from pipelines.pii import EntityType, RestoreTarget
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

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
    folder = tmp_path / "acme"
    shutil.copytree(DEFAULT, folder)
    return folder


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
