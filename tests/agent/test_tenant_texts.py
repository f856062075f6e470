"""tenant.yaml `texts:`: a business's own customer-facing texts over the built-in catalogue, read by chat and
calls alike. The section is untrusted input: a text that is too long, a template, an unknown placeholder or a
control character is refused with its line and field, never its value. The older homes of some texts
(`fallbacks:`, `consent.disclosure`, `consent.call_texts`) keep working; `texts:` wins over them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.calls.agent import call_brain
from agent.tenants.registry import TenantError, load_tenant, turn_config
from agent.tenants.texts import MAX_TEXT_CHARS
from pipelines.consent import Intent
from pipelines.texts import ENGLISH, HINDI
from tests.agent.tenant_folders import copy_tenant
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from agent.tenants.registry import Tenant


def _tenant(tmp_path: Path, extra_yaml: str = "", *, language: str = "en", languages: str = "") -> Path:
    """The shipped default tenant (its `fallbacks:` and `consent:` left as shipped) plus `extra_yaml`."""
    folder = tmp_path / "acme"
    if not folder.exists():
        copy_tenant(ROOT / "prompts" / "default", folder)
    text = (
        (ROOT / "prompts" / "default" / "tenant.yaml")
        .read_text()
        .replace("TENANT_DEFAULT__", "TENANT_ACME__")
    )
    text = text.replace("language: en\n", f"language: {language}\n{languages}")
    (folder / "tenant.yaml").write_text(text + extra_yaml)
    return folder


def _load(folder: Path) -> Tenant:
    return load_tenant(folder)


def test_a_hindi_speaking_person_gets_hindi_texts_in_chat_and_on_a_call(tmp_path: Path) -> None:
    """A business answering in English and Hindi: a Hindi message gets the Hindi fallback and disclosure;
    a Hindi business's call speaks the Hindi texts."""
    folder = _tenant(tmp_path, languages="languages: [hi]\n")
    config = turn_config(tenant := _load(folder), folder)
    hindi = config.texts.for_message("नमस्ते, क्या आप रविवार को इंस्टॉल करते हैं?")
    assert hindi.unavailable == HINDI.unavailable
    assert hindi.unsupported == HINDI.unsupported
    assert hindi.disclosure == HINDI.disclosure
    # An English message gets English: the shipped tenant's own `fallbacks:` text, not the built-in one.
    english = config.texts.for_message("do you install on Sundays?")
    assert english.unavailable.endswith("A person from our team will get back to you.")
    assert tenant.catalogue.get("en").handoff == ENGLISH.handoff

    folder = _tenant(tmp_path, language="hi", languages="languages: [en]\n")
    tenant = _load(folder)
    brain = call_brain(tenant, turn_config(tenant, folder))
    assert brain.texts == HINDI.call.for_business("Suryoday Solar")


def test_the_tenants_texts_win_over_the_built_in_and_the_older_homes(tmp_path: Path) -> None:
    folder = _tenant(
        tmp_path,
        "texts:\n"
        "  hi:\n"
        "    unsupported: माफ़ कीजिए, फ़ोटो हम नहीं देख सकते। कृपया लिखकर भेजिए।\n"
        "    confirmations: {opt_out: 'ठीक है, {business} अब कोई संदेश नहीं भेजेगा।'}\n"
        "    call: {goodbye: 'धन्यवाद, {business}!'}\n"
        "  en:\n"
        "    unavailable: We're busy right now; the team will write back today.\n"
        "    handoff: Our front desk will reply here within the hour.\n",
    )
    tenant = _load(folder)
    hindi, english = tenant.catalogue.get("hi"), tenant.catalogue.get("en")
    assert hindi.unsupported == "माफ़ कीजिए, फ़ोटो हम नहीं देख सकते। कृपया लिखकर भेजिए।"
    assert hindi.confirmations[Intent.OPT_OUT] == "ठीक है, {business} अब कोई संदेश नहीं भेजेगा।"
    assert hindi.confirmations[Intent.HUMAN] == HINDI.confirmations[Intent.HUMAN]
    assert hindi.call.for_business("Suryoday Solar").goodbye == "धन्यवाद, Suryoday Solar!"
    # `texts:` wins over the shipped `fallbacks:` (the older home of the default language's fallbacks) ...
    assert english.unavailable == "We're busy right now; the team will write back today."
    # ... and the `fallbacks:` it does not repeat keep working.
    assert english.not_understood.startswith("Sorry, I couldn't make out that voice note.")
    assert english.handoff == "Our front desk will reply here within the hour."
    base = _load(_tenant(tmp_path))
    assert tenant.consent_version != base.consent_version  # a confirmation changed: the ledger can tell


