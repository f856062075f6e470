"""The "please type it or call us" reply in the language of the note that could not be heard."""

from __future__ import annotations

from pipelines.texts import NOT_UNDERSTOOD, not_understood

TENANT_TEXT = "Sorry, I couldn't catch that voice note. Please type it — Hindi or English, both are fine."


def test_a_note_in_a_served_language_gets_that_languages_text() -> None:
    assert not_understood("hi", "en", ("en", "hi"), TENANT_TEXT) == NOT_UNDERSTOOD["hi"]


def test_the_default_language_and_unserved_ones_get_the_tenants_own_text() -> None:
    assert not_understood("en", "en", ("en", "hi"), TENANT_TEXT) == TENANT_TEXT
    assert not_understood("es", "en", ("en", "hi"), TENANT_TEXT) == TENANT_TEXT  # Spanish is not served
    assert not_understood("hi", "en", ("en",), TENANT_TEXT) == TENANT_TEXT  # nor Hindi by an English-only one
    assert not_understood("mr", "en", ("en", "mr"), TENANT_TEXT) == TENANT_TEXT  # no built-in Marathi text
