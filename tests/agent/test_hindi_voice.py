"""Hindi voice notes end to end (tests/agent/stack.py: the real app, worker, Redis and models): a Hindi note
is detected, heard by the tenant's Hindi engine, answered in Hindi and spoken by the tenant's Hindi voice.

The hosted speech engine and voice are tests/speech_peer.py, a local OpenAI-compatible peer on 127.0.0.1
(`/v1/audio/transcriptions` with the bundled multilingual Whisper base, `/v1/audio/speech` with espeak-ng):
a hosted service cannot be reached here. The LLM is tests/llm_peer.py, the Graph API tests/agent/whatsapp."""

from __future__ import annotations

import io
import shutil
import unicodedata
from typing import TYPE_CHECKING, Any

import av
import jiwer
import pytest
import pytest_asyncio
import yaml
from openai import AsyncOpenAI, OpenAI

from agent.engines.speech import SpeechEngines
from agent.engines.voices import Voices
from pipelines.audio import decode, encode_voice_note
from pipelines.consent import Intent, Purpose
from pipelines.stt import in_scripts
from pipelines.texts import HINDI
from pipelines.tts import BUNDLED_VOICE, EspeakSynthesizer, OpenAISynthesizer
from tests.agent.stack import TOKEN, TOKEN_ENV, Stack, eventually, running_stack, settings
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT, Clip
from tests.ears import heard
from tests.speech_peer import SpeechPeer, serve_speech_peer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.redis_server import RedisServer

PRIYA = "919812345678"
HINDI_REPLY = "जी हाँ, हमारे पास सोलर पैनल हैं। कल सुबह हमारी टीम आपको फ़ोन करेगी।"
# What espeak-ng's Hindi, encoded as a voice note, comes back as through the Whisper base (measured 0.3-0.5 on
# short sentences): the voice note says the reply's words, robotically.
ROUND_TRIP_MAX_CER = 0.6
HINDI_VOICE: dict[str, Any] = {"hi": {"engine": "openai", "voice": "hi"}, "en": {"engine": "piper"}}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture(scope="module")
def peer(multilingual: WhisperTranscriber) -> Iterator[SpeechPeer]:
    with serve_speech_peer(multilingual) as running:
        yield running


def _tenant(tmp_path: Path, **changes: Any) -> Path:
    """The default tenant, answering in English and Hindi, with `changes` to its tenant.yaml."""
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", prompts / "default")
    path = prompts / "default" / "tenant.yaml"
    config = yaml.safe_load(path.read_text()) | {"languages": ["en", "hi"]} | changes
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return prompts


@pytest_asyncio.fixture
async def hindi_stack(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    redis: Redis,
    redis_server: RedisServer,
    transcriber: WhisperTranscriber,
    multilingual: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
    peer: SpeechPeer,
) -> AsyncIterator[Stack]:
    """`request.param`: the tenant.yaml changes."""
    prompts = _tenant(tmp_path, **request.param)
    config = settings(redis_server.url, prompts, speech_base_url=peer.base_url)
    models = {"tiny.en": transcriber, "base": multilingual}
    speech = SpeechEngines(
        config, OpenAI(base_url=peer.base_url, api_key="t", max_retries=0), loader=models.get
    )
    hosted = AsyncOpenAI(base_url=peer.base_url, api_key="t", max_retries=0)
    voices = Voices(
        synthesizer,
        ("piper", BUNDLED_VOICE),
        {("openai", "hi"): OpenAISynthesizer(hosted, model="tts-1", voice="hi")},
    )
    async with running_stack(
        redis,
        redis_server.url,
        transcriber,
        synthesizer,
        reply=lambda _: HINDI_REPLY,
        prompts_dir=prompts,
        speech=speech,
        voices=voices,
    ) as s:
        yield s
    await hosted.close()


def _note(stack: Stack, corpus: list[Clip], name: str, media_id: str) -> dict[str, Any]:
    data = next(c for c in corpus if c.path.as_posix().endswith(name)).path.read_bytes()
    return wh.voice(PRIYA, f"wamid.{media_id}", media_id, stack.add_voice_note(media_id, data))


def _plain(text: str) -> str:
    kept = "".join(
        " " if unicodedata.category(c)[0] in "PS" else c for c in unicodedata.normalize("NFC", text)
    )
    return " ".join(kept.split())


