"""Loads and validates a business's folder `prompts/<tenant>/` into the configuration a turn runs on.

The folder is untrusted input (see `agent/tenants/files.py` and docs/security.md): its name is the tenant
id, the files it names stay inside it, the variables it names carry its own prefix, and its endpoints are
checked against the deployment's egress policy.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING, Annotated

import phonenumbers
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.egress import EgressPolicy
from agent.tenants.automation import AutomationConfig, Replies, Voice, VoiceConfig
from agent.tenants.consent import ConsentConfig
from agent.tenants.files import (
    MAX_KNOWLEDGE_BYTES,
    MAX_TEMPLATE_BYTES,
    MAX_TENANT_YAML_BYTES,
    TENANT_ID,
    TenantFileError,
    check_tenant_id,
    env_name_problem,
    folder_stamp,
    load_yaml,
    read_inside,
)
from agent.tenants.texts import FallbacksConfig, Language, TextsSection, tenant_catalogue
from agent.tenants.yaml_lines import line_of, yaml_error
from pipelines.pii import EntityType, RestorePolicy, RestoreScope
from pipelines.prompt import PromptError, render_system_prompt
from pipelines.stt_routing import EngineSpec
from pipelines.turn import TurnConfig

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipelines.texts import CallTexts, Catalogue

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


def _engine_name(value: str) -> str:
    return str(EngineSpec.parse(value))


SpeechEngineName = Annotated[str, AfterValidator(_engine_name)]


class ApprovedTemplate(_Strict):
    """A WhatsApp message template Meta approved for this business (without parameters)."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field("en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")


class StaffInbox(_Strict):
    """The staff console (agent/console): a handoff nobody takes within `follow_up_after_min` minutes gets
    `follow_up` once (0: never); `{business}` becomes the tenant's name. `templates`: what staff may send
    once the 24-hour window has closed."""

    follow_up_after_min: int = Field(15, ge=0, le=7 * 24 * 60)
    follow_up: str = Field(
        "Thanks for waiting. Someone from {business} will get back to you as soon as they can.",
        min_length=1,
        max_length=1024,
    )
    templates: tuple[ApprovedTemplate, ...] = ()


class Tenant(_Strict):
    id: str = Field(pattern=TENANT_ID.pattern)  # the folder's name, never a key of the file
    name: str
    phone_number_ids: tuple[str, ...] = Field(min_length=1)
    access_token_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    language: str = "en"  # the default reply language
    languages: tuple[str, ...] = ()  # also answered in, when the person writes in one of them
    business: Business
    tone: str = "friendly and brief"
    persona: str = ""
    system_prompt: str = "system.j2"
    knowledge: str | None = None
    pii_restore: dict[str, RestoreScope] = Field(default_factory=lambda: {"default": RestoreScope.REPLY})
    fallbacks: FallbacksConfig = FallbacksConfig()  # older home of `texts.<language>`'s fallbacks
    replies: Replies = Replies()
    voice: VoiceConfig = Voice()
    # Speech recognition per language over the deployment's (LEADCLOSE_STT_LANGUAGES): {hi: hosted:whisper-1}
    speech: dict[Language, SpeechEngineName] = Field(default_factory=dict)
    automation: AutomationConfig = AutomationConfig()
    consent: ConsentConfig = ConsentConfig()
    inbox: StaffInbox = StaffInbox()
    texts: TextsSection = Field(default_factory=dict)  # language → the customer-facing texts it overrides

    @cached_property
    def catalogue(self) -> Catalogue:
        """Every customer-facing text of this business, by language (built-in ones under its own)."""
        consent = self.consent
        return tenant_catalogue(
            self.language,
            self.languages,
            self.texts,
            fallbacks=self.fallbacks.model_dump(exclude_none=True),
            disclosure=consent.disclosure,
            confirmations=consent.confirmations,
            call_texts=consent.call_texts,
        )

    @cached_property
    def consent_version(self) -> str:
        """A short hash of the consent section and every text it puts in front of a person: the ledger
        records which configuration a decision was made under, so a change to any of them changes it."""
        said = {
            lang: {"disclosure": t.disclosure, "confirmations": t.confirmations, "call": _fields_of(t.call)}
            for lang, t in self.catalogue.texts.items()
        }
        dumped = json.dumps(
            {"consent": self.consent.model_dump(mode="json"), "texts": said},
            sort_keys=True,
            ensure_ascii=False,
            default=dict,
        )
        return hashlib.sha256(dumped.encode()).hexdigest()[:16]

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


