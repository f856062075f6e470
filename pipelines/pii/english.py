"""English words by frequency, to tell a lower-case name from a word ("grace period", "fresh", "royal").

The list is pyspellchecker's English word-frequency dictionary (MIT; built from subtitle corpora): a word seen
often in English text is a word before it is a name, in a transcript or a hurried chat. Loaded once per process
(`english_words()`, ~0.3 s, from the package's data), when the detectors are built, never per message.
"""

from __future__ import annotations

from functools import cache

_FREQUENT = 500  # occurrences in the list's corpus; names from other languages ("olga", 352) fall below


@cache
def english_words() -> frozenset[str]:
    from spellchecker import SpellChecker  # imported here: loading the dictionary is the slow part

    frequency = SpellChecker(language="en", distance=1).word_frequency
    return frozenset(word for word, count in frequency.items() if count >= _FREQUENT)


def is_english_word(word: str) -> bool:
    return word.lower() in english_words()
