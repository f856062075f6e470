"""The operator's commands on stored data: `consent ACTION`, `tenant terminate`, `keys rotate`.

Each opens the process's services (agent/services.py) for the one command: the Redis clients they build
are closed when it ends, and no HTTP client is opened (none of these talks to anything but Redis).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.privacy.rights import Actor
from agent.privacy.subjects import rotate
from agent.services import Services
from agent.settings import RuntimeConfigError
from agent.tenants.consent import TERMINATION_GRACE_DAYS
from agent.tenants.registry import TenantError

if TYPE_CHECKING:
    from agent.privacy.assembly import Privacy
    from agent.settings import Settings

CONSENT_ACTIONS = ("status", "export", "erase", "restrict", "object")
OPERATOR = Actor("operator", "cli")


def _privacy_of(services: Services, tenant: str) -> Privacy:
    """The privacy parts for one command on `tenant`; refused before Redis is touched for a bad tenant."""
    settings = services.settings
    if settings.master_key is None:
        raise RuntimeConfigError("consent commands need LEADCLOSE_MASTER_KEY (it derives the subject key)")
    if tenant not in services.tenants.ids():
        raise TenantError(f"no tenant {tenant!r} under {settings.prompts_dir}")
    return services.privacy


async def consent_command(
    settings: Settings, action: str, tenant: str, user: str, *, out: Path | None = None, lift: bool = False
) -> dict[str, Any]:
    """`leadclose consent ACTION --tenant T --user ID`: one right exercised by the operator, audited."""
    async with Services.open(settings) as services:
        privacy = _privacy_of(services, tenant)
        rights = privacy.rights
        if action == "status":
            subject, known = await privacy.lookup(tenant, user)
            return await rights.status(subject, OPERATOR) | {"known": known}
        if action in ("restrict", "object"):
            subject = await privacy.enrol(tenant, user)
        else:
            subject = await privacy.person(tenant, user)  # raises UnknownPersonError: never a fake "erased"
        if action == "export":
            target = out or Path(f"export-{tenant}.zip")
            target.write_bytes(await rights.export(subject, OPERATOR))
            return {"subject": subject, "written": str(target)}
        if action == "erase":
            done = await rights.erase(subject, OPERATOR)
            return {"subject": subject, "erased": True, "keys_deleted": done.keys_deleted}
        if action == "restrict":
            return {"subject": subject, "changed": await rights.restrict(subject, OPERATOR, lift=lift)}
        if action == "object":
            return {"subject": subject, "changed": await rights.object(subject, OPERATOR, lift=lift)}
        raise ValueError(f"unknown consent action {action!r}")


async def terminate_tenant(settings: Settings, tenant: str) -> dict[str, Any]:
    """`leadclose tenant terminate --tenant T`: the account ended. Processing stops now (the guard denies
    everything); the worker's sweep deletes all of the tenant's data, keys included, after the grace period."""
    async with Services.open(settings) as services:
        privacy = _privacy_of(services, tenant)
        await privacy.retention.terminate(tenant)
        since = await privacy.consent.terminated_at(tenant)
        return {"tenant": tenant, "frozen_since": since, "deleted_after_days": TERMINATION_GRACE_DAYS}


async def rotate_command(settings: Settings) -> dict[str, Any]:
    """`leadclose keys rotate`: every data key under `LEADCLOSE_MASTER_KEY`; what is left on older versions.
    No tenant is loaded: the data keys are rewritten whatever the prompts folder holds."""
    if settings.master_key is None:
        raise RuntimeConfigError("keys rotate needs LEADCLOSE_MASTER_KEY (the new key)")
    async with Services.open(settings) as services:
        keyring = services.keyring
        done = await rotate(services.key_store or services.redis, keyring)
    return {
        "current_kid": keyring.current.kid,
        "known_kids": [v.kid for v in keyring.versions],
        **asdict(done),
    }
