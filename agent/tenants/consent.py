"""The `consent:` section of a tenant's `tenant.yaml`: notice texts, keywords, retention, admin access.

Chat defaults come from `pipelines.consent` (English and Hindi); what a call says without the LLM has its own
spoken texts here (the chat ones say "Reply HUMAN", wrong on the phone). Retention periods are capped so a
tenant file cannot keep content longer than the privacy policy promises.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

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


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]  # ISO 639-1/-3, as `tenant.language`


class CallTextsConfig(_Strict):
    """What a call says without the LLM, in one language; `{business}` becomes the tenant's name.

    A text left out is the built-in one of the same language; a language without built-in texts must give all.
    """

    greeting: Text | None = None  # the AI disclosure: the ledger records it as said
    apology: Text | None = None  # the LLM failed: sorry, and a call back
    goodbye: Text | None = None
    busy: Text | None = None  # the worker is draining
    withheld: Text | None = None  # consent forbids the AI to answer
    way_back: Text | None = None  # the caller stopped us earlier: only their "start" opens the call
    recording_question: Text | None = None
    recording_yes: Text | None = None
    recording_no: Text | None = None
    confirmations: dict[Intent, Text] = Field(default_factory=dict)

    def missing(self) -> list[str]:
        """Names of the texts not given (a confirmation as `confirmations.<intent>`)."""
        unset = [name for name, value in self if value is None]
        return unset + [f"confirmations.{i.value}" for i in Intent if i not in self.confirmations]

    def over(self, base: CallTextsConfig) -> CallTextsConfig:
        """These texts, each one not given taken from `base`."""
        given = self.model_dump(exclude_none=True, exclude={"confirmations"})
        return base.model_copy(update=given | {"confirmations": base.confirmations | self.confirmations})


DEFAULT_CALL_TEXTS: dict[str, CallTextsConfig] = {
    "en": CallTextsConfig(
        greeting="Hello! You are speaking with the AI assistant of {business}, not a person. "
        "To reach our team, say: talk to a person. How can I help you?",
        apology="Sorry, I can't answer that right now. I'll ask someone to call you back shortly. "
        "Is that all right?",
        goodbye="Thank you for calling. Goodbye!",
        busy="Sorry, we are about to end this call. Please call again in a moment. Goodbye!",
        withheld="Sorry, we can't take your call here. Goodbye!",
        way_back="You asked us earlier not to contact you. If you want to talk with us now, say: start. "
        "Otherwise, goodbye.",
        recording_question="We would like to record this call. Is that all right? Please say yes or no.",
        recording_yes="Thank you, this call is recorded. How can I help you?",
        recording_no="All right, this call is not recorded. How can I help you?",
        confirmations={
            Intent.OPT_OUT: "Understood. We will not contact you again. Goodbye!",
            Intent.OPT_IN: "Welcome back. How can I help you?",
            Intent.HUMAN: "Of course. A person from our team will call you back shortly. Goodbye!",
            Intent.DELETE_DATA: "We have stopped using your data and will erase it within thirty days. Goodbye!",
            Intent.ACCESS_DATA: "We have noted your request and will send you a copy of your data within "
            "thirty days. Is there anything else?",
        },
    ),
    "hi": CallTextsConfig(
        greeting="नमस्ते! आप {business} के AI सहायक से बात कर रहे हैं, किसी इंसान से नहीं। हमारी टीम से बात "
        "करने के लिए कहिए: इंसान से बात कराओ। बताइए, मैं आपकी क्या मदद करूँ?",
        apology="माफ़ कीजिए, अभी मैं इसका जवाब नहीं दे पा रहा। हमारी टीम से कोई आपको जल्दी वापस फ़ोन करेगा। "
        "ठीक है?",
        goodbye="फ़ोन करने के लिए धन्यवाद। नमस्ते!",
        busy="माफ़ कीजिए, यह कॉल अभी बंद होने वाली है। थोड़ी देर में फिर से फ़ोन कीजिए। नमस्ते!",
        withheld="माफ़ कीजिए, हम यहाँ आपकी कॉल नहीं ले सकते। नमस्ते!",
        way_back="आपने पहले कहा था कि हम आपसे संपर्क न करें। अगर अब बात करनी है, तो कहिए: शुरू करो। "
        "वरना, नमस्ते।",
        recording_question="हम यह कॉल रिकॉर्ड करना चाहते हैं। क्या यह ठीक है? कृपया हाँ या ना कहिए।",
        recording_yes="धन्यवाद, यह कॉल रिकॉर्ड हो रही है। बताइए, मैं क्या मदद करूँ?",
        recording_no="ठीक है, यह कॉल रिकॉर्ड नहीं होगी। बताइए, मैं क्या मदद करूँ?",
        confirmations={
            Intent.OPT_OUT: "ठीक है। हम आपसे फिर संपर्क नहीं करेंगे। नमस्ते!",
            Intent.OPT_IN: "फिर से स्वागत है। बताइए, मैं क्या मदद करूँ?",
            Intent.HUMAN: "ज़रूर। हमारी टीम से कोई आपको जल्दी वापस फ़ोन करेगा। नमस्ते!",
            Intent.DELETE_DATA: "हमने आपके डेटा का उपयोग रोक दिया है और तीस दिनों में उसे मिटा देंगे। नमस्ते!",
            Intent.ACCESS_DATA: "आपका अनुरोध दर्ज हो गया है। तीस दिनों में हम आपके डेटा की कॉपी भेज देंगे। "
            "और कुछ?",
        },
    ),
}  # fmt: skip


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
    call_texts: dict[Language, CallTextsConfig] = Field(default_factory=dict)  # spoken on calls, per language

    @field_validator("call_texts")
    @classmethod
    def _call_texts_complete(cls, value: dict[str, CallTextsConfig]) -> dict[str, CallTextsConfig]:
        for language, texts in value.items():
            missing = [] if language in DEFAULT_CALL_TEXTS else texts.missing()
            if missing:
                raise ValueError(
                    f"{language}: a language without built-in call texts needs all; missing {missing}"
                )
        return value

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

    def spoken(self, language: str) -> CallTextsConfig:
        """Every text a call says without the LLM in `language` (else English), `{business}` not yet replaced."""
        if language not in self.call_texts and language not in DEFAULT_CALL_TEXTS:
            language = "en"
        given = self.call_texts.get(language, CallTextsConfig())
        return given.over(DEFAULT_CALL_TEXTS[language]) if language in DEFAULT_CALL_TEXTS else given

    def version(self) -> str:
        """A short hash of this section: the ledger records which configuration a decision was made under.

        The call texts go in as spoken (built-in ones included), so a change to any of them changes it."""
        spoken = {
            lang: self.spoken(lang).model_dump(mode="json")
            for lang in {*DEFAULT_CALL_TEXTS, *self.call_texts}
        }
        dumped = json.dumps(
            self.model_dump(mode="json") | {"call_texts": spoken}, sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(dumped.encode()).hexdigest()[:16]
