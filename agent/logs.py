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
    """structlog processor: replaces detected values in every string field with `[TYPE]`."""

    def __init__(self, minimizer: Minimizer) -> None:
        self._minimizer = minimizer

    def redact(self, text: str) -> str:
        spans = self._minimizer.scan(text)
        for span in reversed(spans):
            text = f"{text[: span.start]}[{span.type.value}]{text[span.end :]}"
        return text

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = self.redact(value)
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
