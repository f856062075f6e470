"""Per-conversation vault: one stable placeholder per personal value, across all turns of a conversation.

The vault is plain data (`to_dict`/`from_dict`) so the runtime can store it encrypted with the conversation's
key; it never leaves the process in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pipelines.pii.entities import EntityType, Span

if TYPE_CHECKING:
    from collections.abc import Sequence

PLACEHOLDER = re.compile(r"<(" + "|".join(t.value for t in EntityType) + r")_(\d{1,6})>")


@dataclass(frozen=True, slots=True)
class VaultEntry:
    type: EntityType
    value: str  # normalized, the identity of the value
    surface: str  # how the person first wrote it, used when restoring
    aliases: tuple[str, ...] = ()  # known values: lower-case forms searched for literally in every text


@dataclass(slots=True)
class Vault:
    _by_value: dict[tuple[EntityType, str], str] = field(default_factory=dict)
    _entries: dict[str, VaultEntry] = field(default_factory=dict)
    _counters: dict[EntityType, int] = field(default_factory=dict)
    _known: tuple[re.Pattern[str], dict[str, str]] | Literal[False] | None = None

    def placeholder(self, type_: EntityType, value: str, surface: str) -> str:
        """The placeholder for a value, allocating `<TYPE_n>` the first time the value is seen."""
        key = (type_, value)
        existing = self._by_value.get(key)
        if existing is not None:
            return existing
        n = self._counters.get(type_, 0) + 1
        self._counters[type_] = n
        token = f"<{type_.value}_{n}>"
        self._by_value[key] = token
        self._entries[token] = VaultEntry(type_, value, surface)
        return token

    def seed(self, type_: EntityType, value: str, surface: str, aliases: Sequence[str] = ()) -> str:
        """Register a value known before it is said (the sender's number, their WhatsApp profile name), so it
        is masked wherever it appears, also in forms no detector would catch (a first name alone)."""
        token = self.placeholder(type_, value, surface)
        entry = self._entries[token]
        new = tuple(a for a in dict.fromkeys(a.lower() for a in aliases) if a and a not in entry.aliases)
        if new:
            self._entries[token] = VaultEntry(entry.type, entry.value, entry.surface, entry.aliases + new)
            self._known = None
        return token

    def known_spans(self, text: str) -> list[Span]:
        """Where any alias of a seeded value occurs (case-insensitive, whole words), as that value's spans."""
        if self._known is None:
            # Keyed case-folded: IGNORECASE also matches "ſ" for "s" and "K" (Kelvin) for "k", which lower()
            # keeps apart (a lookup by lower() raised KeyError on "ſuresh").
            aliases = {a: token for token, e in self._entries.items() for a in e.aliases}
            tokens = {a.casefold(): token for a, token in aliases.items()}
            pattern = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
            self._known = (
                (re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE), tokens) if tokens else False
            )
        if self._known is False:
            return []
        regex, tokens = self._known
        spans = []
        for m in regex.finditer(text):
            token = tokens.get(m.group().casefold())
            if token is not None:
                entry = self._entries[token]
                spans.append(Span(m.start(), m.end(), entry.type, entry.value))
        return spans

    def entry(self, placeholder: str) -> VaultEntry | None:
        return self._entries.get(placeholder)

    def __len__(self) -> int:
        return len(self._entries)

    def to_dict(self) -> dict[str, list[str]]:
        return {token: [e.type.value, e.value, e.surface, *e.aliases] for token, e in self._entries.items()}

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> Vault:
        vault = cls()
        for token, (type_name, value, surface, *aliases) in data.items():
            m = PLACEHOLDER.fullmatch(token)
            if m is None:
                raise ValueError("vault: malformed placeholder")
            type_ = EntityType(type_name)
            vault._by_value[(type_, value)] = token
            vault._entries[token] = VaultEntry(type_, value, surface, tuple(aliases))
            vault._counters[type_] = max(vault._counters.get(type_, 0), int(m.group(2)))
        return vault
