"""Settings: names per DESIGN.md §4, secrets masked, errors that never echo values."""

from __future__ import annotations

import pytest

from agent.settings import SettingsError, load_settings


def test_defaults_are_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LEADCLOSE_LLM_BASE_URL", "LEADCLOSE_STT_MODEL", "LEADCLOSE_TTS_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.llm_base_url is None
    assert settings.stt_model == "tiny.en"
    assert settings.tts_engine == "piper"


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADCLOSE_LLM_API_KEY", "sk-very-secret-value")
    settings = load_settings(_env_file=None)
    assert settings.llm_api_key is not None
    assert settings.llm_api_key.get_secret_value() == "sk-very-secret-value"
    assert "sk-very-secret-value" not in repr(settings)


def test_invalid_settings_name_the_field_but_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADCLOSE_LLM_BASE_URL", "not a url sk-leaked-token")
    monkeypatch.setenv("LEADCLOSE_HTTP_PORT", "sk-other-secret")
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    message = str(err.value)
    assert "LEADCLOSE_LLM_BASE_URL" in message
    assert "LEADCLOSE_HTTP_PORT" in message
    assert "sk-" not in message
    assert err.value.__cause__ is None


def test_unknown_settings_are_refused(tmp_path: object) -> None:
    with pytest.raises(SettingsError, match="LEADCLOSE_STT_MODLE"):
        load_settings(_env_file=None, stt_modle="small")


def test_ops_surfaces_listen_on_loopback_and_allowed_networks_are_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(_env_file=None)
    assert (settings.ops_host, settings.metrics_host) == ("127.0.0.1", "127.0.0.1")
    assert settings.egress_policy().allowed == ()
    monkeypatch.setenv("LEADCLOSE_TOOLS_ALLOW_NETWORKS", "10.20.0.0/16, fd00:1::/64")
    assert [str(n) for n in load_settings(_env_file=None).egress_policy().allowed] == [
        "10.20.0.0/16",
        "fd00:1::/64",
    ]
    monkeypatch.setenv("LEADCLOSE_TOOLS_ALLOW_NETWORKS", "10.20.0.0/16, secret-ish-value")
    with pytest.raises(SettingsError, match=r"LEADCLOSE_TOOLS_ALLOW_NETWORKS: .*entry 2") as err:
        load_settings(_env_file=None)
    assert "secret-ish-value" not in str(err.value)