def _fields_of(texts: CallTexts) -> dict[str, object]:
    """Call texts as a plain mapping (their confirmations included) for hashing."""
    return {f.name: getattr(texts, f.name) for f in fields(texts)}


def load_tenant(folder: Path, *, egress: EgressPolicy | None = None) -> Tenant:
    """Parse and validate `folder/tenant.yaml`; the folder name is the tenant id. `egress` decides which
    endpoint URLs are accepted (default: public https only)."""
    path = folder / TENANT_FILE
    try:
        check_tenant_id(folder.name)
        text = read_inside(folder, TENANT_FILE, max_bytes=MAX_TENANT_YAML_BYTES)
        raw = load_yaml(text)
    except TenantFileError as exc:
        raise TenantError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise TenantError(f"{path}: {yaml_error(exc)}") from None
    if not isinstance(raw, dict):
        raise TenantError(f"{path}: expected a mapping at the top level")
    if "id" in raw:  # a file claiming another tenant's id would take over its number, tools and data
        raise TenantError(
            f"{path}: {_problem(text, ('id',), 'not allowed: the tenant id is the folder name')}"
        )
    try:
        tenant = Tenant.model_validate(
            raw | {"id": folder.name}, context={"egress": egress or EgressPolicy()}
        )
    except ValidationError as exc:
        problems = "; ".join(_problem(text, e["loc"], e["msg"]) for e in exc.errors())
        raise TenantError(f"{path}: {problems}") from None
    foreign = [
        _problem(text, loc, why)
        for loc, name in env_fields(tenant)
        if (why := env_name_problem(tenant.id, name)) is not None
    ]
    if foreign:
        raise TenantError(f"{path}: " + "; ".join(foreign))
    return tenant