@pytest.mark.parametrize(
    ("yaml_text", "line", "field"),
    [
        ("texts:\n  en:\n    unavailable: '" + "x" * (MAX_TEXT_CHARS + 1) + "'\n", 3, "texts.en.unavailable"),
        ("texts:\n  en:\n    disclosure: 'Hi {{ secret }} from {business}'\n", 3, "texts.en.disclosure"),
        ("texts:\n  en:\n    disclosure: '{% if secret %}AI{% endif %}'\n", 3, "texts.en.disclosure"),
        ("texts:\n  hi:\n    refused: 'secret {customer_phone}'\n", 3, "texts.hi.refused"),
        ('texts:\n  en:\n    handoff: "secret \\u202eevil"\n', 3, "texts.en.handoff"),
        ('texts:\n  en:\n    handoff: "secret \\x1b[31m"\n', 3, "texts.en.handoff"),
        ("texts:\n  en:\n    unsupportd: secret\n", 3, "texts.en.unsupportd"),
        ("texts:\n  en:\n    call: {greeting: '{{business}} secret'}\n", 3, "texts.en.call.greeting"),
        ("texts:\n  en:\n    confirmations: {opt_out: ''}\n", 3, "texts.en.confirmations.opt_out"),
        ("texts:\n  EN-secret: {refused: No.}\n", 2, "texts.EN-secret.[key]"),
        ("texts:\n  mr:\n    call: {greeting: 'secret {business}'}\n", 1, "texts"),
        ("fallbacks:\n  unavailable: 'secret {{ 7*7 }}'\n", 2, "fallbacks.unavailable"),
        ("consent:\n  call_texts:\n    en: {goodbye: 'secret {x}'}\n", 3, "consent.call_texts.en.goodbye"),
    ],
    ids=[
        "too_long",
        "jinja_expression",
        "jinja_statement",
        "unknown_placeholder",
        "bidi_override",
        "escape_sequence",
        "unknown_field",
        "doubled_braces",
        "empty",
        "bad_language",
        "incomplete_new_language",
        "legacy_fallbacks",
        "legacy_call_texts",
    ],
)
def test_a_hostile_text_is_refused_with_its_line_and_field_never_its_value(
    tmp_path: Path, yaml_text: str, line: int, field: str
) -> None:
    """Line numbers count from the end of the shipped tenant.yaml the test appends to. The shipped file has
    `fallbacks:` and `consent:` sections already: a repeated one replaces them (YAML's last key wins), and the
    error points at the one that counts."""
    folder = _tenant(tmp_path, yaml_text)
    offset = (folder / "tenant.yaml").read_text().count("\n") - yaml_text.count("\n")
    with pytest.raises(TenantError) as caught:
        _load(folder)
    message = str(caught.value)
    assert f"line {offset + line}: {field}" in message
    assert "secret" not in message.replace("EN-secret", "")
    assert "evil" not in message
    assert "7*7" not in message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=MAX_TEXT_CHARS + 50))
def test_any_accepted_text_is_plain_bounded_and_said_as_written(tmp_path: Path, text: str) -> None:
    """Whatever a tenant writes: refused with a TenantError, or accepted as plain text within the cap whose
    only placeholder is `{business}` (nothing else in it is ever evaluated)."""
    import json

    folder = _tenant(tmp_path, "texts:\n  en:\n    refused: " + json.dumps(text) + "\n")
    try:
        tenant = _load(folder)
    except TenantError:  # refused: what the message says is checked by the cases above
        return
    refused = tenant.catalogue.get("en").refused
    assert refused == text.strip()
    assert len(refused) <= MAX_TEXT_CHARS
    assert not {"{", "}"} & set(refused.replace("{business}", ""))
