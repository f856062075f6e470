"""Loads and validates a business's folder `prompts/<tenant>/` into the configuration a turn runs on."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.consent_config import ConsentConfig
from pipelines.pii import EntityType, RestorePolicy, RestoreScope
from pipelines.respond import PromptError, render_system_prompt
from pipelines.turn import FallbackTexts, TurnConfig

if TYPE_CHECKING:
    from pathlib import Path

TENANT_FILE = "tenant.yaml"


class TenantError(Exception):
    """A tenant folder that does not validate; names the file and the field, never secrets."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Business(_Strict):
    sells: str
    hours: str = ""
    website: str = ""
    published_numbers: tuple[str, ...] = ()

    @field_validator("published_numbers")
    @classmethod
    def _valid_numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for number in value:
            try:
                valid = phonenumbers.is_valid_number(phonenumbers.parse(number, "IN"))
            except phonenumbers.NumberParseException:
                valid = False
            if not valid:
                raise ValueError("a published number is not a valid phone number")
        return value


_FALLBACKS = FallbackTexts()


class Fallbacks(_Strict):
    not_understood: str = _FALLBACKS.not_understood
    audio_too_long: str = _FALLBACKS.audio_too_long
    audio_unreadable: str = _FALLBACKS.audio_unreadable
    unavailable: str = _FALLBACKS.unavailable


class Tenant(_Strict):
    id: str
    name: str
    phone_number_ids: tuple[str, ...] = Field(min_length=1)
    access_token_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    language: str = "en"
    business: Business
    tone: str = "friendly and brief"
    system_prompt: str = "system.j2"
    knowledge: str | None = None
    pii_restore: dict[str, RestoreScope] = Field(default_factory=lambda: {"default": RestoreScope.REPLY})
    fallbacks: Fallbacks = Fallbacks()
    consent: ConsentConfig = ConsentConfig()

    @field_validator("pii_restore")
    @classmethod
    def _known_types(cls, value: dict[str, RestoreScope]) -> dict[str, RestoreScope]:
        unknown = set(value) - {"default", *EntityType}
        if unknown:
            raise ValueError(f"unknown PII types {sorted(unknown)}; known: {sorted(EntityType)}")
        return value

    def restore_policy(self) -> RestorePolicy:
        scopes = {EntityType(k): v for k, v in self.pii_restore.items() if k != "default"}
        return RestorePolicy(scopes, self.pii_restore.get("default", RestoreScope.REPLY))


def load_tenant(folder: Path) -> Tenant:
    """Parse and validate `folder/tenant.yaml`; the folder name is the tenant id."""
    path = folder / TENANT_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TenantError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise TenantError(f"{path}:{where} not valid YAML") from None
    if not isinstance(raw, dict):
        raise TenantError(f"{path}: expected a mapping at the top level")
    try:
        return Tenant.model_validate({"id": folder.name, **raw})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise TenantError(f"{path}: {problems}") from None


def turn_config(tenant: Tenant, folder: Path) -> TurnConfig:
    """Render the tenant's system prompt with its knowledge file and profile."""
    template_path = folder / tenant.system_prompt
    knowledge = ""
    try:
        template = template_path.read_text(encoding="utf-8")
        if tenant.knowledge:
            knowledge = (folder / tenant.knowledge).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TenantError(f"{folder}: cannot read {exc.filename} ({exc.strerror})") from None
    context = tenant.model_dump(include={"name", "business", "tone", "language"}) | {"knowledge": knowledge}
    try:
        system_prompt = render_system_prompt(template, context)
    except PromptError as exc:
        raise TenantError(f"{template_path}: {exc}") from None
    return TurnConfig(
        system_prompt=system_prompt,
        restore_policy=tenant.restore_policy(),
        fallbacks=FallbackTexts(**tenant.fallbacks.model_dump()),
        public_values=frozenset(_e164(n) for n in tenant.business.published_numbers),
    )


def _e164(number: str) -> str:
    """Published numbers as the phone detector normalizes them, so they match by value in any layout."""
    try:
        parsed = phonenumbers.parse(number, "IN")
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class TenantRegistry:
    """Every tenant under the prompts directory, by id and by WhatsApp phone number id."""

    def __init__(self, tenants: dict[str, tuple[Tenant, TurnConfig]]) -> None:
        self._by_id = tenants
        self._by_number: dict[str, str] = {}
        for tenant_id, (tenant, _) in tenants.items():
            for number in tenant.phone_number_ids:
                if number in self._by_number:
                    raise TenantError(f"phone number id claimed by {self._by_number[number]} and {tenant_id}")
                self._by_number[number] = tenant_id

    @classmethod
    def load(cls, prompts_dir: Path) -> TenantRegistry:
        folders = sorted(p.parent for p in prompts_dir.glob(f"*/{TENANT_FILE}"))
        if not folders:
            raise TenantError(f"{prompts_dir}: no tenant folders (expected */{TENANT_FILE})")
        loaded = {}
        for folder in folders:
            tenant = load_tenant(folder)
            loaded[tenant.id] = (tenant, turn_config(tenant, folder))
        return cls(loaded)

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def by_number(self, phone_number_id: str) -> Tenant | None:
        tenant_id = self._by_number.get(phone_number_id)
        return self._by_id[tenant_id][0] if tenant_id else None

    def get(self, tenant_id: str) -> tuple[Tenant, TurnConfig]:
        return self._by_id[tenant_id]

    def access_token(self, tenant_id: str) -> str:
        """The tenant's Graph API token, read from the environment variable its tenant.yaml names."""
        name = self._by_id[tenant_id][0].access_token_env
        token = os.environ.get(name)
        if not token:
            raise TenantError(f"tenant {tenant_id}: environment variable {name} is not set")
        return token
