"""Application logs: structlog JSON lines, with the PII engine as a last line of defence.

Code logs ids, counts, durations and enums (see STYLE.md); the redaction processor masks any personal value
that slips into a string field anyway, so a log line never carries one.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from pipelines.pii import Minimizer

if TYPE_CHECKING:
    from collections.abc import MutableMapping


class RedactPii:
    """structlog processor: replaces detected values in every string field with `[TYPE]`, also inside the
    lists, tuples and dicts a field holds (the formatted exception is a string field by then)."""

    def __init__(self, minimizer: Minimizer) -> None:
        self._minimizer = minimizer

    def redact(self, text: str) -> str:
        spans = self._minimizer.scan(text)
        for span in reversed(spans):
            text = f"{text[: span.start]}[{span.type.value}]{text[span.end :]}"
        return text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._value(v) for v in value)
        return value

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in event.items():
            event[key] = self._value(value)
        return event


def configure_logging(level: str = "INFO", stream: TextIO = sys.stderr) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            RedactPii(Minimizer()),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
