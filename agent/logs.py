"""Application logs: structlog JSON lines, with the PII engine as a last line of defence.

Code logs ids, counts, durations and enums (see STYLE.md); the redaction processor masks any personal value
that slips into a string field anyway, so a log line never carries one. A line is redacted where it is
written, within a time budget: a line that cannot be redacted in time is cut down to its event name and ids,
never written raw.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from pipelines.pii import Deadline, Minimizer, PiiTimeout

if TYPE_CHECKING:
    from collections.abc import MutableMapping

DEFAULT_BUDGET_S = 0.25  # per line; a hostile 4,096-character field takes ~50 ms of one core

# What survives a line that could not be redacted in time: structure, a dotted event name, and ids that hold
# no long digit run (a conversation key can carry a phone number).
_KEPT = ("level", "timestamp")
_IDS = ("tenant", "conv", "call", "message", "stage", "outcome")
_EVENT_NAME = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,80}")
_DIGIT_RUN = re.compile(r"[0-9]{5}")


class RedactPii:
    """structlog processor: replaces detected values in every string field with `[TYPE]`, also inside the
    lists, tuples and dicts a field holds (the formatted exception is a string field by then)."""

    def __init__(self, minimizer: Minimizer, *, budget_s: float = DEFAULT_BUDGET_S) -> None:
        self._minimizer = minimizer
        self._budget_s = budget_s

    def redact(self, text: str, deadline: Deadline | None = None) -> str:
        spans = self._minimizer.scan(text, deadline=deadline)
        for span in reversed(spans):
            text = f"{text[: span.start]}[{span.type.value}]{text[span.end :]}"
        return text

    def _value(self, value: Any, deadline: Deadline) -> Any:
        if isinstance(value, str):
            return self.redact(value, deadline)
        if isinstance(value, dict):
            return {k: self._value(v, deadline) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._value(v, deadline) for v in value)
        return value

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        deadline = Deadline.after(self._budget_s)
        try:
            return {key: self._value(value, deadline) for key, value in event.items()}
        except PiiTimeout:
            return _reduced(event)


def _reduced(event: MutableMapping[str, Any]) -> dict[str, Any]:
    name = event.get("event")
    kept: dict[str, Any] = {k: event[k] for k in _KEPT if k in event}
    kept["event"] = name if isinstance(name, str) and _EVENT_NAME.fullmatch(name) else "unnamed"
    kept |= {k: event[k] for k in _IDS if _is_id(event.get(k))}
    kept["redaction"] = "timeout"
    return kept


def _is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None and _DIGIT_RUN.search(value) is None


def configure_logging(
    level: str = "INFO", stream: TextIO = sys.stderr, *, redact_budget_s: float = DEFAULT_BUDGET_S
) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            RedactPii(Minimizer(), budget_s=redact_budget_s),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
