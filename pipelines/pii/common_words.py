"""Common English and Hinglish chat words: a word in this list is never taken for a name on its own."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def _common() -> frozenset[str]:
    text = resources.files("pipelines.pii").joinpath("data", "common_words.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_common_word(word: str) -> bool:
    return word.lower() in _common()
