"""Loads and validates a business's folder `prompts/<tenant>/` into the configuration a turn runs on."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import phonenumbers
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.automation_config import AutomationConfig, Replies, Voice, VoiceConfig
from agent.consent_config import ConsentConfig, Language
from agent.yaml_lines import line_of
from pipelines.pii import EntityType, RestorePolicy, RestoreScope
from pipelines.respond import PromptError, render_system_prompt
from pipelines.stt_routing import EngineSpec
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


def _engine_name(value: str) -> str:
    return str(EngineSpec.parse(value))


SpeechEngineName = Annotated[str, AfterValidator(_engine_name)]
_FALLBACKS = FallbackTexts()


class Fallbacks(_Strict):
    not_understood: str = _FALLBACKS.not_understood
    audio_too_long: str = _FALLBACKS.audio_too_long
    audio_unreadable: str = _FALLBACKS.audio_unreadable
    unavailable: str = _FALLBACKS.unavailable
    refused: str = _FALLBACKS.refused


class Tenant(_Strict):
    id: str
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
    fallbacks: Fallbacks = Fallbacks()
    replies: Replies = Replies()
    voice: VoiceConfig = Voice()
    # Speech recognition per language over the deployment's (LEADCLOSE_STT_LANGUAGES): {hi: hosted:whisper-1}
    speech: dict[Language, SpeechEngineName] = Field(default_factory=dict)
    automation: AutomationConfig = AutomationConfig()
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
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
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
        problems = "; ".join(_problem(text, e["loc"], e["msg"]) for e in exc.errors())
        raise TenantError(f"{path}: {problems}") from None


def _problem(text: str, loc: tuple[str | int, ...], msg: str) -> str:
    """`line N: field.path: message` — the message never includes the value (`hide_input_in_errors`)."""
    line = line_of(text, loc)
    return (f"line {line}: " if line else "") + f"{'.'.join(str(p) for p in loc)}: {msg}"


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
        fallbacks=FallbackTexts(**tenant.fallbacks.model_dump()),
        public_values=frozenset(_e164(n) for n in tenant.business.published_numbers),
        language=tenant.language,
        languages=tenant.languages,
    )


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


def _numbers(tenants: dict[str, tuple[Tenant, TurnConfig]]) -> dict[str, str]:
    by_number: dict[str, str] = {}
    for tenant_id, (tenant, _) in tenants.items():
        for number in tenant.phone_number_ids:
            if number in by_number:
                raise TenantError(f"phone number id claimed by {by_number[number]} and {tenant_id}")
            by_number[number] = tenant_id
    return by_number


def _stamp(folder: Path) -> str:
    """A digest of every file in the folder: any edit (template, knowledge, yaml) changes it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class TenantRegistry:
    """Every tenant under the prompts directory, by id and by WhatsApp phone number id."""

    def __init__(
        self,
        tenants: dict[str, tuple[Tenant, TurnConfig]],
        *,
        prompts_dir: Path | None = None,
        stamps: dict[str, str] | None = None,
    ) -> None:
        self._by_id = tenants
        self._by_number = _numbers(tenants)
        self._dir = prompts_dir
        self._stamps = stamps or {}

    @classmethod
    def load(cls, prompts_dir: Path) -> TenantRegistry:
        folders = sorted(p.parent for p in prompts_dir.glob(f"*/{TENANT_FILE}"))
        if not folders:
            raise TenantError(f"{prompts_dir}: no tenant folders (expected */{TENANT_FILE})")
        loaded, stamps = {}, {}
        for folder in folders:
            stamps[folder.name] = _stamp(folder)
            tenant = load_tenant(folder)
            loaded[tenant.id] = (tenant, turn_config(tenant, folder))
        return cls(loaded, prompts_dir=prompts_dir, stamps=stamps)

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
                stamp = _stamp(folder)
            except OSError:  # a file vanished mid-look (an editor saving): look again next time
                continue
            if stamps.get(folder.name) == stamp:
                continue
            stamps[folder.name] = stamp  # a broken version is reported once, not on every look
            try:
                tenant = load_tenant(folder)
                candidate = by_id | {tenant.id: (tenant, turn_config(tenant, folder))}
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
