"""A tenant's own customer-facing texts (tenant.yaml `texts:`), validated as untrusted input, and the
tenant's `Catalogue`: the built-in texts (`pipelines.texts`) with the tenant's over them.

Every text is plain text with one placeholder, `{business}`: no templates (`{{ }}`, `{% %}`, any other
`{…}`), no control or bidi-override characters, and a length cap, so a tenant file can neither inject a
template nor flood a chat or a call. The older homes of some texts (`fallbacks:`, `consent.disclosure`,
`consent.confirmations`, `consent.call_texts`) keep working: they are folded in first, `texts:` wins.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pipelines.consent import Intent
from pipelines.texts import BUILT_IN, Catalogue

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_TEXT_CHARS = 700  # a disclosure goes before a reply (WhatsApp's cap is 4,096); a call text is spoken
MAX_LANGUAGES = 16
_PLACEHOLDER = "{business}"
# C0/C1 controls except the newline, and the bidi overrides/isolates that can make a text read otherwise.
_FORBIDDEN = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _plain_text(value: str) -> str:
    if _FORBIDDEN.search(value):
        raise ValueError("control or bidi-override characters are not allowed")
    if "{" in value.replace(_PLACEHOLDER, "") or "}" in value.replace(_PLACEHOLDER, ""):
        raise ValueError("only the placeholder {business} is allowed: texts are not templates")
    return value


TenantText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS),
    AfterValidator(_plain_text),
]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]  # ISO 639-1/-3, as `tenant.language`


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class CallTextsConfig(_Strict):
    """What a call says without the LLM, in one language (see `pipelines.texts.CallTexts`).

    A text left out is the built-in one of the same language; a language without built-in texts must give all.
    """

    greeting: TenantText | None = None
    apology: TenantText | None = None
    goodbye: TenantText | None = None
    busy: TenantText | None = None
    withheld: TenantText | None = None
    way_back: TenantText | None = None
    recording_question: TenantText | None = None
    recording_yes: TenantText | None = None
    recording_no: TenantText | None = None
    confirmations: dict[Intent, TenantText] = Field(default_factory=dict)

    def missing(self) -> list[str]:
        """Names of the texts not given (a confirmation as `confirmations.<intent>`)."""
        unset = [name for name, value in self if value is None]
        return unset + [f"confirmations.{i.value}" for i in Intent if i not in self.confirmations]


class FallbacksConfig(_Strict):
    """The fixed replies of a turn that cannot be answered by the model; also the older `fallbacks:` section
    (the default language's)."""

    not_understood: TenantText | None = None
    audio_too_long: TenantText | None = None
    audio_unreadable: TenantText | None = None
    unavailable: TenantText | None = None
    refused: TenantText | None = None


class TextsConfig(FallbacksConfig):
    """One language's texts in `texts:`; each one left out is the built-in (or the default language's)."""

    unsupported: TenantText | None = None
    handoff: TenantText | None = None
    disclosure: TenantText | None = None
    confirmations: dict[Intent, TenantText] = Field(default_factory=dict)
    call: CallTextsConfig = CallTextsConfig()


def complete_call_texts(value: dict[str, CallTextsConfig]) -> dict[str, CallTextsConfig]:
    """A language without built-in call texts must give all of them (a call cannot mix languages)."""
    for language, texts in value.items():
        missing = [] if language in BUILT_IN else texts.missing()
        if missing and texts.model_fields_set:
            raise ValueError(
                f"{language}: a language without built-in call texts needs all; missing {missing}"
            )
    return value


def _complete_texts(value: dict[str, TextsConfig]) -> dict[str, TextsConfig]:
    complete_call_texts({lang: t.call for lang, t in value.items()})
    return value


TextsSection = Annotated[
    dict[Language, TextsConfig], Field(max_length=MAX_LANGUAGES), AfterValidator(_complete_texts)
]


def tenant_catalogue(
    default: str,
    served: tuple[str, ...],
    texts: Mapping[str, TextsConfig],
    *,
    fallbacks: Mapping[str, str],
    disclosure: Mapping[str, str],
    confirmations: Mapping[Intent, Mapping[str, str]],
    call_texts: Mapping[str, CallTextsConfig],
) -> Catalogue:
    """The tenant's catalogue: `fallbacks` (the default language's), the `consent:` texts, then `texts:`."""
    overrides: dict[str, dict[str, Any]] = {}

    def at(language: str) -> dict[str, Any]:
        return overrides.setdefault(language, {"confirmations": {}, "call": {"confirmations": {}}})

    at(default).update(fallbacks)
    for language, text in disclosure.items():
        at(language)["disclosure"] = text
    for intent, by_language in confirmations.items():
        for language, text in by_language.items():
            at(language)["confirmations"][intent] = text
    for language, spoken in call_texts.items():
        _merge(at(language), {"call": spoken.model_dump(exclude_none=True)})
    for language, given in texts.items():
        _merge(at(language), given.model_dump(exclude_none=True))
    return Catalogue.build(overrides, default, served)


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        else:
            into[key] = value
