"""The application log's safety net: the PII engine redacts personal values from every log record."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest
import structlog

from agent.logs import RedactPii, configure_logging
from pipelines.pii import Minimizer

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging configured the way the worker does it, into a buffer; structlog's defaults restored after."""
    out = io.StringIO()
    configure_logging("INFO", out)
    yield out
    structlog.reset_defaults()


def test_processor_redacts_string_fields_and_leaves_the_rest() -> None:
    event = {"event": "turn.failed", "note": "user said 98765 43210", "ms": 41, "outcome": "sent"}
    redacted = RedactPii(Minimizer())(None, "info", event)
    assert redacted == {"event": "turn.failed", "note": "user said [PHONE]", "ms": 41, "outcome": "sent"}


def test_processor_reaches_into_lists_and_dicts() -> None:
    event = {"event": "x", "items": ["mail priya.sharma@gmail.com", 3], "extra": {"who": ("PAN FXVPH6721A",)}}
    redacted = RedactPii(Minimizer())(None, "info", event)
    assert redacted["items"] == ["mail [EMAIL]", 3]
    assert redacted["extra"] == {"who": ("PAN [PAN]",)}


def test_a_log_line_carries_no_personal_value(stream: io.StringIO) -> None:
    log = structlog.get_logger()
    log.info(
        "turn.replied",
        tenant="acme",
        note="my name is Priya Sharma, number nine eight seven six five four three two one zero",
        where="Flat 302, Sai Heights, Baner Road, Pune 411045",
    )
    line = json.loads(stream.getvalue())
    text = json.dumps(line)
    for raw in ("Priya", "Sharma", "nine eight seven", "Sai Heights", "411045"):
        assert raw not in text
    assert line["event"] == "turn.replied"
    assert line["tenant"] == "acme"
    assert "[PERSON]" in line["note"]
    assert "[PHONE]" in line["note"]
    assert line["where"] == "[ADDRESS]"


def test_an_exception_message_with_pii_is_redacted(stream: io.StringIO) -> None:
    log = structlog.get_logger()
    try:
        raise ValueError("bad input: 2382 9583 5152")
    except ValueError:
        log.exception("turn.crashed")
    line = json.loads(stream.getvalue())
    assert "2382 9583 5152" not in line["exception"]
    assert "[AADHAAR]" in line["exception"]


def test_a_line_not_redacted_in_time_keeps_only_its_event_name_and_ids() -> None:
    event = {
        "event": "turn.failed",
        "level": "warning",
        "tenant": "acme",
        "conv": "acme:919876543210",  # an id that carries a phone number is dropped too
        "stage": "llm",
        "note": "user said 98765 43210",
        "ms": 41,
    }
    reduced = RedactPii(Minimizer(), budget_s=1e-9)(None, "warning", event)
    assert reduced == {
        "event": "turn.failed",
        "level": "warning",
        "tenant": "acme",
        "stage": "llm",
        "redaction": "timeout",
    }


def test_a_free_text_event_name_is_not_kept_when_the_line_times_out() -> None:
    reduced = RedactPii(Minimizer(), budget_s=1e-9)(None, "info", {"event": "Priya Sharma called"})
    assert reduced == {"event": "unnamed", "redaction": "timeout"}
