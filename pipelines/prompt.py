"""A tenant's system prompt, rendered from its Jinja2 template in a sandbox with a bounded worst case.

The template is the business's text, so it is untrusted: Jinja's sandbox already keeps it away from Python
internals, and this module bounds what it can cost. Every `{% for %}` iterates through a counter (a budget
for the whole render, and a deadline checked on each step), recursive loops and template inheritance are
refused, strings cannot grow past the output cap (`*`, `+`, `%`, `~`, filters and calls are checked before
they allocate), numbers passed to a call or a filter are capped, and the output is counted as it is
produced. A template beyond a bound does not render: it is refused when the tenant is loaded.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from jinja2.runtime import Context

MAX_LOOP_STEPS = 10_000  # all `for` iterations of one render together
MAX_OUTPUT_CHARS = 256 * 1024  # also the longest string a template can build
MAX_ARGUMENT = 1_000  # the largest number a call or a filter is given (widths, counts, ranges)
RENDER_DEADLINE_S = 1.0
_LOOP_FILTER = "leadclose_bounded_loop"
_CONCAT_FILTER = "leadclose_bounded_concat"


class PromptError(Exception):
    """A tenant's system template does not render; the message names the problem, never the context."""


def _size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value) + sum(len(v) for v in value if isinstance(v, str))
    return 0


def _check_size(n: int) -> None:
    if n > MAX_OUTPUT_CHARS:
        raise SecurityError(f"a value longer than {MAX_OUTPUT_CHARS} characters")


def _check_arguments(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int | float) and not isinstance(arg, bool) and abs(arg) > MAX_ARGUMENT:
            raise SecurityError(f"a number above {MAX_ARGUMENT} given to a call")
        _check_size(_size(arg))


class _Budget:
    """The steps and the deadline of one render."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._deadline = clock() + RENDER_DEADLINE_S
        self.steps = 0

    def loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.steps += 1
            if self.steps > MAX_LOOP_STEPS:
                raise SecurityError(f"loops run more than {MAX_LOOP_STEPS} times")
            if self._clock() > self._deadline:
                raise SecurityError(f"rendering takes longer than {RENDER_DEADLINE_S} s")
            yield item


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, budget: _Budget) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.filters = {name: _guarded(f) for name, f in self.filters.items()}
        self.filters[_LOOP_FILTER] = budget.loop
        self.filters[_CONCAT_FILTER] = _concat
        self.globals["range"] = _small_range

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            sized, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(times, int) and _size(sized) * max(times, 0) > MAX_OUTPUT_CHARS:
                raise SecurityError(f"a value longer than {MAX_OUTPUT_CHARS} characters")
        elif operator == "+":
            _check_size(_size(left) + _size(right))
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting is not available in templates")
        elif operator == "**":
            _check_arguments([right])
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * right > 4096:
                raise SecurityError("a number too large")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_arguments([*args, *kwargs.values()])
        result = ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        _check_size(_size(result))
        return result


def _guarded(f: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose arguments (and the value it gets) are checked before it runs, and its result after."""

    @functools.wraps(f)
    def filtered(*args: Any, **kwargs: Any) -> Any:
        _check_arguments([a for a in (*args, *kwargs.values()) if not _is_runtime(a)])
        result = f(*args, **kwargs)
        _check_size(_size(result))
        return result

    return filtered


def _is_runtime(value: Any) -> bool:
    """The context or environment Jinja passes to some filters: not the template's data."""
    return type(value).__module__.startswith("jinja2.")


def _small_range(*args: int) -> range:
    _check_arguments(args)
    return range(*args)


def _concat(parts: list[Any]) -> str:
    """`a ~ b`, with the total length checked before the join allocates."""
    texts = [str(p) for p in parts]
    _check_size(sum(len(t) for t in texts))
    return "".join(texts)


class _Bounder(NodeTransformer):
    """Every loop iterates through the render's budget; every `a ~ b` joins through a size check."""

    def visit_For(self, node: nodes.For) -> nodes.For:  # noqa: N802 - the visitor's naming
        self.generic_visit(node)
        if node.recursive:
            raise SecurityError("recursive loops are not available in tenant templates")
        node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:  # noqa: N802
        self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)


def _bounded_tree(env: _BoundedSandbox, template: str) -> nodes.Template:
    tree = env.parse(template)
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        raise SecurityError(f"{type(node).__name__.lower()} is not available in tenant templates")
    _Bounder().visit(tree)  # rewrites in place (the root is a Template, never replaced)
    tree.set_environment(env)
    return tree


def render_system_prompt(
    template: str, context: Mapping[str, Any], *, clock: Callable[[], float] = time.monotonic
) -> str:
    """Render `template` with `context`; raises `PromptError` for any template beyond a bound or broken."""
    env = _BoundedSandbox(_Budget(clock))
    try:
        compiled = env.from_string(_bounded_tree(env, template))
        out: list[str] = []
        size = 0
        for chunk in compiled.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise SecurityError(f"the prompt is longer than {MAX_OUTPUT_CHARS} characters")
            out.append(chunk)
    except RecursionError:
        raise PromptError("system template: calls itself without end") from None
    except Exception as exc:
        message = getattr(exc, "message", None) or ""
        line = getattr(exc, "lineno", None)  # a syntax error knows its line: the editor points at it
        where = f"line {line}: " if isinstance(line, int) else ""
        raise PromptError(f"system template: {where}{type(exc).__name__}: {message}".rstrip(": ")) from None
    return "".join(out).strip()
