"""The JSON API's response shapes, for its OpenAPI document (a helpdesk can build on it). Built from
`export.report_json`; the counters are those of `reader.COUNTERS` (a test keeps the two the same)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Timing(BaseModel):
    """Milliseconds; `p50`/`p95` are null when nothing was observed."""

    count: int
    p50: float | None
    p95: float | None


class ChannelNumbers(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    conversations: int = Field(description="people who wrote that day; over a range, each person once")
    turns: int
    messages: int
    answered: int = Field(description="the assistant's own answer (calls: the agent's turns)")
    confirmed: int = Field(description="a consent keyword's fixed confirmation")
    fallback: int = Field(description="a fixed text instead of the model's answer")
    handed_off: int
    withheld: int = Field(description="consent or an erasure stopped the turn")
    failed: int = Field(description="the send's outcome is unknown")
    handoffs: int
    leads: int
    bookings: int
    opt_outs: int
    opt_ins: int
    erasure_requests: int
    tokens_prompt: int
    tokens_completion: int
    calls: int
    reply_ms: Timing
    voice_note_ms: Timing
    call_duration_ms: Timing
    stages_ms: dict[str, Timing]
    call_outcomes: dict[str, int]


class Day(BaseModel):
    date: str
    channels: dict[str, ChannelNumbers] = Field(description="text, voice, call, all")


class AnalyticsReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    tenant: str
    start: str = Field(alias="from")
    end: str = Field(alias="to", description="inclusive")
    total: dict[str, ChannelNumbers]
    days: list[Day]
