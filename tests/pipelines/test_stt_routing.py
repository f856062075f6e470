"""Speech recognition per language with the real bundled models and real speech (../shared/audio): English
notes to tiny.en, Hindi notes to the multilingual base (or a hosted engine), other languages refused.

The hosted engine talks to tests/speech_peer.py, a local OpenAI-compatible `/v1/audio/transcriptions` peer on
127.0.0.1 (a hosted service cannot be reached here) that checks the protocol and records what it receives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from openai import OpenAI

from pipelines.audio import decode
from pipelines.stt import in_scripts
from pipelines.stt_routing import (
    EngineSpec,
    HostedEngine,
    LanguageRouter,
    RefusingEngine,
    SpeechError,
    WhisperEngine,
)
from tests.speech_peer import serve_speech_peer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipelines.audio import Pcm
    from pipelines.stt import WhisperTranscriber
    from tests.conftest import Clip
    from tests.speech_peer import SpeechPeer

DEVANAGARI = frozenset({"DEVANAGARI"})


def _clip(corpus: list[Clip], name: str) -> Pcm:
    return decode(next(c for c in corpus if c.path.as_posix().endswith(name)).path.read_bytes())


@pytest.fixture(scope="module")
def router(transcriber: WhisperTranscriber, multilingual: WhisperTranscriber) -> LanguageRouter:
    """A business answering in English and Hindi, offline."""
    engines = {
        "en": WhisperEngine("whisper:tiny.en", transcriber),
        "hi": WhisperEngine("whisper:base", multilingual),
    }
    return LanguageRouter(engines, "en", multilingual)


@pytest.fixture(scope="module")
def peer(multilingual: WhisperTranscriber) -> Iterator[SpeechPeer]:
    with serve_speech_peer(multilingual) as running:
        yield running


def test_an_english_note_goes_to_the_english_engine(corpus: list[Clip], router: LanguageRouter) -> None:
    heard = router.transcribe(_clip(corpus, "en/1089-134686-0001.flac"))
    assert (heard.language, heard.engine, heard.understood) == ("en", "whisper:tiny.en", True)
    assert "belly" in heard.text.lower()


def test_a_hindi_note_goes_to_the_hindi_engine_in_devanagari(
    corpus: list[Clip], router: LanguageRouter
) -> None:
    heard = router.transcribe(_clip(corpus, "hi/1041_088.ogg"))
    assert (heard.language, heard.engine, heard.understood) == ("hi", "whisper:base", True)
    assert in_scripts(
        heard.text, DEVANAGARI, share=0.9
    )  # not Urdu letters, though forced to `hi` alone would


def test_a_language_the_business_does_not_serve_is_refused(
    corpus: list[Clip], router: LanguageRouter
) -> None:
    heard = router.transcribe(_clip(corpus, "multilingual/test_es.wav"))
    assert (heard.language, heard.understood, heard.reason, heard.text) == (
        "es",
        False,
        "unsupported_language",
        "",
    )


def test_an_english_only_business_keeps_refusing_foreign_speech(
    corpus: list[Clip], transcriber: WhisperTranscriber, multilingual: WhisperTranscriber
) -> None:
    """One language: no detection at all, and tiny.en's guard refuses a Hindi note as before."""
    english_only = LanguageRouter({"en": WhisperEngine("whisper:tiny.en", transcriber)}, "en", multilingual)
    assert english_only.route(_clip(corpus, "hi/1041_088.ogg"))[0] == "en"
    heard = english_only.transcribe(_clip(corpus, "hi/1041_088.ogg"))
    assert not heard.understood
    assert heard.reason in {"low_confidence", "repetitive", "no_speech"}


def test_a_hosted_engine_hears_hindi_through_the_openai_protocol(
    corpus: list[Clip], transcriber: WhisperTranscriber, multilingual: WhisperTranscriber, peer: SpeechPeer
) -> None:
    client = OpenAI(base_url=peer.base_url, api_key="test", max_retries=0)
    engines = {"en": WhisperEngine("whisper:tiny.en", transcriber), "hi": HostedEngine(client, "whisper-1")}
    hosted = LanguageRouter(engines, "en", multilingual)
    heard = hosted.transcribe(_clip(corpus, "hi/1041_088.ogg"))
    assert (heard.language, heard.engine, heard.understood) == ("hi", "hosted:whisper-1", True)
    assert in_scripts(heard.text, DEVANAGARI, share=0.9)
    assert peer.transcriptions[-1]["model"] == "whisper-1"
    assert peer.transcriptions[-1]["language"] == "hi"  # detected here, named to the server
    english = hosted.transcribe(_clip(corpus, "en/1089-134686-0001.flac"))
    assert english.engine == "whisper:tiny.en"
    assert len(peer.transcriptions) == 1  # the English note never left the machine


def test_a_hosted_engine_that_cannot_be_reached_fails_retryably(corpus: list[Clip]) -> None:
    client = OpenAI(base_url="http://127.0.0.1:9/v1", api_key="test", max_retries=0, timeout=2)
    with pytest.raises(SpeechError, match=r"hosted:whisper-1: APIConnectionError"):
        HostedEngine(client, "whisper-1").transcribe(_clip(corpus, "hi/1041_088.ogg"), "hi")


def test_engine_names_parse() -> None:
    assert EngineSpec.parse("hosted:large-v3") == EngineSpec("large-v3", hosted=True)
    assert EngineSpec.parse(" base ").name == "whisper:base"
    with pytest.raises(ValueError, match="hosted: needs a model"):
        EngineSpec.parse("hosted:")


def test_routing_decisions_on_a_ranking(router: LanguageRouter) -> None:
    """Urdu counts for Hindi; a guess (< 0.5) goes to the served language the detector likes most; a sure
    unserved language is refused."""
    assert router.choose([("ur", 0.6), ("hi", 0.3)])[0] == "hi"
    assert router.choose([("ta", 0.3), ("hi", 0.25), ("ur", 0.2), ("en", 0.1)])[0] == "hi"
    assert router.choose([("de", 0.4), ("en", 0.3), ("hi", 0.1)])[0] == "en"
    assert router.choose([("de", 0.9), ("en", 0.05)]) == ("de", None)
    assert router.choose([("ja", 0.45)])[0] == "en"  # nothing served in the ranking: the default language
    assert router.choose([])[0] == "en"


def test_a_language_set_to_refuse_is_detected_and_asked_to_be_typed(
    corpus: list[Clip], transcriber: WhisperTranscriber, multilingual: WhisperTranscriber
) -> None:
    engines = {"en": WhisperEngine("whisper:tiny.en", transcriber), "hi": RefusingEngine()}
    heard = LanguageRouter(engines, "en", multilingual).transcribe(_clip(corpus, "hi/1041_088.ogg"))
    assert (heard.language, heard.understood, heard.reason, heard.engine) == (
        "hi",
        False,
        "no_engine",
        "refuse",
    )
    assert EngineSpec.parse("refuse").refuses
