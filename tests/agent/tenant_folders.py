"""Tenant folders for tests: a shipped example copied under another name, its variables renamed with it
(a tenant may only name variables under its own prefix, `LEADCLOSE_TENANT_<ID>__`)."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from agent.tenants.files import env_prefix

if TYPE_CHECKING:
    from pathlib import Path


def copy_tenant(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    config = dest / "tenant.yaml"
    config.write_text(config.read_text().replace(env_prefix(source.name), env_prefix(dest.name)))
    return dest
