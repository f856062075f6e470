"""Cost per turn as a conversation grows. The vault carries placeholders across turns and a turn scans only
its own new text (history is stored minimized), so turn 30 should cost what turn 1 does: the same messages are
minimized once as 30-turn conversations sharing one vault, and once each as the only turn of a conversation."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.pii import Vault, seed_sender

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipelines.pii import Minimizer

_SENDER = ("919812345678", "Ravi Kumar")  # seeded into every vault, as the worker does from the webhook
_LAST = 10  # the late turns compared with the first ones


@dataclass(frozen=True, slots=True)
class TurnCost:
    turns: int
    conversations: int
    one_turn_ms: float  # median per message of the late turns' messages, each the only turn of a conversation
    late_ms: float  # median per turn over the last `_LAST` turns of the long conversations
    long_ms: float  # median per turn over all turns of the long conversations

    @property
    def ratio(self) -> float:
        """Cost of a late turn relative to the same message as a first turn (1.0: no growth)."""
        return self.late_ms / self.one_turn_ms if self.one_turn_ms else 0.0


def _vault() -> Vault:
    vault = Vault()
    seed_sender(vault, wa_id=_SENDER[0], profile_name=_SENDER[1])
    return vault


def _timed(minimizer: Minimizer, text: str, vault: Vault) -> float:
    start = time.perf_counter()
    minimizer.minimize(text, vault)
    return (time.perf_counter() - start) * 1000


def per_turn_cost(minimizer: Minimizer, texts: Sequence[str], turns: int = 30) -> TurnCost:
    """`texts` are cut into conversations of `turns` messages; a remainder shorter than that is not used."""
    conversations = [texts[i : i + turns] for i in range(0, len(texts) - turns + 1, turns)]
    if not conversations:
        raise ValueError(f"need at least {turns} messages for one conversation")
    single: list[float] = []
    late: list[float] = []
    long: list[float] = []
    for conversation in conversations:
        single += [_timed(minimizer, text, _vault()) for text in conversation[-_LAST:]]
        vault = _vault()
        times = [_timed(minimizer, text, vault) for text in conversation]
        long += times
        late += times[-_LAST:]
    median = statistics.median
    return TurnCost(turns, len(conversations), median(single), median(late), median(long))
