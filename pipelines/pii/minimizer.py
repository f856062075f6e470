"""minimize(): replace personal values with vault placeholders. restore(): put them back where allowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pipelines.pii.detectors import PRECEDENCE, default_detectors
from pipelines.pii.entities import Detector, EntityType, Span
from pipelines.pii.spoken import spoken_shadow
from pipelines.pii.vault import PLACEHOLDER, Vault

if TYPE_CHECKING:
    import re
    from collections.abc import Collection, Mapping, Sequence

    from pipelines.pii.deadline import Deadline


# Detectors of bare digit runs: in the shadow, a written number may be joined to spoken digits next to it.
_DIGIT_RUNS = frozenset({EntityType.PHONE, EntityType.CARD, EntityType.AADHAAR, EntityType.BANK_ACCOUNT})


class RestoreScope(StrEnum):
    """How far a business is entitled to a value of one type."""

    REPLY = "reply"  # restored in the reply to the person, and in the business's own tool calls
    TOOLS = "tools"  # restored only in arguments of the business's own tools
    NEVER = "never"


class RestoreTarget(StrEnum):
    REPLY = "reply"
    TOOL = "tool"


_ALLOWED: dict[RestoreScope, frozenset[RestoreTarget]] = {
    RestoreScope.REPLY: frozenset({RestoreTarget.REPLY, RestoreTarget.TOOL}),
    RestoreScope.TOOLS: frozenset({RestoreTarget.TOOL}),
    RestoreScope.NEVER: frozenset(),
}

# What a person reads instead of a value the reply may not show (or a placeholder the model invented).
_WITHHELD: dict[EntityType, str] = {
    EntityType.PHONE: "[phone number]",
    EntityType.EMAIL: "[e-mail]",
    EntityType.CARD: "[card number]",
    EntityType.AADHAAR: "[Aadhaar number]",
    EntityType.PAN: "[PAN]",
    EntityType.IBAN: "[IBAN]",
    EntityType.UPI: "[UPI ID]",
    EntityType.VOTER_ID: "[voter ID]",
    EntityType.PASSPORT: "[passport number]",
    EntityType.VEHICLE: "[vehicle number]",
    EntityType.GSTIN: "[GSTIN]",
    EntityType.IFSC: "[IFSC]",
    EntityType.BANK_ACCOUNT: "[bank account]",
    EntityType.IP: "[IP address]",
    EntityType.DOB: "[date of birth]",
    EntityType.PERSON: "[name]",
    EntityType.ADDRESS: "[address]",
}


@dataclass(frozen=True, slots=True)
class RestorePolicy:
    scopes: Mapping[EntityType, RestoreScope] = field(default_factory=dict)
    default: RestoreScope = RestoreScope.REPLY

    def allows(self, type_: EntityType, target: RestoreTarget) -> bool:
        return target in _ALLOWED[self.scopes.get(type_, self.default)]


@dataclass(frozen=True, slots=True)
class Minimized:
    text: str
    spans: tuple[Span, ...]  # positions in the original text


class Minimizer:
    """Stateless and thread-safe; the state is the vault passed per call."""

    def __init__(self, detectors: Sequence[Detector] | None = None) -> None:
        self._detectors = tuple(detectors) if detectors is not None else tuple(default_detectors())
        self._rank = {t: i for i, t in enumerate(PRECEDENCE)}

    def scan(
        self,
        text: str,
        vault: Vault | None = None,
        *,
        public: Collection[str] = (),
        deadline: Deadline | None = None,
    ) -> list[Span]:
        """Non-overlapping detections in text order.

        Detectors run on the spoken-form shadow of the text ("nine eight seven…" → "987…", "F X V P H six
        seven…" → "FXVPH67…"), whose spans map back to the words that said them. Where the shadow differs
        from the text, digit-run detectors also see the text itself: a written number right next to spoken
        digits is joined with them in the shadow. Values the vault knows (the sender's name) are found too.
        `public` values (the business's own published numbers) are never masked. Past `deadline`, raises
        `PiiTimeout` (checked between detectors: each is bounded, bench/hostile.py).
        """
        check = deadline.check if deadline is not None else _no_deadline
        # Known values first: on a tie with a detection ("Priya" here), the seeded identity wins (stable sort).
        candidates = vault.known_spans(text) if vault is not None else []
        shadow = spoken_shadow(text)
        if shadow.changed:
            for detector in self._detectors:
                check()
                for span in detector.find(shadow.text):
                    start, end = shadow.original_span(span.start, span.end)
                    candidates.append(Span(start, end, span.type, span.value))
        for detector in self._detectors:
            if not shadow.changed or detector.type in _DIGIT_RUNS:
                check()
                candidates.extend(detector.find(text))
        check()
        if public:
            candidates = [s for s in candidates if s.value not in public]
        return self._resolve(candidates, text)

    def _resolve(self, candidates: list[Span], text: str) -> list[Span]:
        """Higher-precedence types first, longer first; a later span that strictly contains the spans it
        overlaps replaces them (an address that contains a PIN code masks the whole address)."""
        candidates.sort(key=lambda s: (self._rank.get(s.type, len(PRECEDENCE)), -(s.end - s.start), s.start))
        taken: list[Span] = []
        for span in candidates:
            clashes = [t for t in taken if span.start < t.end and t.start < span.end]
            if not clashes:
                taken.append(span)
            elif all(
                span.start <= t.start and t.end <= span.end and (t.end - t.start) < (span.end - span.start)
                for t in clashes
            ):
                taken = [t for t in taken if t not in clashes] + [span]
            elif span.type is EntityType.ADDRESS and (trimmed := _trim(span, clashes, text)) is not None:
                taken.append(trimmed)  # an address that runs into the next value ends before it
            elif span.type is EntityType.PERSON and all(t.type is EntityType.PERSON for t in clashes):
                # Two readings of one name ("Priya K." and "K. Sharma"): the name is their union (its value is
                # read once, below). A reading inside what is taken (the sender's known name) adds nothing.
                start, end = (
                    min(span.start, *(t.start for t in clashes)),
                    max(span.end, *(t.end for t in clashes)),
                )
                if (start, end) != (min(t.start for t in clashes), max(t.end for t in clashes)):
                    merged = Span(start, end, span.type, _MERGED)
                    taken = [t for t in taken if t not in clashes] + [merged]
        taken = [
            Span(t.start, t.end, t.type, " ".join(text[t.start : t.end].lower().split()))
            if t.value is _MERGED
            else t
            for t in taken
        ]
        taken.sort(key=lambda s: s.start)
        return taken

    def minimize(self, text: str, vault: Vault, *, public: Collection[str] = ()) -> Minimized:
        """Replace every detected value with its vault placeholder (allocating new ones as needed)."""
        return self.replace(text, self.scan(text, vault, public=public), vault)

    @staticmethod
    def replace(text: str, spans: Sequence[Span], vault: Vault) -> Minimized:
        """`text` with `spans` (from `scan`) replaced by their vault placeholders."""
        parts: list[str] = []
        cursor = 0
        for span in spans:
            parts.append(text[cursor : span.start])
            parts.append(vault.placeholder(span.type, span.value, text[span.start : span.end]))
            cursor = span.end
        parts.append(text[cursor:])
        return Minimized("".join(parts), tuple(spans))


_MERGED = "\x00merged"  # the value of a union of name readings, until it is read from the text


def _no_deadline() -> None:
    return None


def _trim(span: Span, clashes: list[Span], text: str) -> Span | None:
    """`span` cut short before the first value it runs into (and the separators before that), if those all
    start after it does."""
    if any(t.start <= span.start for t in clashes):
        return None
    end = span.start + len(text[span.start : min(t.start for t in clashes)].rstrip(" ,;:-\n"))
    return Span(span.start, end, span.type, span.value) if end > span.start else None


def restore(text: str, vault: Vault, policy: RestorePolicy, target: RestoreTarget) -> str:
    """Replace placeholders with the person's values where the policy allows this target, else a neutral label.

    A placeholder the vault does not know (the model invented it) never reaches the person as `<PHONE_9>`.
    """

    def substitute(m: re.Match[str]) -> str:
        entry = vault.entry(m.group())
        type_ = EntityType(m.group(1))
        if entry is not None and policy.allows(entry.type, target):
            return entry.surface
        return _WITHHELD[type_]

    return PLACEHOLDER.sub(substitute, text)
