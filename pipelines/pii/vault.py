"""Per-conversation vault: one stable placeholder per personal value, across all turns of a conversation.

The vault is plain data (`to_dict`/`from_dict`) so the runtime can store it encrypted with the conversation's
key; it never leaves the process in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipelines.pii.entities import EntityType

PLACEHOLDER = re.compile(r"<(" + "|".join(t.value for t in EntityType) + r")_(\d{1,6})>")


@dataclass(frozen=True, slots=True)
class VaultEntry:
    type: EntityType
    value: str  # normalized, the identity of the value
    surface: str  # how the person first wrote it, used when restoring


@dataclass(slots=True)
class Vault:
    _by_value: dict[tuple[EntityType, str], str] = field(default_factory=dict)
    _entries: dict[str, VaultEntry] = field(default_factory=dict)
    _counters: dict[EntityType, int] = field(default_factory=dict)

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

    def entry(self, placeholder: str) -> VaultEntry | None:
        return self._entries.get(placeholder)

    def __len__(self) -> int:
        return len(self._entries)

    def to_dict(self) -> dict[str, list[str]]:
        return {token: [e.type.value, e.value, e.surface] for token, e in self._entries.items()}

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> Vault:
        vault = cls()
        for token, (type_name, value, surface) in data.items():
            m = PLACEHOLDER.fullmatch(token)
            if m is None:
                raise ValueError("vault: malformed placeholder")
            type_ = EntityType(type_name)
            vault._by_value[(type_, value)] = token
            vault._entries[token] = VaultEntry(type_, value, surface)
            vault._counters[type_] = max(vault._counters.get(type_, 0), int(m.group(2)))
        return vault
