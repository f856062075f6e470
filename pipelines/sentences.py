"""Where a sentence ends, for everything that speaks text as it arrives (LLM stream → TTS) or cuts it.

A sentence ends at `.`, `!`, `?`, `…` or the Devanagari danda followed by white space, so the "1." of a
streamed "1.9" does not end one. Text known to be complete (a whole reply, or a chunk that a streaming
stage already cut at a sentence end) also ends a sentence at its very end.
"""

from __future__ import annotations

import re

_END = re.compile(r"[.!?…।]\s+")
_END_OR_TEXT_END = re.compile(r"[.!?…।](?:\s+|$)")
_BOUNDARY = re.compile(r"(?<=[.!?…।])\s+")
_LAST_END = re.compile(r"^.*[.!?…।](?=\s|$)", re.DOTALL)


def split_sentences(text: str) -> list[str]:
    """A whole text → its sentences, stripped, empty ones dropped."""
    return [s.strip() for s in _BOUNDARY.split(text) if s.strip()]


def split_at_sentence_end(text: str, *, complete: bool = False) -> tuple[str, str]:
    """`text` split after its last sentence end: what can be spoken now, and what waits for more text.

    `complete`: the text ends where a sentence may end (its producer cut it there), so final punctuation
    counts without the white space that would follow it."""
    pattern = _END_OR_TEXT_END if complete else _END
    ends = [m.end() for m in pattern.finditer(text)]
    if not ends:
        return "", text
    return text[: ends[-1]], text[ends[-1] :]


def cut_to_sentence(text: str) -> str:
    """A reply cut off by the token limit ends at its last complete sentence, not mid-word."""
    m = _LAST_END.match(text)
    return m.group().strip() if m else text
