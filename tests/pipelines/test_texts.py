"""The catalogue of customer-facing texts: complete in English and Hindi, looked up by language with the
business's default language and then English behind it, the tenant's texts over the built-in ones."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from pipelines.audio import AudioProblem
from pipelines.consent import Intent
from pipelines.texts import (
    BUILT_IN,
    CALL_TEXT_FIELDS,
    ENGLISH,
    HINDI,
    TEXT_FIELDS,
    CallTexts,
    Catalogue,
    Texts,
)

DEVANAGARI = re.compile(r"[\u0900-\u097f]")
LATIN_WORD = re.compile(r"[A-Za-z]{4,}")
# Latin words a Hindi text keeps on purpose: the keywords and names a person types or reads as they are.
KEPT_IN_LATIN = {"HUMAN", "STOP", "START", "mera", "data", "bhejo", "mita", "business"}


def _every_text(texts: Texts) -> dict[str, str]:
    said = {name: getattr(texts, name) for name in TEXT_FIELDS}
    said |= {f"confirmations.{i}": texts.confirmations[i] for i in Intent}
    said |= {f"call.{name}": getattr(texts.call, name) for name in CALL_TEXT_FIELDS}
    return said | {f"call.confirmations.{i}": texts.call.confirmations[i] for i in Intent}


def test_the_field_lists_name_every_text() -> None:
    assert set(TEXT_FIELDS) == {f.name for f in fields(Texts)} - {"language", "confirmations", "call"}
    assert set(CALL_TEXT_FIELDS) == {f.name for f in fields(CallTexts)} - {"confirmations"}


@pytest.mark.parametrize("texts", [ENGLISH, HINDI], ids=["en", "hi"])
def test_every_text_exists_in_both_languages_and_is_written_in_its_script(texts: Texts) -> None:
    said = _every_text(texts)
    assert len(said) == len(TEXT_FIELDS) + len(CALL_TEXT_FIELDS) + 2 * len(Intent)
    for name, text in said.items():
        assert text.strip(), name
        assert bool(DEVANAGARI.search(text)) is (texts.language == "hi"), name
        braces = text.replace("{business}", "")
        assert not {"{", "}"} & set(braces), name
    if texts.language == "hi":  # Hindi, not English with a Hindi word: only keywords stay in Latin letters
        stray = {w for t in said.values() for w in LATIN_WORD.findall(t)} - KEPT_IN_LATIN
        assert stray == set()
    assert "{business}" in texts.disclosure
    assert "{business}" in texts.call.greeting


def test_a_lookup_falls_back_to_the_default_language_then_english() -> None:
    hindi_business = Catalogue(BUILT_IN, default="hi", served=("hi", "en"))
    assert hindi_business.get("hi") is HINDI
    assert hindi_business.get("ta") is HINDI  # no Tamil texts: the business's default language
    marathi_business = Catalogue(BUILT_IN, default="mr", served=("mr",))
    assert marathi_business.get("mr") is ENGLISH  # neither: English
    assert marathi_business.get("hi") is HINDI


def test_a_message_gets_the_texts_of_its_language_when_the_business_serves_it() -> None:
    both = Catalogue(BUILT_IN, default="en", served=("en", "hi"))
    assert both.for_message("मुझे सोलर पैनल चाहिए") is HINDI
    assert both.for_message("mujhe 3 BHK chahiye, budget kitna hai") is HINDI  # Hinglish is Hindi
    assert both.for_message("do you install on weekends?") is ENGLISH
    assert both.for_message("👍") is ENGLISH  # nothing to tell: the default
    english_only = Catalogue(BUILT_IN, default="en", served=("en",))
    assert english_only.for_message("मुझे सोलर पैनल चाहिए") is ENGLISH  # not served: not answered in Hindi


def test_a_note_heard_in_a_served_language_gets_that_languages_text() -> None:
    both = Catalogue(BUILT_IN, default="en", served=("en", "hi"))
    assert both.for_heard("hi").not_understood == HINDI.not_understood
    assert both.for_heard("es").not_understood == ENGLISH.not_understood  # Spanish is not served
    assert Catalogue(BUILT_IN, "en", ("en",)).for_heard("hi") is ENGLISH


def test_the_tenants_texts_win_and_the_rest_stay_built_in() -> None:
    catalogue = Catalogue.build(
        {
            "hi": {"unavailable": "अभी जवाब नहीं दे पा रहे, हमारी टीम आपको फ़ोन करेगी।"},
            "en": {
                "confirmations": {Intent.OPT_OUT: "Stopped."},
                "call": {"goodbye": "Bye from {business}!", "confirmations": {Intent.HUMAN: "Hold on."}},
            },
        },
        default="en",
        served=("en", "hi"),
    )
    assert catalogue.get("hi").unavailable == "अभी जवाब नहीं दे पा रहे, हमारी टीम आपको फ़ोन करेगी।"
    assert catalogue.get("hi").refused == HINDI.refused
    english = catalogue.get("en")
    assert english.confirmations[Intent.OPT_OUT] == "Stopped."
    assert english.confirmations[Intent.HUMAN] == ENGLISH.confirmations[Intent.HUMAN]
    assert english.call.for_business("Acme").goodbye == "Bye from Acme!"
    assert english.call.confirmations[Intent.HUMAN] == "Hold on."
    assert english.call.confirmations[Intent.OPT_OUT] == ENGLISH.call.confirmations[Intent.OPT_OUT]
    assert ENGLISH.confirmations[Intent.OPT_OUT] != "Stopped."  # the built-ins are never changed


def test_a_language_without_built_in_texts_starts_from_the_default_languages() -> None:
    catalogue = Catalogue.build({"mr": {"disclosure": "{business} चा AI सहाय्यक"}}, default="hi")
    marathi = catalogue.get("mr")
    assert marathi.language == "mr"
    assert marathi.disclosure == "{business} चा AI सहाय्यक"
    assert marathi.unavailable == HINDI.unavailable


def test_audio_problems_map_to_their_texts() -> None:
    assert HINDI.for_audio(AudioProblem.TOO_LONG) == HINDI.audio_too_long
    assert HINDI.for_audio(AudioProblem.TOO_LARGE) == HINDI.audio_too_long
    assert HINDI.for_audio(AudioProblem.SILENT) == HINDI.not_understood
    assert HINDI.for_audio(AudioProblem.CORRUPT) == HINDI.audio_unreadable
