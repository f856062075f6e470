"""A whole turn with the real models, against a local OpenAI-compatible peer (tests/llm_peer.py) that stands
in for the hosted LLM on 127.0.0.1 and records every request body it receives."""

from __future__ import annotations

import io
import json
import re
from typing import TYPE_CHECKING, Any

import av
import pytest
from openai import AsyncOpenAI
from stdnum import luhn, verhoeff

from pipelines.llm import Responder
from pipelines.pii import EntityType, RestorePolicy, RestoreScope
from pipelines.texts import ENGLISH
from pipelines.turn import Conversation, Outcome, TurnConfig, TurnRunner
from tests.conftest import ROOT, Clip
from tests.llm_peer import ChatPeer, serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

CARD = "411111111111111" + luhn.calc_check_digit("411111111111111")
AADHAAR = "23456789012" + verhoeff.calc_check_digit("23456789012")
RAW_VALUES = [
    "+91 98765 43210",
    "9876543210",
    "98765",
    "43210",
    "priya.sharma@gmail.com",
    "priya.sharma",
    CARD,
    CARD[:4] + " " + CARD[4:8],
    AADHAAR,
    AADHAAR[:4] + " " + AADHAAR[4:8],
    "ABCPE1234F",
    "abcpe1234f",
]
CONFIG = TurnConfig(
    system_prompt="You are the assistant of Suryoday Solar.",
    restore_policy=RestorePolicy(
        {EntityType.CARD: RestoreScope.NEVER, EntityType.AADHAAR: RestoreScope.NEVER}
    ),
)


def _quote_placeholders(messages: list[dict[str, Any]]) -> str:
    found = re.findall(r"<[A-Z]+_\d+>", messages[-1]["content"])
    return (
        "Thanks! Noted: " + ", ".join(found) + "." if found else "Thanks for asking. We install in two days."
    )


@pytest.fixture
def peer() -> Iterator[ChatPeer]:
    with serve_chat_peer(_quote_placeholders) as p:
        yield p


@pytest.fixture
def runner(peer: ChatPeer, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer) -> TurnRunner:
    client = AsyncOpenAI(base_url=peer.base_url, api_key="test-key", max_retries=0)
    return TurnRunner(transcriber, pii_guard(), Responder(client, "test-model", timeout_s=2.0), synthesizer)


def _assert_no_raw_pii(peer: ChatPeer) -> None:
    assert peer.bodies
    for body in peer.bodies:
        text = body.decode()
        for raw in RAW_VALUES:
            assert raw not in text, f"raw value reached the LLM: {raw[:2]}…"


async def test_text_turn_sends_only_placeholders_and_restores_per_policy(
    peer: ChatPeer, runner: TurnRunner
) -> None:
    conversation = Conversation()
    message = (
        f"Hi, I'm on +91 98765 43210, mail priya.sharma@gmail.com. Card {CARD}, Aadhaar "
        f"{AADHAAR[:4]} {AADHAAR[4:8]} {AADHAAR[8:]}, PAN ABCPE1234F. What does 3 kW cost?"
    )
    result = await runner.text(message, conversation, CONFIG)
    assert result.outcome is Outcome.ANSWERED
    _assert_no_raw_pii(peer)
    sent = peer.requests[0]["messages"]
    assert sent[0] == {"role": "system", "content": CONFIG.system_prompt}
    assert sent[-1]["content"].startswith("Hi, I'm on <PHONE_1>, mail <EMAIL_1>. Card <CARD_1>")
    assert result.reply_text == (
        "Thanks! Noted: +91 98765 43210, priya.sharma@gmail.com, [card number], [Aadhaar number], ABCPE1234F."
    )
    assert result.reply_audio is None


async def test_spoken_forms_never_reach_the_llm(peer: ChatPeer, runner: TurnRunner) -> None:
    """What Whisper writes for a spoken number and e-mail, in English and Hinglish."""
    conversation = Conversation()
    await runner.text("my email is priya dot sharma at gmail dot com", conversation, CONFIG)
    await runner.text(
        "mera number nau aath saat chhe paanch chaar teen do ek shunya hai", conversation, CONFIG
    )
    await runner.text("call me on nine eight seven six five, four three two one zero", conversation, CONFIG)
    _assert_no_raw_pii(peer)
    last = peer.requests[-1]["messages"]
    for leaked in ("priya dot", "gmail dot com", "nau aath saat", "nine eight seven"):
        assert leaked not in json.dumps(last)
    assert last[-1]["content"] == "call me on <PHONE_1>"
    assert last[3]["content"] == "mera number <PHONE_1> hai"


