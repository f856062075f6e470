"""`leadclose demo` end to end on this machine: bundled sample note, embedded LLM, real models."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import av
import pytest

from agent.cli.main import main
from pipelines.audio import decode
from tests.agent.stack import first_reply
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def _settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env; output lands in tmp
    monkeypatch.setenv("LEADCLOSE_PROMPTS_DIR", str(ROOT / "prompts"))
    monkeypatch.delenv("LEADCLOSE_LLM_BASE_URL", raising=False)


def test_demo_answers_the_sample_note_with_a_playable_voice_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reply.ogg"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "transcript  Hello, my name is Priya" in printed
    assert "<PHONE_1>" in printed  # what the LLM was sent is shown minimized
    assert "outcome     answered" in printed
    # A first-time sender gets the AI disclosure first, as the worker sends it (printed, and in the reply).
    notice = first_reply("").removesuffix("\n\n")
    assert f"disclosure  {notice}  [first contact, en]" in printed
    assert f"reply       {first_reply('')}" in printed
    with av.open(io.BytesIO(out.read_bytes())) as container:
        assert container.format.name == "ogg"
        assert container.streams.audio[0].codec_context.name == "opus"
        assert container.streams.audio[0].codec_context.channels == 1
    assert decode(out.read_bytes()).duration_s > 1.0


def test_demo_on_a_corrupt_file_replies_with_the_defined_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"OggS" + bytes(range(256)) * 4)
    out = tmp_path / "reply.ogg"
    assert main(["demo", str(bad), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "outcome     audio_rejected (corrupt)" in printed
    assert "couldn't play that audio" in printed
    assert decode(out.read_bytes()).duration_s > 1.0


def test_demo_with_an_unknown_tenant_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--tenant", "nope"]) == 2
    assert "nope/tenant.yaml: does not exist in the tenant folder" in capsys.readouterr().err
