"""The held-out PII set builds deterministically and its gold spans point at the values they label."""

from __future__ import annotations

from bench.pii.heldout.generate import build_heldout, handwritten
from bench.pii.labels import Label
from bench.pii.marked import parse_line, read_marked


def test_marked_values_become_spans() -> None:
    example = parse_line(1, "W en | Hi [[PERSON|Ama Owusu]],\\nDOB [[DOB|3/4/51]]")
    assert example.text == "Hi Ama Owusu,\nDOB 3/4/51"
    assert [(example.text[s.start : s.end], s.type) for s in example.spans] == [
        ("Ama Owusu", Label.PERSON),
        ("3/4/51", Label.DOB),
    ]
    assert (example.mode, example.language, example.category) == ("written", "en", "pii")


def test_handwritten_messages_parse_with_clean_spans() -> None:
    examples = handwritten()
    assert len(examples) >= 200
    assert sum(not e.spans for e in examples) >= 50  # PII-free messages for false alarms
    for e in examples:
        assert "[[" not in e.text
        for s in e.spans:
            value = e.text[s.start : s.end]
            assert value == value.strip() != ""


def test_development_hand_examples_parse_with_clean_spans() -> None:
    examples = read_marked("bench.pii", "dev_handwritten.txt", first_id=200_000)
    assert sum(bool(e.spans) for e in examples) >= 20
    assert sum(not e.spans for e in examples) >= 10
    for e in examples:
        assert "[[" not in e.text
        assert all(e.text[s.start : s.end] == e.text[s.start : s.end].strip() != "" for s in e.spans)


def test_generated_set_is_deterministic() -> None:
    first, second = build_heldout(size=200), build_heldout(size=200)
    assert [(e.text, e.spans) for e in first] == [(e.text, e.spans) for e in second]
    assert {s.type for e in first for s in e.spans} >= {Label.PERSON, Label.UPI, Label.EMAIL, Label.ADDRESS}
