"""Regenerate `pipelines/pii/data/world_{given_names,surnames}.txt` from Faker's person providers.

Faker (MIT, https://github.com/joke2k/faker; the `bench` extra) keeps given names and surnames for 80+ locales;
its Latin-script lists (and the romanized lists of ja_JP, zh_CN, zh_TW…) cover the world's common names. Words
that are also common English or Hinglish chat words ("will", "may", "park", "hai") are left out: the name
detector uses these lists where nothing but the word itself says it is a name.

    python -m bench.pii.build_world_names     # then commit the two files and data/FAKER_LICENSE
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from pathlib import Path

from pipelines.pii.common_words import is_common_word

DATA = Path(__file__).resolve().parents[2] / "pipelines" / "pii" / "data"
_GIVEN = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
          "first_romanized_names", "first_romanized_names_male", "first_romanized_names_female")  # fmt: skip
_SURNAMES = ("last_names", "last_names_male", "last_names_female", "last_romanized_names")


def _attribute(provider: type, name: str) -> tuple[str, ...]:
    for cls in provider.__mro__:
        if name in cls.__dict__:
            value = cls.__dict__[name]
            return () if isinstance(value, property) else tuple(str(v) for v in value)
    return ()


def _latin(word: str) -> bool:
    letters = len(word) >= 2 and "a" <= word[0] <= "z" and "a" <= word[-1] <= "z"
    return letters and all("a" <= c <= "z" or c in "'-" for c in word)


def collect() -> tuple[set[str], set[str]]:
    import faker.providers.person as person  # a build-time tool's own dependency

    given: set[str] = set()
    surnames: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attributes, into in ((_GIVEN, given), (_SURNAMES, surnames)):
            for attribute in attributes:
                for entry in _attribute(provider, attribute):
                    into.update(w for w in entry.lower().split() if _latin(w) and not is_common_word(w))
    return given, surnames


def main() -> None:
    given, surnames = collect()
    version = importlib.metadata.version("faker")
    for name, words in (("world_given_names.txt", given), ("world_surnames.txt", surnames)):
        header = f"# Faker {version} person providers, all locales, Latin script (MIT; see FAKER_LICENSE)\n"
        (DATA / name).write_text(header + "\n".join(sorted(words)) + "\n", encoding="utf-8")
        print(f"{name}: {len(words)} names")


if __name__ == "__main__":
    main()
