"""Maps a validation error's location (`("automation", "tools", 0, "url")`) back to its line in the YAML file,
so a business editing `tenant.yaml` is told where to look."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from collections.abc import Sequence


def line_of(text: str, loc: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node on `loc` that exists in `text` (None if not even the first)."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            # The last of repeated keys: the one the loader keeps (PyYAML: last wins).
            match = next(((k, v) for k, v in reversed(node.value) if k.value == str(part)), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def yaml_error(exc: yaml.YAMLError) -> str:
    """`line N not valid YAML (PyYAML's words)`: where and why, never the document's text (it may hold a
    secret)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    return (
        (f"line {mark.line + 1} " if mark is not None else "")
        + "not valid YAML"
        + (f" ({problem})" if problem else "")
    )