async def test_history_is_minimized_and_placeholders_stay_stable(peer: ChatPeer, runner: TurnRunner) -> None:
    conversation = Conversation()
    await runner.text("call me on 9876543210", conversation, CONFIG)
    await runner.text("or 098765 43210 after 6 pm, or priya.sharma@gmail.com", conversation, CONFIG)
    _assert_no_raw_pii(peer)
    second = peer.requests[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[1]["content"] == "call me on <PHONE_1>"
    assert second[2]["content"] == "Thanks! Noted: <PHONE_1>."
    assert second[3]["content"] == "or <PHONE_1> after 6 pm, or <EMAIL_1>"


async def test_voice_note_turn_end_to_end(peer: ChatPeer, runner: TurnRunner) -> None:
    note = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()
    result = await runner.voice_note(note, Conversation(), CONFIG)
    assert result.outcome is Outcome.ANSWERED
    assert result.transcript is not None
    assert "solar" in result.transcript.text.lower()
    _assert_no_raw_pii(peer)
    assert "<PHONE_1>" in peer.requests[0]["messages"][-1]["content"]
    assert re.search(r"9\D*8\D*7\D*6\D*5\D*4\D*3\D*2\D*1\D*0", result.reply_text)
    assert result.reply_audio is not None
    with av.open(io.BytesIO(result.reply_audio)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        assert container.streams.audio[0].codec_context.channels == 1
    # Encoding happens inside speaking now (each sentence while the next is synthesized).
    assert {"decode", "stt", "pii", "llm", "restore", "tts"} <= set(result.timings_ms)


async def test_llm_error_gives_the_fallback_reply(peer: ChatPeer, runner: TurnRunner) -> None:
    peer.fail_with = 500
    note = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()
    result = await runner.voice_note(note, Conversation(), CONFIG)
    assert result.outcome is Outcome.LLM_FAILED
    assert result.failure == "status"
    assert result.reply_text == ENGLISH.unavailable
    assert result.reply_audio is not None
    _assert_no_raw_pii(peer)


async def test_llm_timeout_gives_the_fallback_reply(peer: ChatPeer, runner: TurnRunner) -> None:
    peer.delay_s = 5.0
    conversation = Conversation()
    result = await runner.text("What does it cost?", conversation, CONFIG)
    assert result.outcome is Outcome.LLM_FAILED
    assert result.failure == "timeout"
    assert result.reply_text == ENGLISH.unavailable
    assert conversation.history == []


async def test_corrupt_audio_is_answered_without_calling_the_llm(peer: ChatPeer, runner: TurnRunner) -> None:
    result = await runner.voice_note(b"OggS" + b"\x00" * 400, Conversation(), CONFIG)
    assert result.outcome is Outcome.AUDIO_REJECTED
    assert result.reply_text == ENGLISH.audio_unreadable
    assert result.reply_audio is not None
    assert peer.bodies == []


async def test_foreign_speech_is_not_answered_with_invented_text(
    peer: ChatPeer, runner: TurnRunner, corpus: list[Clip]
) -> None:
    clip = next(c for c in corpus if c.path.name == "test_fr.wav")
    result = await runner.voice_note(clip.path.read_bytes(), Conversation(), CONFIG)
    assert result.outcome is Outcome.NOT_UNDERSTOOD
    assert result.reply_text == ENGLISH.not_understood
    assert peer.bodies == []


async def test_a_multilingual_business_names_the_reply_language_per_turn(
    peer: ChatPeer, runner: TurnRunner
) -> None:
    """The language is decided from the message (Hinglish → Hindi in Latin letters), not left to the model;
    a single-language business's prompt is untouched."""
    multilingual = TurnConfig(system_prompt=CONFIG.system_prompt, language="en", languages=("hi",))
    await runner.text("mujhe solar lagwana hai, kitna kharcha hoga?", Conversation(), multilingual)
    await runner.text("How much does a 3 kW system cost?", Conversation(), multilingual)
    await runner.text("How much does a 3 kW system cost?", Conversation(), CONFIG)
    systems = [body["messages"][0]["content"] for body in peer.requests]
    assert systems[0].endswith("reply in Hindi the same way (Latin letters).")
    assert systems[1].endswith("Reply in English.")
    assert systems[2] == CONFIG.system_prompt
