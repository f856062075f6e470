"""Prometheus metrics. Labels are tenant, stage, outcome, reason: never user ids or content."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """One set per process; a registry is injected so tests and several apps in one process don't clash."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.webhooks = Counter("leadclose_webhooks", "Webhook requests by outcome", ["outcome"], registry=r)
        self.events = Counter(
            "leadclose_events",
            "Webhook events by tenant, kind and outcome",
            ["tenant", "kind", "outcome"],
            registry=r,
        )
        self.turns = Counter(
            "leadclose_turns", "Turns finished by outcome", ["tenant", "outcome"], registry=r
        )
        self.stage_seconds = Histogram(
            "leadclose_stage_seconds", "Time per turn stage", ["stage"], buckets=_STAGE_BUCKETS, registry=r
        )
        self.turn_seconds = Histogram(
            "leadclose_turn_seconds", "Claim to reply sent", ["tenant"], buckets=_STAGE_BUCKETS, registry=r
        )
        self.retries = Counter(
            "leadclose_retries", "Turns released for another attempt", ["reason"], registry=r
        )
        self.dead_letters = Counter("leadclose_dead_letters", "Turns dead-lettered", ["reason"], registry=r)
        self.send_outcome_unknown = Counter(
            "leadclose_send_outcome_unknown",
            "Sends that may have reached the person without a usable answer; never repeated. kind: timeout, "
            "network, http_5xx, bad_response, interrupted (the sender died mid-send)",
            ["tenant", "kind"],
            registry=r,
        )
        self.backlog = Gauge(
            "leadclose_backlog_messages",
            "Inbound messages accepted and not yet acknowledged (undelivered + in flight)",
            registry=r,
        )
        self.conversations = Gauge(
            "leadclose_backlog_conversations", "Conversations by state", ["state"], registry=r
        )
        self.in_flight = Gauge("leadclose_worker_in_flight", "Turns this process is working on", registry=r)
        self.calls = Counter("leadclose_calls", "Calls ended, by outcome", ["tenant", "outcome"], registry=r)
        self.calls_active = Gauge("leadclose_calls_active", "Calls this process is in", registry=r)
        self.call_response_seconds = Histogram(
            "leadclose_call_response_seconds",
            "End of the caller's speech to the agent's first audio",
            ["tenant"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.call_stage_seconds = Histogram(
            "leadclose_call_stage_seconds",
            "Per call turn: stt, llm_first_token, tts_first_byte",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
