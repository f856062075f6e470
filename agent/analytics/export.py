"""A report as JSON (the API) and as CSV (the export): one row per day and channel, then the range's totals."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from agent.analytics.histogram import Percentiles
from agent.analytics.reader import COUNTERS

if TYPE_CHECKING:
    from agent.analytics.reader import ChannelStats, Report

_NONE = Percentiles(0, None, None)


def _timing(p: Percentiles) -> dict[str, Any]:
    return {"count": p.count, "p50": p.p50_ms, "p95": p.p95_ms}


def channel_json(stats: ChannelStats) -> dict[str, Any]:
    return {
        "conversations": stats.conversations,
        **stats.counts,
        "reply_ms": _timing(stats.reply),
        "voice_note_ms": _timing(stats.voice_note),
        "call_duration_ms": _timing(stats.call_duration),
        "stages_ms": {stage: _timing(p) for stage, p in stats.stages.items()},
        "call_outcomes": dict(stats.call_outcomes),
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "tenant": report.tenant,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "total": {c.channel: channel_json(c) for c in report.total},
        "days": [
            {"date": d.day.isoformat(), "channels": {c.channel: channel_json(c) for c in d.channels}}
            for d in report.days
        ],
    }


def _stages(report: Report) -> list[str]:
    return sorted({stage for c in report.total for stage in c.stages})


def csv_header(report: Report) -> list[str]:
    timings = ["reply", "voice_note", "call_duration", *(f"stage_{s}" for s in _stages(report))]
    return [
        "date", "channel", "conversations", *COUNTERS,
        *(f"{t}_{part}" for t in timings for part in ("count", "p50_ms", "p95_ms")),
        "call_outcomes",
    ]  # fmt: skip


def _row(day: str, stats: ChannelStats, stages: list[str]) -> list[Any]:
    timings = [stats.reply, stats.voice_note, stats.call_duration]
    timings += [stats.stages.get(s) or _NONE for s in stages]
    cells: list[Any] = [day, stats.channel, stats.conversations, *(stats.counts[n] for n in COUNTERS)]
    for p in timings:
        cells += [p.count, "" if p.p50_ms is None else p.p50_ms, "" if p.p95_ms is None else p.p95_ms]
    cells.append(";".join(f"{k}={v}" for k, v in stats.call_outcomes.items()))
    return cells


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    stages = _stages(report)
    writer.writerow(csv_header(report))
    for day in report.days:
        for stats in day.channels:
            writer.writerow(_row(day.day.isoformat(), stats, stages))
    for stats in report.total:
        writer.writerow(_row("total", stats, stages))
    return out.getvalue()
