"""The `consent:` section of a tenant's `tenant.yaml`: notice texts, keywords, retention, admin access.

Defaults come from `pipelines.consent` (English and Hindi); retention periods are capped so a tenant file
cannot keep content longer than the privacy policy promises.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.consent import (
    DEFAULT_CONFIRMATIONS,
    DEFAULT_DISCLOSURE,
    ContentBasis,
    Intent,
    KeywordClassifier,
    Policy,
)

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
    disclosure: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_DISCLOSURE))
    confirmations: dict[Intent, dict[str, str]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_CONFIRMATIONS.items()}
    )
    redisclose_after_days: float = Field(30, gt=0, le=365)
    keywords: dict[str, dict[Intent, list[str]]] = Field(default_factory=dict)  # language → intent → extra
    content_basis: ContentBasis = ContentBasis.CONSENT
    retention: Retention = Retention()
    admin_token_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    record_calls: bool = False

    @model_validator(mode="after")
    def _complete(self) -> ConsentConfig:
        if not self.disclosure:
            raise ValueError("disclosure needs a text in at least one language")
        missing = set(Intent) - set(self.confirmations)
        if missing:
            raise ValueError(f"confirmations missing for {sorted(missing)}")
        return self

    @property
    def redisclose_after_s(self) -> float:
        return self.redisclose_after_days * DAY_S

    def policy(self) -> Policy:
        return Policy(content_basis=self.content_basis, records_calls=self.record_calls)

    def classifier(self) -> KeywordClassifier:
        return KeywordClassifier.with_extra(self.keywords)

    def version(self) -> str:
        """A short hash of this section: the ledger records which configuration a decision was made under."""
        dumped = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(dumped.encode()).hexdigest()[:16]