@pytest.mark.parametrize(
    "hindi_stack", [{"speech": {"hi": "hosted:whisper-1"}, "voice": HINDI_VOICE}], indirect=True
)
async def test_a_hindi_voice_note_is_heard_answered_and_spoken_in_hindi(
    hindi_stack: Stack, peer: SpeechPeer, corpus: list[Clip], multilingual: WhisperTranscriber
) -> None:
    stack = hindi_stack
    # She writes first (answered in text, with the AI disclosure), then sends a voice note.
    first = wh.text(PRIYA, "wamid.t1", "नमस्ते, मुझे सोलर पैनल के बारे में जानना है")
    await stack.post(wh.payload(messages=[first]))
    await eventually(lambda: len(stack.graph.messages) == 1, within_s=60)
    assert stack.graph.messages[0]["type"] == "text"
    heard_before, spoken_before = len(peer.transcriptions), len(peer.speeches)
    await stack.post(wh.payload(messages=[_note(stack, corpus, "hi/1041_088.ogg", "2000000001")]))
    await eventually(lambda: len(stack.graph.messages) == 2, within_s=120)
    # Heard by the tenant's hosted Hindi engine, told the language it detected.
    (transcription,) = peer.transcriptions[heard_before:]
    assert (transcription["model"], transcription["language"]) == ("whisper-1", "hi")
    # The LLM sees the Hindi transcript (Devanagari, PII-minimized) and is told to answer in Hindi.
    prompt = stack.llm.requests[-1]
    assert in_scripts(prompt["messages"][-1]["content"], frozenset({"DEVANAGARI"}), share=0.9)
    assert prompt["messages"][0]["content"].endswith("Reply in Hindi.")
    # The answer goes out as a voice note in the tenant's Hindi voice.
    sent = stack.graph.messages[1]
    assert sent["type"] == "audio"
    spoken = peer.speeches[spoken_before:]
    assert {s["voice"] for s in spoken} == {"hi"}
    said = " ".join(s["input"] for s in spoken)
    assert said == HINDI_REPLY
    upload = stack.graph.uploads[sent["audio"]["id"]].data
    with av.open(io.BytesIO(upload)) as container:
        codec = container.streams.audio[0].codec_context
        assert (container.format.name, codec.name, codec.channels) == ("ogg", "opus", 1)
    # … and it says those words: heard back by the Whisper base within the stated CER.
    heard_back = heard(multilingual, decode(upload), "hi")
    assert jiwer.cer(_plain(said), _plain(heard_back)) <= ROUND_TRIP_MAX_CER, heard_back


@pytest.mark.parametrize("hindi_stack", [{}], indirect=True)
async def test_a_hindi_reply_without_a_hindi_voice_goes_as_text(
    hindi_stack: Stack, corpus: list[Clip]
) -> None:
    """The default tenant has only the English Piper voice: it never reads Devanagari, the reply is text."""
    stack = hindi_stack
    await stack.post(wh.payload(messages=[_note(stack, corpus, "hi/1041_088.ogg", "2000000002")]))
    await eventually(lambda: len(stack.graph.messages) == 1, within_s=120)
    (sent,) = stack.graph.messages
    assert sent["type"] == "text"
    assert sent["text"]["body"].endswith(HINDI_REPLY)
    assert not stack.graph.uploads


@pytest.mark.parametrize(
    "hindi_stack", [{"voice": HINDI_VOICE, "replies": {"audio": "voice_and_text"}}], indirect=True
)
async def test_a_language_the_business_does_not_serve_gets_its_own_fallback(
    hindi_stack: Stack, corpus: list[Clip]
) -> None:
    """A Spanish note: detected, refused before any transcript, answered with the tenant's own (English) text
    in its English voice; no LLM call. (A Hindi note that cannot be heard gets the built-in Hindi text:
    tests/pipelines/test_texts.py.)"""
    stack = hindi_stack
    await stack.post(wh.payload(messages=[_note(stack, corpus, "multilingual/test_es.wav", "2000000003")]))
    await eventually(lambda: len(stack.graph.messages) == 2, within_s=120)
    assert not stack.llm.requests
    voice_note, copy = stack.graph.messages
    assert voice_note["type"] == "audio"
    assert copy["text"]["body"].endswith(
        stack.tenants.get("default").config.catalogue.get("en").not_understood
    )
    assert HINDI.not_understood not in copy["text"]["body"]


