"""A tenant's system template renders in a sandbox whose worst case is bounded: loops, string growth,
numbers given to calls, output size and time. Each hostile template is refused with a named reason."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.prompt import MAX_LOOP_STEPS, MAX_OUTPUT_CHARS, PromptError, render_system_prompt

CONTEXT = {"name": "Acme", "business": {"hours": "9-5"}, "knowledge": "k" * 100_000}


def test_system_template_renders_with_context() -> None:
    text = render_system_prompt(
        "Hi from {{ name }} ({{ business.hours }}).{% for i in range(3) %} {{ i ~ '!' }}{% endfor %}", CONTEXT
    )
    assert text == "Hi from Acme (9-5). 0! 1! 2!"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", "loops run more"),
        ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "recursive loops"),
        ("{{ knowledge * 1000 }}", "a value longer than"),
        ("{{ [knowledge, knowledge, knowledge] | join }}", "a value longer than"),
        ("{{ (knowledge ~ knowledge ~ knowledge) | length }}", "a value longer than"),
        ("{{ knowledge + knowledge + knowledge }}", "a value longer than"),
        (
            "{% set ns = namespace(s=knowledge) %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}"
            "{% endfor %}{{ ns.s | length }}",
            "a value longer than",
        ),
        ("{{ '%999999999s' % 'x' }}", "%-formatting"),
        ("{{ 'x' | center(999999999) }}", "a number above"),
        ("{{ 'x'.ljust(999999999) }}", "a number above"),
        ("{{ range(10 ** 8) | list | length }}", "a number above"),
        ("{% for i in range(500) %}{{ knowledge }}{% endfor %}", "the prompt is longer"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "calls itself"),
        ("{% include 'other.j2' %}", "include is not available"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ name.__class__.__mro__ }}", "SecurityError"),
    ],
)
def test_a_template_beyond_a_bound_is_refused_quickly(template: str, reason: str) -> None:
    started = time.perf_counter()
    with pytest.raises(PromptError, match=reason):
        render_system_prompt(template, CONTEXT)
    assert time.perf_counter() - started < 2.0  # generous: the bounds stop it in milliseconds


def test_the_loop_budget_is_for_the_whole_render() -> None:
    half = MAX_LOOP_STEPS // 2
    one = f"{{% for i in range({half // 10}) %}}{{% for j in range(10) %}}{{% endfor %}}{{% endfor %}}"
    assert render_system_prompt(one, CONTEXT) == ""
    with pytest.raises(PromptError, match="loops run more"):
        render_system_prompt(one * 3, CONTEXT)


def test_a_slow_template_hits_the_deadline() -> None:
    """An injected clock that jumps a second per look: the deadline is checked on every loop step."""
    ticks = iter(range(0, 10**6))
    with pytest.raises(PromptError, match="longer than"):
        render_system_prompt(
            "{% for i in range(50) %}.{% endfor %}", CONTEXT, clock=lambda: float(next(ticks))
        )


def _templates() -> st.SearchStrategy[str]:
    """Templates built from the constructs that cost: loops over ranges and strings, concatenation,
    repetition, filters with numbers; nested to any depth."""
    leaf = st.sampled_from(["{{ name }}", "{{ knowledge }}", "x", "{{ name ~ knowledge }}", "{{ i }}"])
    number = st.sampled_from(["3", "100", "999", "10 ** 6", "2 ** 64"])

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda n, b: f"{{% for i in range({n}) %}}{b}{{% endfor %}}", number, inner),
            st.builds(lambda b: f"{{% for c in knowledge %}}{b}{{% endfor %}}", inner),
            st.builds(lambda a, b: a + b, inner, inner),
            st.builds(lambda n: f"{{{{ knowledge * {n} }}}}", number),
            st.builds(lambda n: f"{{{{ name | center({n}) }}}}", number),
            st.builds(lambda n: f"{{{{ (knowledge ~ knowledge) | wordwrap({n}) }}}}", number),
        )

    return st.recursive(leaf, grow, max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(_templates())
def test_any_template_of_costly_constructs_renders_or_is_refused_quickly(template: str) -> None:
    started = time.perf_counter()
    try:
        out = render_system_prompt(template, CONTEXT)
    except PromptError as exc:
        out = str(exc)
    assert time.perf_counter() - started < 2.0
    assert len(out) <= MAX_OUTPUT_CHARS
