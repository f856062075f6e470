"""Messages written by hand, one a line, PII marked inline: `W|S language | text [[TYPE|value]] …`; a line
break inside a message is written `\\n`, lines starting with `#` are comments. The held-out set's hand-paraphrased
part (`heldout/handwritten.txt`) and the development set's hand examples (`dev_handwritten.txt`) are read so."""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING

from bench.pii.dataset import Category, Example, GoldSpan, Mode
from bench.pii.labels import Label

if TYPE_CHECKING:
    from bench.pii.surface import Language

_MARK = re.compile(r"\[\[([A-Z_]+)\|([^\]]+)\]\]")
_MODES: dict[str, Mode] = {"W": "written", "S": "spoken"}


def parse_line(id_: int, line: str) -> Example:
    """`W en | text [[PERSON|Kwame Mensah]] …` → an Example with its gold spans."""
    head, _, body = line.partition(" | ")
    body = body.replace("\\n", "\n")
    mode_code, language = head.split()
    text_parts: list[str] = []
    spans: list[GoldSpan] = []
    cursor = length = 0
    for m in _MARK.finditer(body):
        plain = body[cursor : m.start()]
        text_parts.append(plain)
        length += len(plain)
        value = m.group(2)
        spans.append(GoldSpan(length, length + len(value), Label(m.group(1))))
        text_parts.append(value)
        length += len(value)
        cursor = m.end()
    text_parts.append(body[cursor:])
    lang: Language = language  # type: ignore[assignment]
    category: Category = "pii" if spans else "clean"
    return Example(id_, "".join(text_parts), tuple(spans), (), _MODES[mode_code], lang, category)


def read_marked(package: str, name: str, *, first_id: int) -> list[Example]:
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [parse_line(first_id + i, line) for i, line in enumerate(lines)]
