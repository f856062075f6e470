"""The `automation:`, `replies:` and `voice:` sections of a tenant's `tenant.yaml`.

What the assistant may do for the business (tools, their endpoints, bookable hours) and how it answers
(voice or text per inbound type, which voice). Endpoints are fixed here: nothing the model writes chooses a
URL. Secrets are named by environment variable, never written in the file.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agent.egress import EgressPolicy, EgressRefused
from pipelines.automation import DEFAULT_MAX_STEPS, check_tool_schema

BUILTIN_TOOLS = frozenset(
    {"capture_lead", "schedule_callback", "book_appointment", "handoff_to_human", "end_conversation"}
)
_ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ReplyMode = Literal["voice", "text", "voice_and_text"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


def endpoint_url(value: str, info: ValidationInfo) -> str:
    """An endpoint the deployment's egress policy accepts (`agent/egress.py`): https to a public host; the
    policy comes from the validation context (`load_tenant`), public-only without one."""
    policy = (info.context or {}).get("egress") or EgressPolicy()
    try:
        policy.check_url(value)
    except EgressRefused as exc:
        raise ValueError(str(exc)) from None
    return value


class Webhook(_Strict):
    """The business's own endpoint for leads, bookings and handoffs (signed like every tool request)."""

    url: str
    timeout_s: float = Field(5.0, gt=0, le=30)

    @field_validator("url")
    @classmethod
    def _endpoint(cls, value: str, info: ValidationInfo) -> str:
        return endpoint_url(value, info)


class Booking(_Strict):
    """Bookable slots from the business's weekly hours; the tool proposes free slots and books one."""

    tool: Literal["book_appointment", "schedule_callback"] = "schedule_callback"
    timezone: str = "Asia/Kolkata"
    slot_minutes: int = Field(30, ge=5, le=240)
    days_ahead: int = Field(7, ge=1, le=60)
    proposals: int = Field(3, ge=1, le=10)
    hours: dict[Weekday, str] = Field(min_length=1)  # e.g. mon: "09:00-19:00"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use an IANA name such as Asia/Kolkata)") from None
        return value

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: dict[Weekday, str]) -> dict[Weekday, str]:
        for span in value.values():
            opening, closing = parse_hours(span)
            if opening >= closing:
                raise ValueError("opening time must be before closing time")
        return value


def parse_hours(span: str) -> tuple[time, time]:
    m = _HOURS.match(span.strip())
    if m is None:
        raise ValueError('hours must look like "09:00-19:00"')
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError('hours must look like "09:00-19:00"') from None


class HttpTool(_Strict):
    """A business-defined tool: the model fills `parameters`; the request goes to `url`, signed."""

    name: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
    description: str = Field(min_length=1)
    parameters: dict[str, Any]
    url: str
    method: Literal["GET", "POST"] = "POST"
    timeout_s: float = Field(5.0, gt=0, le=30)
    max_response_bytes: int = Field(16_384, ge=256, le=1_048_576)
    receives_pii: bool = False  # the business's own system: placeholders become the person's real values

    @field_validator("url")
    @classmethod
    def _endpoint(cls, value: str, info: ValidationInfo) -> str:
        return endpoint_url(value, info)

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value in BUILTIN_TOOLS:
            raise ValueError("this name belongs to a built-in tool")
        return value

    @field_validator("parameters")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_tool_schema(value)
        return value


class AutomationConfig(_Strict):
    """Tools are offered to the model only when `enabled` (the embedded offline model cannot use them)."""

    enabled: bool = False
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, le=8)
    lead_fields: tuple[str, ...] = ("name", "need", "budget", "timeline", "location")
    handoff: bool = True  # offer handoff_to_human
    # The per-tenant HMAC secret every request to the business's endpoints is signed with.
    secret_env: str | None = Field(None, pattern=_ENV_NAME)
    webhook: Webhook | None = None
    booking: Booking | None = None
    tools: tuple[HttpTool, ...] = ()

    @field_validator("lead_fields")
    @classmethod
    def _field_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", f) for f in value):
            raise ValueError("lead fields are lower_snake_case names")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AutomationConfig:
        names = [t.name for t in self.tools]
        if len(names) != len(set(names)):
            raise ValueError("tool names must be unique")
        if (self.webhook is not None or self.tools) and self.secret_env is None:
            raise ValueError("secret_env is required when a webhook or tools are configured")
        return self


class Replies(_Strict):
    """How to answer each kind of inbound message."""

    audio: ReplyMode = "voice"
    text: ReplyMode = "text"


class Voice(_Strict):
    """The voice of spoken replies in one language: a Piper voice (the bundled one or a .onnx path), a hosted
    OpenAI-compatible voice name, or espeak-ng's robotic voice for a language code (docs/speech.md)."""

    engine: Literal["piper", "openai", "espeak"] = "piper"
    # A voice's name, never a path: a tenant cannot make the process load a file of its choosing.
    voice: str = Field("en_US-joe-medium", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


# `voice:` in tenant.yaml: one voice (for the tenant's default language) or one per language code. A reply in
# a language without a voice goes out as text.
VoiceConfig = Voice | dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")], Voice]


def voices_by_language(config: VoiceConfig, default_language: str) -> dict[str, Voice]:
    return dict(config) if isinstance(config, dict) else {default_language: config}
