from __future__ import annotations

from pipelines.sentences import cut_to_sentence, split_at_sentence_end, split_sentences


def test_split_sentences() -> None:
    assert split_sentences("Hi there! It costs 1.9 lakh. Okay?  Bye") == [
        "Hi there!",
        "It costs 1.9 lakh.",
        "Okay?",
        "Bye",
    ]
    assert split_sentences("कल आइए। ठीक है") == ["कल आइए।", "ठीक है"]
    assert split_sentences("   ") == []


def test_a_streamed_number_does_not_end_a_sentence_until_white_space_follows() -> None:
    assert split_at_sentence_end("It costs 1.") == ("", "It costs 1.")
    assert split_at_sentence_end("It costs 1.9 lakh. Instal") == ("It costs 1.9 lakh. ", "Instal")


def test_a_chunk_cut_at_a_sentence_end_is_spoken_whole_so_a_split_placeholder_is_never_restored_half() -> (
    None
):
    assert split_at_sentence_end("Sure.", complete=True) == ("Sure.", "")
    assert split_at_sentence_end("Sure. I will call <PHO", complete=True) == ("Sure. ", "I will call <PHO")
    assert split_at_sentence_end("No end yet", complete=True) == ("", "No end yet")


def test_cut_to_sentence() -> None:
    assert cut_to_sentence("It costs 1.9 lakh. Installation takes two da") == "It costs 1.9 lakh."
    assert cut_to_sentence("Sure! Call us? We") == "Sure! Call us?"
    assert cut_to_sentence("no sentence end") == "no sentence end"
