"""`leadclose pii scan` and the log redaction processor, both built on the PII engine."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest
import structlog

from agent.cli.main import main, scan_pii
from agent.logs import configure_logging
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from tests.conftest import Clip


def test_pii_scan_reports_spans_and_minimized_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({"text": "call 9876543210 or mail a.b@example.com"}),
        "",
        "not json",
        json.dumps({"text": 5}),
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["pii", "scan"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["minimized"] == "call <PHONE_1> or mail <EMAIL_1>"
    assert rows[0]["spans"] == [
        {"start": 5, "end": 15, "type": "PHONE"},
        {"start": 24, "end": 39, "type": "EMAIL"},
    ]
    assert "error" in rows[1]
    assert "error" in rows[2]
    assert len(rows) == 3


def test_scan_masks_known_sender_values() -> None:
    line = json.dumps({"text": "Ravi here", "known": {"wa_id": "919876543210", "profile_name": "Ravi Kumar"}})
    (row,) = scan_pii([line], pii_guard())
    assert row["minimized"] == "<PERSON_1> here"
    assert row["spans"] == [{"start": 0, "end": 4, "type": "PERSON"}]


def test_a_line_not_scanned_within_the_budget_is_an_error_without_its_text() -> None:
    lines = [json.dumps({"text": "call 9876543210"}), json.dumps({"text": "ok"})]
    rows = list(scan_pii(lines, pii_guard(budget_s=1e-9)))
    assert rows == [{"error": "pii_timeout"}, {"error": "pii_timeout"}]  # nothing of the text is echoed
    (row,) = scan_pii(lines[1:], pii_guard())
    assert row["minimized"] == "ok"


def test_scan_uses_a_fresh_vault_per_line() -> None:
    rows = list(
        scan_pii([json.dumps({"text": "9876543210"}), json.dumps({"text": "9123456789"})], pii_guard())
    )
    assert [r["minimized"] for r in rows] == ["<PHONE_1>", "<PHONE_1>"]


def test_application_logs_never_carry_pii() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    structlog.get_logger().info("turn.failed", tenant="default", detail="user said 9876543210 / a@b.io")
    structlog.reset_defaults()
    line = json.loads(stream.getvalue())
    assert line["event"] == "turn.failed"
    assert line["detail"] == "user said [PHONE] / [EMAIL]"


def test_transcribe_prints_one_json_line_per_file_routed_as_a_worker_would(
    capsys: pytest.CaptureFixture[str], corpus: list[Clip]
) -> None:
    """With nothing configured but the multilingual extra: English to tiny.en, Hindi to the bundled base,
    Spanish refused; a file that is not audio gets an error line, and the others still come."""
    clips = [
        next(c for c in corpus if c.path.as_posix().endswith(name))
        for name in ("en/1089-134686-0001.flac", "hi/1041_088.ogg", "multilingual/test_es.wav")
    ]
    files = [c.path for c in clips]
    assert main(["transcribe", *map(str, files), __file__]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["file"], r.get("language"), r.get("engine")) for r in rows] == [
        (str(files[0]), "en", "whisper:tiny.en"),
        (str(files[1]), "hi", "whisper:base"),
        (str(files[2]), "es", ""),
        (__file__, None, None),
    ]
    assert "belly" in rows[0]["text"].lower()
    assert rows[1]["text"]
    assert set(rows[0]) == {"file", "language", "text", "duration_s", "engine"}
    assert rows[2]["reason"] == "unsupported_language"
    assert rows[3]["error"] == "corrupt"
    assert [r["duration_s"] for r in rows[:3]] == pytest.approx([c.duration_s for c in clips], abs=0.05)