def env_fields(
    model: BaseModel, loc: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every `*_env` field that names a variable, with its location, in any section (present or future)."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        here = (*loc, name)
        if name.endswith("_env") and isinstance(value, str):
            yield here, value
        elif isinstance(value, BaseModel):
            yield from env_fields(value, here)
        elif isinstance(value, tuple | list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from env_fields(item, (*here, i))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from env_fields(item, (*here, str(key)))


def _problem(text: str, loc: tuple[str | int, ...], msg: str) -> str:
    """`line N: field.path: message` — the message never includes the value (`hide_input_in_errors`)."""
    line = line_of(text, loc)
    return (f"line {line}: " if line else "") + f"{'.'.join(str(p) for p in loc)}: {msg}"


def turn_config(tenant: Tenant, folder: Path) -> TurnConfig:
    """Render the tenant's system prompt with its knowledge file and profile."""
    template_path = folder / tenant.system_prompt
    knowledge = ""
    try:
        template = _read_named(folder, "system_prompt", tenant.system_prompt, MAX_TEMPLATE_BYTES)
        if tenant.knowledge:
            knowledge = _read_named(folder, "knowledge", tenant.knowledge, MAX_KNOWLEDGE_BYTES).strip()
    except TenantFileError as exc:
        raise TenantError(f"{folder / TENANT_FILE}: {exc}") from None
    context = tenant.model_dump(include={"name", "business", "tone", "persona", "language", "languages"}) | {
        "knowledge": knowledge
    }
    # The instructions alone (public profile, persona and knowledge blanked): what a reply must never repeat.
    public = {"name": "", "persona": "", "knowledge": "", "business": dict.fromkeys(context["business"], "")}
    try:
        system_prompt = render_system_prompt(template, context)
        instructions = render_system_prompt(template, context | public)
    except PromptError as exc:
        raise TenantError(f"{template_path}: {exc}") from None
    return TurnConfig(
        system_prompt=system_prompt,
        instructions=instructions,
        max_tool_steps=tenant.automation.max_steps,
        restore_policy=tenant.restore_policy(),
        texts=tenant.catalogue,
        public_values=frozenset(_e164(n) for n in tenant.business.published_numbers),
        language=tenant.language,
        languages=tenant.languages,
    )


def _read_named(folder: Path, key: str, name: str, max_bytes: int) -> str:
    try:
        return read_inside(folder, name, max_bytes=max_bytes)
    except TenantFileError as exc:
        raise TenantFileError(f"{key}: {name!r} {exc}") from None


def _e164(number: str) -> str:
    """Published numbers as the phone detector normalizes them, so they match by value in any layout."""
    try:
        parsed = phonenumbers.parse(number, "IN")
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True, slots=True)
class Reload:
    """A tenant folder that changed on disk: applied, or rejected (the old config keeps serving)."""

    tenant: str
    applied: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class LoadedTenant:
    """One tenant as loaded from its folder: what its tenant.yaml says, and the turn it configures."""

    config: Tenant
    turn: TurnConfig

    @classmethod
    def of(cls, config: Tenant, folder: Path) -> LoadedTenant:
        return cls(config, turn_config(config, folder))


def _numbers(tenants: dict[str, LoadedTenant]) -> dict[str, str]:
    by_number: dict[str, str] = {}
    for tenant_id, loaded in tenants.items():
        for number in loaded.config.phone_number_ids:
            if number in by_number:
                raise TenantError(f"phone number id claimed by {by_number[number]} and {tenant_id}")
            by_number[number] = tenant_id
    return by_number


class TenantRegistry:
    """Every tenant under the prompts directory, by id and by WhatsApp phone number id."""

    def __init__(
        self,
        tenants: dict[str, LoadedTenant],
        *,
        prompts_dir: Path | None = None,
        stamps: dict[str, str] | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._by_id = tenants
        self._by_number = _numbers(tenants)
        self._dir = prompts_dir
        self._stamps = stamps or {}
        self._egress = egress

    @classmethod
    def load(cls, prompts_dir: Path, *, egress: EgressPolicy | None = None) -> TenantRegistry:
        folders = sorted(p.parent for p in prompts_dir.glob(f"*/{TENANT_FILE}"))
        if not folders:
            raise TenantError(f"{prompts_dir}: no tenant folders (expected */{TENANT_FILE})")
        loaded, stamps = {}, {}
        for folder in folders:
            stamps[folder.name] = folder_stamp(folder)
            tenant = load_tenant(folder, egress=egress)
            loaded[tenant.id] = LoadedTenant.of(tenant, folder)
        return cls(loaded, prompts_dir=prompts_dir, stamps=stamps, egress=egress)

    def refresh(self) -> list[Reload]:
        """Re-read the folders that changed since the last look (blocking file I/O: run it in a thread).

        A new version that does not validate is reported and not applied; the old one keeps serving. A
        removed folder keeps serving its last config until the process restarts (queued turns still need
        it). The swap is one assignment, so readers on the event loop see the old or the new set, never a mix.
        """
        if self._dir is None:
            return []
        by_id, stamps, events = dict(self._by_id), dict(self._stamps), []
        for folder in sorted(p.parent for p in self._dir.glob(f"*/{TENANT_FILE}")):
            try:
                stamp = folder_stamp(folder)
            except OSError:  # a file vanished mid-look (an editor saving): look again next time
                continue
            if stamps.get(folder.name) == stamp:
                continue
            stamps[folder.name] = stamp  # a broken version is reported once, not on every look
            try:
                tenant = load_tenant(folder, egress=self._egress)
                candidate = by_id | {tenant.id: LoadedTenant.of(tenant, folder)}
                _numbers(candidate)
            except TenantError as exc:
                events.append(Reload(folder.name, applied=False, error=str(exc)))
                continue
            by_id = candidate
            events.append(Reload(folder.name, applied=True))
        self._by_id, self._by_number, self._stamps = by_id, _numbers(by_id), stamps
        return events

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def by_number(self, phone_number_id: str) -> Tenant | None:
        tenant_id = self._by_number.get(phone_number_id)
        return self._by_id[tenant_id].config if tenant_id else None

    def get(self, tenant_id: str) -> LoadedTenant:
        return self._by_id[tenant_id]

    def access_token(self, tenant_id: str) -> str:
        """The tenant's Graph API token, read from the environment variable its tenant.yaml names."""
        name = self._by_id[tenant_id].config.access_token_env
        token = os.environ.get(name)
        if not token:
            raise TenantError(f"tenant {tenant_id}: environment variable {name} is not set")
        return token
