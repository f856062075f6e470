"""What a turn did, without content: the names of a T0 record's `counts` (written by the turn handler and
the call agent, read by the rollup, `fields.py`) and the facts of a turn's answer, memoized beside it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum


class Count(StrEnum):
    """A name in a T0 record's `counts`. A consent keyword that took effect also counts under its intent
    (`pipelines.consent.Intent`: `opt_out`, `opt_in`, `human`, `delete_data`, ...)."""

    KEYWORDS = "keywords"  # consent keywords that took effect in the turn
    LEADS = "leads"
    BOOKINGS = "bookings"
    HANDOFFS = "handoffs"  # the assistant handed the person to the team
    FALLBACK = "fallback"  # a fixed text instead of the model's answer
    USER_TURNS = "user_turns"  # a call's
    AGENT_TURNS = "agent_turns"


@dataclass(frozen=True, slots=True)
class TurnFacts:
    """What a turn's answer did: its tools' effects, whether it was a fixed text, the voice notes' length.
    The handler memoizes it beside the answer, so a rerun that reuses the memoized answer records what the
    first attempt did (no content: it is stored like the answer, sealed, and only until the turn ends)."""

    leads: int = 0
    bookings: int = 0
    handoffs: int = 0
    fallback: bool = False
    audio_ms: int = 0

    def counts(self) -> dict[str, int]:
        """Its part of the record's `counts` (what did not happen is left out)."""
        named = {
            Count.LEADS: self.leads,
            Count.BOOKINGS: self.bookings,
            Count.HANDOFFS: self.handoffs,
            Count.FALLBACK: int(self.fallback),
        }
        return {name.value: n for name, n in named.items() if n}

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> TurnFacts:
        kept = json.loads(raw)
        return cls(
            leads=int(kept.get("leads", 0)),
            bookings=int(kept.get("bookings", 0)),
            handoffs=int(kept.get("handoffs", 0)),
            fallback=bool(kept.get("fallback", False)),
            audio_ms=int(kept.get("audio_ms", 0)),
        )
