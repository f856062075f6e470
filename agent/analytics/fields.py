"""What one content-free T0 record adds to its day's rollup, and how the day's hash names it.

Fields of a day's hash: `<channel>|c|<counter>` (a count) and `<channel>|h|<metric>|<bucket>` (histogram
buckets, `histogram.py`). Channels: `text`, `voice` (a turn with a voice note), `call`. Every name comes from
code (enums, stage names, record keys), never from a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from agent.analytics.facts import Count
from agent.analytics.histogram import bucket
from pipelines.consent import Intent

if TYPE_CHECKING:
    from collections.abc import Mapping

Channel = Literal["text", "voice", "call"]
CHANNELS: tuple[Channel, ...] = ("text", "voice", "call")

# How a turn ended, as the page shows it. `answered`: the assistant's own answer; `confirmed`: a consent
# keyword's fixed confirmation; `fallback`: a fixed text instead of the model's answer (LLM failure, a voice
# note not understood, PII timeout); `handed_off`: the turn handed the person to the team, or a person of
# the team has them; `withheld`: consent (or an erasure) stopped the turn; `failed`: the send's outcome is
# unknown.
TURN_CLASSES = ("answered", "confirmed", "fallback", "handed_off", "withheld", "failed")
_NOT_WITHHELD = {"replied": "answered", "pii_timeout": "fallback", "handed_off": "handed_off"}

# Record `counts` (`facts.Count`, keyword intents) → the rollup's counter.
TURN_COUNTS: dict[str, str] = {
    Count.LEADS: "leads",
    Count.BOOKINGS: "bookings",
    Intent.OPT_OUT: "opt_outs",
    Intent.OPT_IN: "opt_ins",
    Intent.DELETE_DATA: "erasure_requests",
}


class T0Record(Protocol):
    """What the rollup reads of a T0 record (agent/privacy/records.py `ProcessingRecord`)."""

    @property
    def event(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str | None: ...
    @property
    def timings_ms(self) -> Mapping[str, float]: ...
    @property
    def sizes(self) -> Mapping[str, int]: ...
    @property
    def tokens(self) -> Mapping[str, int]: ...
    @property
    def counts(self) -> Mapping[str, int]: ...


@dataclass(frozen=True, slots=True)
class Contribution:
    channel: Channel
    counters: dict[str, int] = field(default_factory=dict)
    samples: dict[str, float] = field(default_factory=dict)  # metric → one observed value in ms

    def fields(self) -> dict[str, int]:
        """The day hash's increments."""
        out = {f"{self.channel}|c|{name}": n for name, n in self.counters.items() if n}
        for metric, value in self.samples.items():
            name = f"{self.channel}|h|{metric}|{bucket(value)}"
            out[name] = out.get(name, 0) + 1
        return out


def turn_class(record: T0Record) -> str:
    counts = record.counts
    if record.outcome == "outcome_unknown":
        return "failed"
    klass = _NOT_WITHHELD.get(record.outcome, "withheld")
    if klass != "answered":
        return klass
    if counts.get(Count.HANDOFFS) or counts.get(Intent.HUMAN):
        return "handed_off"
    if counts.get(Count.KEYWORDS):
        return "confirmed"
    return "fallback" if counts.get(Count.FALLBACK) else "answered"


def contribution(record: T0Record) -> Contribution | None:
    """None for records the analytics does not count (keywords are counted in their turn, marketing,
    retention sweeps)."""
    if record.event == "turn":
        return _turn(record)
    if record.event == "call":
        return _call(record)
    return None


def _turn(record: T0Record) -> Contribution:
    counts, timings = record.counts, record.timings_ms
    channel: Channel = "voice" if record.sizes.get("audio") else "text"
    counters = {
        "turns": 1,
        "messages": record.sizes.get("messages", 0),
        turn_class(record): 1,
        "handoffs": counts.get(Count.HANDOFFS, 0) + counts.get(Intent.HUMAN, 0),
        "tokens_prompt": record.tokens.get("prompt", 0),
        "tokens_completion": record.tokens.get("completion", 0),
    }
    counters |= {name: counts.get(key, 0) for key, name in TURN_COUNTS.items()}
    samples = {("reply" if stage == "reply" else f"stage:{stage}"): ms for stage, ms in timings.items()}
    if record.sizes.get("audio_ms"):
        samples["voice_note"] = float(record.sizes["audio_ms"])
    return Contribution(channel, counters, samples)


def _call(record: T0Record) -> Contribution:
    timings = record.timings_ms
    counts = record.counts
    counters = {
        "calls": 1,
        f"outcome:{record.outcome}": 1,
        "turns": counts.get(Count.USER_TURNS, 0),
        "answered": counts.get(Count.AGENT_TURNS, 0),
        "handoffs": counts.get(Intent.HUMAN, 0),
    }
    counters |= {name: counts.get(key, 0) for key, name in TURN_COUNTS.items()}  # keywords said in the call
    samples = {"call_duration": timings["duration"]} if "duration" in timings else {}
    if "first_audio_mean" in timings:
        samples["reply"] = timings["first_audio_mean"]
    return Contribution("call", counters, samples)
