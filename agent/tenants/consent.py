"""The `consent:` section of a tenant's `tenant.yaml`: keywords, retention, admin access, call recording.

Its texts (disclosure, confirmations, call texts) are read through the tenant's catalogue
(`agent/tenants/texts.py`); the fields here are their older homes, still honoured. Retention periods are
capped so a tenant file cannot keep content longer than the privacy policy promises.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.tenants.texts import CallTextsConfig, Language, TenantText, complete_call_texts
from pipelines.consent import ContentBasis, Intent, KeywordClassifier, Policy

DAY_S = 86_400
# Hard caps (days): no tenant setting goes beyond them.
MAX_CONTENT_DAYS = 30  # the data key lives 30 days after its last use: content cannot outlive it
MAX_PROCESSING_DAYS = 180
MAX_AUDIT_DAYS = 3 * 365
TERMINATION_GRACE_DAYS = 90


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Retention(_Strict):
    """Days each log tier is kept: T2 content, T0 processing ledger, the audit log."""

    content_days: int = Field(14, ge=1, le=MAX_CONTENT_DAYS)
    processing_days: int = Field(90, ge=1, le=MAX_PROCESSING_DAYS)
    audit_days: int = Field(365, ge=30, le=MAX_AUDIT_DAYS)


class ConsentConfig(_Strict):
    notice_version: str = "2026-11"
    # Older homes of the disclosure and chat confirmations (language → text); `texts:` is the one to use.
    disclosure: dict[Language, TenantText] = Field(default_factory=dict)
    confirmations: dict[Intent, dict[Language, TenantText]] = Field(default_factory=dict)
    redisclose_after_days: float = Field(30, gt=0, le=365)
    keywords: dict[str, dict[Intent, list[str]]] = Field(default_factory=dict)  # language → intent → extra
    content_basis: ContentBasis = ContentBasis.CONSENT
    retention: Retention = Retention()
    admin_token_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    record_calls: bool = False
    call_texts: dict[Language, CallTextsConfig] = Field(
        default_factory=dict
    )  # older home of `texts.<l>.call`

    @field_validator("call_texts")
    @classmethod
    def _call_texts_complete(cls, value: dict[str, CallTextsConfig]) -> dict[str, CallTextsConfig]:
        return complete_call_texts(value)

    @property
    def redisclose_after_s(self) -> float:
        return self.redisclose_after_days * DAY_S

    def policy(self) -> Policy:
        return Policy(content_basis=self.content_basis, records_calls=self.record_calls)

    def classifier(self) -> KeywordClassifier:
        return KeywordClassifier.with_extra(self.keywords)
