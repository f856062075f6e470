"""The `consent:` section of tenant.yaml: defaults, hard caps, and errors that name the field, not the value."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from agent.tenants.registry import TenantError, load_tenant
from pipelines.consent import ContentBasis, Intent
from tests.agent.tenant_folders import copy_tenant
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path


def _tenant_with(tmp_path: Path, consent_yaml: str) -> Path:
    folder = tmp_path / "acme"
    copy_tenant(ROOT / "prompts" / "default", folder)
    text = (folder / "tenant.yaml").read_text()
    text = text[: text.index("consent:")] + consent_yaml
    (folder / "tenant.yaml").write_text(text)
    return folder


def test_defaults_cover_english_and_hindi_for_every_intent(tmp_path: Path) -> None:
    tenant = load_tenant(_tenant_with(tmp_path, ""))
    consent = tenant.consent
    assert {"en", "hi"} <= set(tenant.catalogue.languages)
    assert all(set(tenant.catalogue.get(lang).confirmations) == set(Intent) for lang in ("en", "hi"))
    assert consent.content_basis is ContentBasis.CONSENT
    assert consent.record_calls is False
    assert consent.retention.content_days == 14


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("consent:\n  retention: {content_days: 400}\n", "consent.retention.content_days"),
        ("consent:\n  retention: {processing_days: 999}\n", "consent.retention.processing_days"),
        ("consent:\n  retension: {content_days: 7}\n", "consent.retension"),
        ("consent:\n  content_basis: whatever-we-like\n", "consent.content_basis"),
        ("consent:\n  admin_token_env: 'lowercase secret-ish value'\n", "consent.admin_token_env"),
        ("consent:\n  keywords: {hi: {unsubscribe_all: [bas]}}\n", "consent.keywords"),
        (
            "consent:\n  confirmations: {opt_out: {en: 'Stopped {{ secret }}'}}\n",
            "consent.confirmations.opt_out.en",
        ),
        ("consent:\n  disclosure: {EN: 'An AI of {business}, secret'}\n", "consent.disclosure.EN"),
    ],
)
def test_invalid_consent_settings_name_the_field_and_not_the_value(
    tmp_path: Path, yaml_text: str, field: str
) -> None:
    with pytest.raises(TenantError) as caught:
        load_tenant(_tenant_with(tmp_path, yaml_text))
    message = str(caught.value)
    assert field in message
    for value in ("400", "999", "whatever-we-like", "secret-ish"):
        assert value not in message


def test_a_tenant_changes_texts_and_the_config_version_follows(tmp_path: Path) -> None:
    base = load_tenant(_tenant_with(tmp_path, ""))
    shutil.rmtree(tmp_path / "acme")
    custom = load_tenant(
        _tenant_with(
            tmp_path, "consent:\n  disclosure: {en: 'An AI assistant of {business} is answering.'}\n"
        )
    )
    assert custom.catalogue.get("en").disclosure == "An AI assistant of {business} is answering."
    assert custom.catalogue.get("hi").disclosure == base.catalogue.get("hi").disclosure
    assert custom.consent_version != base.consent_version
