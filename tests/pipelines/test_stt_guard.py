"""The per-language hallucination guard on text: loops, wrong script, loose vowel signs, a prompt said back.

The examples are what the multilingual Whisper base wrote for the Hindi corpus (../shared/audio/hi) under the
settings that were tried on the way to the Hindi profile (docs/speech.md)."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.stt import (
    HINDI_PROMPT,
    PROFILES,
    HallucinationGuard,
    echoes,
    garbled,
    in_scripts,
    repeats,
)

HINDI = PROFILES["hi"].guard


def test_a_decoding_loop_is_refused_and_everyday_repetition_is_not() -> None:
    assert HINDI.text_verdict("अप्राविचा विचा विचा विचा विचा विचा विचा") == "repetitive"
    assert HINDI.text_verdict("वाँ वाँ वाँ वाँ") == "repetitive"
    assert HINDI.text_verdict("जी हाँ हाँ, बहुत बहुत धन्यवाद") == ""  # "हाँ हाँ", "बहुत बहुत": said twice
    assert repeats("a b a b a b a b x") == 4  # a phrase loop, not only a word loop
    assert repeats("no no no") == 3


def test_hindi_in_urdu_letters_is_the_wrong_script_and_hinglish_is_fine() -> None:
    urdu = "maar یہ کو رہا نمان یہ نمان ہے انبو سک دبات نہیں"
    assert HINDI.text_verdict(urdu) == "wrong_script"
    assert HINDI.text_verdict("मुझे 3 BHK flat चाहिए, budget kitna hai?") == ""
    assert HINDI.text_verdict("mujhe ek flat chahiye Baner mein") == ""
    assert HallucinationGuard().text_verdict(urdu) == ""  # no script rule where none is configured
    assert in_scripts("", frozenset({"LATIN"}))


def test_loose_vowel_signs_are_garbled() -> None:
    """Forced to Devanagari with no way out, the model wrote runs of vowel signs without letters."""
    signs = "४ ू ॆ ु ॒ ॉ ॅ े ृ ी ॊ ॓ ॐ"
    assert garbled(signs) > 0.5
    assert HINDI.text_verdict(signs) == "garbled"
    assert garbled("हमारा विचार है कि खाला की जायदाद से इतना मुनाफा अवश्य होता है") == 0.0


def test_the_prompt_said_back_is_an_echo_and_shared_everyday_words_are_not() -> None:
    assert echoes("मैं आपकी क्या सहायता हूँ?", HINDI_PROMPT)
    assert not echoes("मैं क्या कर सकता हूँ?", HINDI_PROMPT)
    assert not echoes("क्या आप कल आ सकते हैं", HINDI_PROMPT)


def test_known_english_hallucinations_stay_refused() -> None:
    assert HallucinationGuard().text_verdict("Thank you for watching!") == "hallucination_phrase"
    assert HallucinationGuard().text_verdict("   ") == "no_speech"


@settings(deadline=None, max_examples=60)
@given(st.lists(st.sampled_from(["वाँ", "a", "b", "हाँ", "ू", "یہ", "x y"]), max_size=400))
def test_the_text_checks_are_linear_on_hostile_transcripts(words: list[str]) -> None:
    """Whatever a model (or a hosted engine) returns, judging it stays cheap (a generous bound: 4,000 words
    within 0.5 s; it takes a few milliseconds)."""
    text = " ".join(words * 10)
    start = time.perf_counter()
    verdict = HINDI.text_verdict(text)
    assert time.perf_counter() - start < 0.5
    assert verdict in {"", "no_speech", "repetitive", "wrong_script", "garbled"}