@pytest.mark.parametrize(
    "hindi_stack",
    [{"speech": {"hi": "refuse"}, "voice": HINDI_VOICE, "replies": {"audio": "voice_and_text"}}],
    indirect=True,
)
async def test_a_hindi_note_no_engine_may_answer_gets_please_type_it_in_hindi(
    hindi_stack: Stack, peer: SpeechPeer, corpus: list[Clip]
) -> None:
    """`speech: {hi: refuse}` (an offline business that will not answer from the bundled base's Hindi): the
    note is detected as Hindi and answered with the built-in Hindi "please type it or call us", by the Hindi
    voice, without an LLM call or a transcript."""
    stack = hindi_stack
    heard_before = len(peer.transcriptions)
    await stack.post(wh.payload(messages=[_note(stack, corpus, "hi/1041_088.ogg", "2000000004")]))
    await eventually(lambda: len(stack.graph.messages) == 2, within_s=120)
    assert not stack.llm.requests
    assert len(peer.transcriptions) == heard_before
    voice_note, copy = stack.graph.messages
    assert voice_note["type"] == "audio"
    assert copy["text"]["body"].endswith(HINDI.not_understood)
    assert peer.speeches[-1]["voice"] == "hi"


HINDI_ONLY_HOSTED: dict[str, Any] = {
    "language": "hi",
    "languages": ["hi"],
    "speech": {"hi": "hosted:whisper-1"},
}


@pytest.mark.parametrize("hindi_stack", [HINDI_ONLY_HOSTED], indirect=True)
@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("बंद कर दो", "बन्द कर दो।"),
        ("बंद करो", "Bund karo ji."),
        ("मैसेज मत भेजो", "Message Matt Bejo."),
        ("बंद कर दो", "بند کر دو"),  # Hindi in Urdu letters, as the multilingual base writes it
    ],
)
async def test_a_hindi_stop_said_in_a_voice_note_withdraws_consent_like_the_typed_one(
    hindi_stack: Stack, peer: SpeechPeer, said: str, written: str
) -> None:
    """A Hindi business hears its notes with a hosted engine. The note is real speech (espeak-ng's Hindi
    saying the command, as an OGG/Opus voice note); the peer answers with `written`, a spelling a hosted
    engine writes for it that differs from the keyword list (a nasal conjunct; romanized with English-style
    vowels and a courtesy word; English words for Hindi ones): the bundled models cannot hear these short
    commands (docs/speech.md). It acts as typed STOP does: withdrawn by voice with the note as evidence,
    confirmed in Hindi, and no LLM request. Urdu letters are refused by the Hindi guard as something to answer
    (`wrong_script`), yet a STOP written in them still takes effect."""
    stack = hindi_stack
    speech = await EspeakSynthesizer.load("hi").synthesize(said)
    peer.transcripts.append(written)
    heard_before = len(peer.transcriptions)
    media = "2000000010"
    note = wh.voice(PRIYA, "wamid.hs1", media, stack.add_voice_note(media, encode_voice_note(speech)))
    await stack.post(wh.payload(messages=[note]))
    await eventually(lambda: len(stack.graph.messages) == 1, within_s=60)
    (transcription,) = peer.transcriptions[heard_before:]
    assert (transcription["language"], transcription["text"]) == (
        "hi",
        written,
    )  # the note reached the Hindi engine
    assert stack.llm.requests == []
    config = stack.tenants.get("default").config
    expected = config.catalogue.get("hi").confirmations[Intent.OPT_OUT].replace("{business}", config.name)
    (sent,) = stack.graph.messages
    assert (sent["type"], sent["text"]["body"]) == ("text", expected)
    subject = stack.privacy.subject("default", PRIYA)
    events = [e for e in await stack.privacy.consent.events_of(subject) if e["purpose"] == "reply"]
    assert [(e["state"], e["method"], e["evidence"]) for e in events] == [("withdrawn", "voice", "wamid.hs1")]
    assert not await stack.privacy.guard.may("default", subject, Purpose.REPLY)
