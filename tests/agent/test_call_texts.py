"""`consent.call_texts` in tenant.yaml: what a call says without the LLM, per language. Built-in English and
Hindi texts, per-text overrides, complete texts for any other language, line-numbered errors that never
echo a value, and the call brain speaking the tenant's default language."""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest

from agent.calls.agent import call_brain
from agent.tenants.registry import TenantError, load_tenant, turn_config
from agent.tenants.texts import CallTextsConfig
from pipelines.consent import Intent
from pipelines.texts import BUILT_IN, ENGLISH, HINDI, CallTexts
from tests.agent.tenant_folders import copy_tenant
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

DEVANAGARI = re.compile(r"[\u0900-\u097f]")


def _tenant_with(tmp_path: Path, consent_yaml: str, *, language: str = "en") -> Path:
    """The shipped default tenant with its `consent:` section replaced (and its default language set)."""
    folder = tmp_path / "acme"
    copy_tenant(ROOT / "prompts" / "default", folder)
    text = (folder / "tenant.yaml").read_text()
    text = text[: text.index("consent:")].replace("language: en\n", f"language: {language}\n") + consent_yaml
    (folder / "tenant.yaml").write_text(text)
    return folder


def _all_texts(texts: CallTexts) -> list[str]:
    fields = [texts.greeting, texts.apology, texts.goodbye, texts.busy, texts.withheld, texts.way_back]
    fields += [texts.recording_question, texts.recording_yes, texts.recording_no]
    return fields + [texts.confirmations[i] for i in Intent]


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_built_in_texts_are_complete_and_name_the_business(language: str) -> None:
    texts = BUILT_IN[language].call.for_business("Acme Tiles")
    said = _all_texts(texts)
    assert "Acme Tiles" in texts.greeting
    assert not any("{" in t or "}" in t for t in said)
    assert all(bool(DEVANAGARI.search(t)) is (language == "hi") for t in said)


def test_a_hindi_default_tenant_greets_a_caller_with_the_hindi_disclosure(tmp_path: Path) -> None:
    folder = _tenant_with(tmp_path, "", language="hi")
    tenant = load_tenant(folder)
    brain = call_brain(tenant, turn_config(tenant, folder))
    assert brain.texts.greeting.startswith("नमस्ते! आप Suryoday Solar के AI सहायक से बात कर रहे हैं")
    assert "इंसान से बात कराओ" in brain.texts.greeting  # a Hindi HUMAN keyword the classifier knows
    assert brain.keywords is not None
    match = brain.keywords.classify("इंसान से बात कराओ")
    assert match is not None
    assert match.intent is Intent.HUMAN
    assert brain.texts.confirmations[Intent.OPT_OUT] == HINDI.call.confirmations[Intent.OPT_OUT]


def test_a_text_left_out_is_the_built_in_one_of_that_language(tmp_path: Path) -> None:
    folder = _tenant_with(
        tmp_path,
        "consent:\n  call_texts:\n    en:\n      greeting: This is the robot of {business}. Say human for a person.\n"
        "      confirmations: {opt_out: 'Fine, no more calls from {business}.'}\n",
    )
    tenant = load_tenant(folder)
    texts = call_brain(tenant, turn_config(tenant, folder)).texts
    assert texts.greeting == "This is the robot of Suryoday Solar. Say human for a person."
    assert texts.confirmations[Intent.OPT_OUT] == "Fine, no more calls from Suryoday Solar."
    english = ENGLISH.call.for_business("Suryoday Solar")
    assert texts.goodbye == english.goodbye
    assert texts.confirmations[Intent.HUMAN] == english.confirmations[Intent.HUMAN]


def test_a_language_without_built_in_texts_is_spoken_when_complete_and_english_when_not_given(
    tmp_path: Path,
) -> None:
    marathi = {name: f"{name} मराठी {{business}}" for name in CallTextsConfig.model_fields}
    lines = "".join(f"      {k}: '{v}'\n" for k, v in marathi.items() if k != "confirmations")
    lines += "      confirmations: {" + ", ".join(f"{i.value}: '{i.value} मराठी'" for i in Intent) + "}\n"
    folder = _tenant_with(tmp_path, "consent:\n  call_texts:\n    mr:\n" + lines, language="mr")
    tenant = load_tenant(folder)
    texts = call_brain(tenant, turn_config(tenant, folder)).texts
    assert texts.greeting == "greeting मराठी Suryoday Solar"
    assert texts.confirmations[Intent.DELETE_DATA] == "delete_data मराठी"

    shutil.rmtree(folder)
    folder = _tenant_with(tmp_path, "", language="mr")
    tenant = load_tenant(folder)
    assert call_brain(tenant, turn_config(tenant, folder)).texts == ENGLISH.call.for_business(
        "Suryoday Solar"
    )


@pytest.mark.parametrize(
    ("yaml_text", "line", "field"),
    [
        ("consent:\n  call_texts:\n    EN-secret: {goodbye: Bye.}\n", 3, "consent.call_texts.EN-secret.[key]"),
        ("consent:\n  call_texts:\n    en:\n      gretting: Hello secret\n", 4, "consent.call_texts.en.gretting"),
        ("consent:\n  call_texts:\n    en: {goodbye: '   '}\n", 3, "consent.call_texts.en.goodbye"),
        ("consent:\n  call_texts:\n    en:\n      confirmations: {unsubscribe_all: secret}\n", 4,
         "consent.call_texts.en.confirmations"),
        ("consent:\n  record_calls: false\n  call_texts:\n    mr: {greeting: 'secret {business}'}\n", 3,
         "consent.call_texts"),
    ],
)  # fmt: skip
def test_invalid_call_texts_name_the_line_and_field_and_not_the_value(
    tmp_path: Path, yaml_text: str, line: int, field: str
) -> None:
    """The tenant file's own lines start after the copied default tenant's: line numbers count from there."""
    folder = _tenant_with(tmp_path, yaml_text)
    offset = (folder / "tenant.yaml").read_text().count("\n") - yaml_text.count("\n")
    with pytest.raises(TenantError) as caught:
        load_tenant(folder)
    message = str(caught.value)
    assert f"line {offset + line}: {field}" in message
    assert "secret" not in message.replace("EN-secret", "")
    assert "Hello" not in message


def test_a_missing_text_of_a_language_without_built_in_texts_is_named(tmp_path: Path) -> None:
    folder = _tenant_with(tmp_path, "consent:\n  call_texts:\n    mr: {greeting: 'नमस्कार {business}'}\n")
    with pytest.raises(TenantError) as caught:
        load_tenant(folder)
    message = str(caught.value)
    assert "mr" in message
    assert "'goodbye'" in message
    assert "'confirmations.opt_out'" in message
    assert "नमस्कार" not in message


def test_the_config_version_follows_the_call_texts(tmp_path: Path) -> None:
    base = load_tenant(_tenant_with(tmp_path, ""))
    shutil.rmtree(tmp_path / "acme")
    custom = load_tenant(_tenant_with(tmp_path, "consent:\n  call_texts:\n    hi: {goodbye: 'फिर मिलेंगे!'}\n"))
    assert custom.catalogue.get("hi").call.goodbye == "फिर मिलेंगे!"
    assert custom.consent_version != base.consent_version
