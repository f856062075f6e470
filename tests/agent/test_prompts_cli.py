"""`leadclose prompts validate|try` through `main(argv)`. `try` runs the real runtime (Whisper, Piper) against
the local OpenAI-compatible peer (tests/llm_peer.py), which returns scripted tool calls and records requests."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from agent.cli.main import main
from tests.agent.tenant_folders import copy_tenant
from tests.conftest import ROOT
from tests.llm_peer import Call, serve_chat_peer

if TYPE_CHECKING:
    from pathlib import Path

ENV = {
    "LEADCLOSE_TENANT_DEFAULT__ACCESS_TOKEN": "t1",
    "LEADCLOSE_TENANT_GHARKHOJ_REALTY__ACCESS_TOKEN": "t2",
    "LEADCLOSE_TENANT_GHARKHOJ_REALTY__WEBHOOK_SECRET": "whsec-distinctive-value",
    "LEADCLOSE_TENANT_SUNRISE_CLINIC__ACCESS_TOKEN": "t3",
    "LEADCLOSE_TENANT_SUNRISE_CLINIC__WEBHOOK_SECRET": "s3",
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEADCLOSE_PROMPTS_DIR", str(ROOT / "prompts"))


def test_shipped_prompts_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prompts", "validate"]) == 0
    out = capsys.readouterr().out
    for tenant in ("default", "gharkhoj-realty", "sunrise-clinic"):
        assert f"ok     {tenant} (" in out
    assert "error" not in out


def test_validate_reports_every_problem_with_its_line_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    for name in ("default", "gharkhoj-realty", "sunrise-clinic"):
        shutil.copytree(ROOT / "prompts" / name, prompts / name)
    realty = prompts / "gharkhoj-realty" / "tenant.yaml"
    realty.write_text(realty.read_text().replace("slot_minutes: 30", "slot_minutes: 3"))
    (prompts / "sunrise-clinic" / "system.j2").write_text("Hello from {{ nmae }}")
    copy_tenant(ROOT / "prompts" / "default", prompts / "forgetful")
    forgetful = prompts / "forgetful" / "tenant.yaml"
    forgetful.write_text(forgetful.read_text().replace("100000000000001", "100000000000009"))
    (prompts / "forgetful" / "knowledge.md").unlink()
    monkeypatch.delenv("LEADCLOSE_TENANT_DEFAULT__ACCESS_TOKEN")

    assert main(["prompts", "validate", str(prompts)]) == 1
    out = capsys.readouterr().out
    assert (
        "error  default: access_token_env: environment variable LEADCLOSE_TENANT_DEFAULT__ACCESS_TOKEN is not set"
        in out
    )
    line = next(i for i, t in enumerate(realty.read_text().splitlines(), 1) if "slot_minutes" in t)
    assert f"line {line}: automation.booking.slot_minutes: Input should be greater than or equal to 5" in out
    assert "sunrise-clinic: " in out
    assert "system.j2: system template: UndefinedError" in out
    assert "forgetful: " in out
    assert "tenant.yaml: knowledge: 'knowledge.md' does not exist in the tenant folder" in out
    assert "whsec-distinctive-value" not in out  # names of variables, never their values


def test_validate_catches_a_phone_number_id_claimed_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", prompts / "default")
    copy_tenant(ROOT / "prompts" / "default", prompts / "copy")
    assert main(["prompts", "validate", str(prompts)]) == 1
    assert "phone number id claimed by copy and default" in capsys.readouterr().out


def test_validate_flags_a_voice_the_deployment_does_not_speak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "sunrise-clinic", prompts / "sunrise-clinic")
    path = prompts / "sunrise-clinic" / "tenant.yaml"
    path.write_text(path.read_text() + "voice:\n  engine: openai\n  voice: alloy\n")
    assert main(["prompts", "validate", str(prompts)]) == 1  # no hosted endpoint configured here
    assert "voice: openai/alloy needs LEADCLOSE_LLM_BASE_URL" in capsys.readouterr().out
    path.write_text(
        path.read_text().replace("engine: openai\n  voice: alloy", "engine: piper\n  voice: nobody")
    )
    assert main(["prompts", "validate", str(prompts)]) == 1
    assert "voice: piper/nobody is neither the bundled voice nor a .onnx file" in capsys.readouterr().out


def test_validate_checks_voices_and_speech_engines_per_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "sunrise-clinic", prompts / "sunrise-clinic")
    path = prompts / "sunrise-clinic" / "tenant.yaml"
    base = path.read_text()
    path.write_text(base + "voice:\n  en: {engine: piper}\n  hi: {engine: espeak, voice: hi}\n")
    assert main(["prompts", "validate", str(prompts)]) == 0  # espeak-ng is installed here (./run test)
    path.write_text(base + "voice:\n  hi: {engine: openai, voice: alloy}\nspeech:\n  hi: hosted:whisper-1\n")
    assert main(["prompts", "validate", str(prompts)]) == 1  # no hosted endpoint configured here
    out = capsys.readouterr().out
    assert "voice: openai/alloy needs LEADCLOSE_LLM_BASE_URL" in out
    assert "speech.hi: hosted:whisper-1 needs LEADCLOSE_SPEECH_BASE_URL" in out
    path.write_text(base + "speech:\n  hi: 'hosted:'\n")
    assert main(["prompts", "validate", str(prompts)]) == 1
    assert "speech.hi" in capsys.readouterr().out


def _model(messages: list[dict[str, Any]]) -> str | list[Call]:
    if messages[-1]["role"] == "tool":
        return "Noted, an agent will call you."
    return [Call("capture_lead", {"name": "<PERSON_1>", "need": "rent", "location": "Wakad"})]


def test_try_shows_what_the_llm_saw_and_did(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_chat_peer(_model) as peer:
        monkeypatch.setenv("LEADCLOSE_LLM_BASE_URL", peer.base_url)
        code = main(["prompts", "try", "gharkhoj-realty", "My name is Rahul Verma, I want to rent in Wakad"])
    assert code == 0
    out = capsys.readouterr().out
    assert "<PERSON_1>" in out  # the minimized prompt
    assert "tool call   capture_lead" in out
    assert 'dry run     capture_lead would get {"name": "Rahul Verma"' in out
    assert "reply       Noted, an agent will call you." in out
    assert len(peer.requests) == 2
    assert all("Rahul" not in b.decode() for b in peer.bodies)


def test_try_with_a_voice_note(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with serve_chat_peer(lambda m: "Heard: " + m[-1]["content"]) as peer:
        monkeypatch.setenv("LEADCLOSE_LLM_BASE_URL", peer.base_url)
        code = main(
            ["prompts", "try", "default", "--audio", str(ROOT / "agent" / "assets" / "sample_voice_note.ogg")]
        )
    assert code == 0
    out = capsys.readouterr().out
    transcript = next(line for line in out.splitlines() if line.startswith("transcript"))
    assert len(transcript.split()) > 3
    assert "reply       Heard: " in out
    assert "tools" not in peer.requests[0]  # the default tenant offers none


def test_try_needs_a_message_or_audio() -> None:
    with pytest.raises(SystemExit, match="needs a MESSAGE or --audio"):
        main(["prompts", "try", "default"])


def test_the_worker_refuses_to_start_with_an_invalid_tenant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", prompts / "default")
    path = prompts / "default" / "tenant.yaml"
    path.write_text(path.read_text().replace("tone:", "tonne:"))
    monkeypatch.setenv("LEADCLOSE_PROMPTS_DIR", str(prompts))
    monkeypatch.setenv("LEADCLOSE_MASTER_KEY", "test-master-key-123456")
    monkeypatch.setenv("LEADCLOSE_REDIS_URL", "redis://127.0.0.1:9/0")  # never reached
    saved = structlog.get_config()  # the worker configures process-wide logging before it loads tenants
    try:
        assert main(["worker"]) == 2
    finally:
        structlog.configure(**saved)
    assert "tonne: Extra inputs are not permitted" in capsys.readouterr().err
