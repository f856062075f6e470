"""`reads_unfinished`: a transcript that stops where an English sentence cannot is not the end of a turn, and
nothing else is flagged (whole short answers, questions, other languages pass through to the turn model)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.turn_end import reads_unfinished


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to book a table for two and",
        "Can you send it to my",
        "At most...",
        "The sentence of Saint James, which says that he who offends against one commandment becomes guilty of all,",
        "My number is —",
        "We want the",
        "Mera order number hai: ",
    ],
)
def test_stopped_where_a_sentence_cannot_end(text: str) -> None:
    assert reads_unfinished(text)


@pytest.mark.parametrize(
    "text",
    [
        "Yes.",
        "Yes, I do.",
        "Hold on.",
        "I think so.",
        "Of course not.",
        "Who is it with?",
        "What is the price of?",  # a question is the turn model's to judge
        "And so my fellow Americans.",
        "Theek hai",
        "haan",
        "ठीक है",
        "बंद करो",
        "",
        "   ",
    ],
)
def test_whole_answers_questions_and_other_languages_are_left_to_the_model(text: str) -> None:
    assert not reads_unfinished(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=4000))
def test_any_transcript_is_judged_quickly_and_a_question_never_is(text: str) -> None:
    started = time.process_time()
    flagged = reads_unfinished(text)
    assert time.process_time() - started < 0.5
    if text.strip().endswith("?"):
        assert not flagged
