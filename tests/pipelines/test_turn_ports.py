"""The one turn composition (`TurnRunner.run`) and what it asks of the outside world: the memo spares a
redelivered turn every finished step, the gate can end a turn before any model or add the disclosure, the
spoken reply goes to `VoiceOut` once, timings arrive as frozen data. Real models; the LLM is the local
OpenAI-compatible peer on 127.0.0.1 (tests/llm_peer.py), which records every request it receives."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import TYPE_CHECKING, Any

import pytest
from openai import AsyncOpenAI
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.audio import AudioError, AudioProblem, decode
from pipelines.consent import prefaced
from pipelines.llm import Responder
from pipelines.turn import (
    Conversation,
    InMemoryMemo,
    LocalConversation,
    Message,
    OpenGate,
    Outcome,
    StageTiming,
    Turn,
    TurnConfig,
    TurnPorts,
    TurnRunner,
    given_audio,
)
from tests.conftest import ROOT
from tests.counting_voice import CountingVoice
from tests.llm_peer import ChatPeer, serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer, Synthesizer

CONFIG = TurnConfig(system_prompt="You are the assistant of Suryoday Solar.")
NOTE = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()
NOTICE = "You are talking to an AI assistant."


ANSWER = "A 3 kW system costs about 1.9 lakh rupees."


@pytest.fixture
def peer() -> Iterator[ChatPeer]:
    with serve_chat_peer(lambda _messages: ANSWER) as p:
        yield p


def _runner(peer: ChatPeer, transcriber: WhisperTranscriber, synthesizer: Synthesizer) -> TurnRunner:
    client = AsyncOpenAI(base_url=peer.base_url, api_key="test-key", max_retries=0)
    return TurnRunner(transcriber, pii_guard(), Responder(client, "test-model", timeout_s=2.0), synthesizer)


@pytest.fixture
def runner(peer: ChatPeer, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer) -> TurnRunner:
    return _runner(peer, transcriber, synthesizer)


@pytest.fixture
def voice(synthesizer: PiperSynthesizer) -> CountingVoice:
    return CountingVoice(synthesizer)


@pytest.fixture
def counted(peer: ChatPeer, transcriber: WhisperTranscriber, voice: CountingVoice) -> TurnRunner:
    """A runner whose voice is the real Piper voice, counted."""
    return _runner(peer, transcriber, voice)


class CountingMemo(InMemoryMemo):
    def __init__(self) -> None:
        super().__init__()
        self.kept: list[str] = []

    async def keep(self, step: str, value: bytes) -> None:
        self.kept.append(step)
        await super().keep(step, value)


class Uploads:
    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def publish(self, audio: bytes) -> str:
        self.published.append(audio)
        return f"media-{len(self.published)}"


class Timer:
    def __init__(self) -> None:
        self.seen: list[StageTiming] = []

    def record(self, timing: StageTiming) -> None:
        self.seen.append(timing)


class StopError(Exception):
    pass


class Disclosing(OpenGate):
    """Adds a notice (as the worker's gate does on first contact), announced as the reply starts to be spoken;
    `sent` differs from `announced` where the person's consent state changed while the model wrote (another
    turn disclosed meanwhile, or the disclosure became due). Optionally ends the turn after hearing."""

    def __init__(
        self, *, stop_after_hearing: bool = False, announced: str = NOTICE, sent: str = NOTICE
    ) -> None:
        self.stop_after_hearing = stop_after_hearing
        self.spoken: dict[str, str] = {}
        self.announced, self.sent = announced, sent
        self.asked: list[str] = []

    async def heard(self, spoken: Mapping[str, str]) -> None:
        self.spoken.update(spoken)
        if self.stop_after_hearing:
            raise StopError

    async def outgoing(self, reply: str, said: str) -> str:
        return prefaced(self.sent, reply)

    async def disclosure(self, said: str) -> str:
        self.asked.append(said)
        return self.announced


def _note_turn(runner: TurnRunner, fetches: list[int] | None = None, turn_id: str = "t1") -> Turn:
    async def fetch() -> bytes:
        if fetches is not None:
            fetches.append(1)
        return NOTE

    voice = runner.voice
    return Turn(turn_id, (Message("m1", audio=fetch),), CONFIG, voice=lambda _text: voice)


async def test_a_redelivered_turn_redoes_no_finished_step(peer: ChatPeer, runner: TurnRunner) -> None:
    """The second delivery (same memo) neither downloads, transcribes, asks the LLM, speaks nor uploads."""
    memo, uploads, fetches = CountingMemo(), Uploads(), []
    first = await runner.run(_note_turn(runner, fetches), TurnPorts(memo=memo, voice_out=uploads))
    assert first.outcome is Outcome.ANSWERED
    assert first.reply_media == "media-1"
    assert sorted(memo.kept) == ["answer:t1", "media:t1", "stt:m1"]
    assert len(peer.requests) == 1

    timer = Timer()
    again = await runner.run(
        _note_turn(runner, fetches), TurnPorts(memo=memo, voice_out=uploads, timer=timer)
    )
    assert again.outcome is Outcome.RECALLED
    assert (again.reply_text, again.reply_media) == (first.reply_text, "media-1")
    assert len(fetches) == 1  # downloaded once
    assert len(peer.requests) == 1  # the LLM was asked once
    assert len(uploads.published) == 1  # spoken and uploaded once
    assert timer.seen == []  # no stage ran again


async def test_a_turn_that_stopped_after_hearing_keeps_its_transcript(
    peer: ChatPeer, runner: TurnRunner
) -> None:
    """A gate that ends the turn after hearing (a spoken keyword) sees the words before any model; the
    retry reads the transcript from the memo instead of transcribing again."""
    memo, fetches = CountingMemo(), []
    gate = Disclosing(stop_after_hearing=True)
    with pytest.raises(StopError):
        await runner.run(_note_turn(runner, fetches), TurnPorts(memo=memo, gate=gate))
    assert "solar" in gate.spoken["m1"].lower()
    assert peer.requests == []
    assert memo.kept == ["stt:m1"]
    gate.stop_after_hearing = False
    result = await runner.run(_note_turn(runner, fetches), TurnPorts(memo=memo, gate=gate))
    assert result.outcome is Outcome.ANSWERED
    assert len(fetches) == 1
    assert result.said == gate.spoken["m1"]


def _heard(transcriber: WhisperTranscriber, audio: bytes | None) -> str:
    assert audio is not None
    return EnglishTextNormalizer()(transcriber.transcribe(decode(audio)).text)


async def test_the_disclosure_is_spoken_once_before_the_reply(
    counted: TurnRunner, voice: CountingVoice, transcriber: WhisperTranscriber
) -> None:
    """The gate's notice goes before the reply, and the note streamed while the model wrote says it first:
    the notice (from the phrase cache) and the answer are each synthesized once, nothing is spoken again."""
    conversation = Conversation()
    timer, gate = Timer(), Disclosing()
    ports = TurnPorts(gate=gate, conversation=LocalConversation(conversation), timer=timer)
    result = await counted.run(_note_turn(counted), ports)
    assert result.reply_text == prefaced(NOTICE, ANSWER)
    assert result.reply_audio_says == result.reply_text
    assert voice.texts == [NOTICE, ANSWER]
    # A voice note has no text: asked with what was said as the model is (to start synthesizing the notice),
    # then with the reply's first sentence (the language `outgoing` uses).
    assert gate.asked == [gate.spoken["m1"], ANSWER]
    heard = _heard(transcriber, result.reply_audio)
    assert heard.startswith("you are talking to an ai assistant")
    assert heard.index("assistant") < heard.index("system") < heard.index("rupees")
    # The model's answer (without the notice) is what the conversation remembers.
    assert NOTICE not in conversation.history[-1].content
    stages = [t.stage for t in timer.seen]
    assert stages.count("tts") == 1  # only what outlasted the model's last token

    again = await counted.run(_note_turn(counted, turn_id="t9"), TurnPorts(gate=Disclosing()))
    assert again.reply_audio_says == again.reply_text == prefaced(NOTICE, ANSWER)
    assert voice.times(NOTICE) == 1  # the next person's first reply: the notice's audio from the cache
    assert voice.times(ANSWER) == 2


async def test_the_disclosure_is_synthesized_while_the_model_has_not_answered_yet(
    peer: ChatPeer, counted: TurnRunner, voice: CountingVoice
) -> None:
    """The first contact is known before the model answers: the notice's synthesis starts then, and the note
    uses that synthesis instead of starting another one with the first sentence."""
    peer.hold = threading.Event()
    turn = asyncio.create_task(counted.run(_note_turn(counted), TurnPorts(gate=Disclosing())))
    try:
        await asyncio.wait_for(voice.asked.wait(), 10)
        assert voice.texts == [NOTICE]
        assert not turn.done()  # the model's answer is still held back
    finally:
        peer.hold.set()
    result = await asyncio.wait_for(turn, 30)
    assert voice.texts == [NOTICE, ANSWER]
    assert result.reply_audio_says == result.reply_text == prefaced(NOTICE, ANSWER)


@pytest.mark.parametrize(
    ("announced", "sent"),
    [(NOTICE, ""), ("", NOTICE), (NOTICE, "You are talking to a machine.")],
    ids=["disclosed-meanwhile", "became-due", "another-notice"],
)
async def test_a_disclosure_that_changed_while_the_model_wrote_is_spoken_as_sent(
    counted: TurnRunner, voice: CountingVoice, transcriber: WhisperTranscriber, announced: str, sent: str
) -> None:
    """The note streamed after the announced notice does not say what is sent: it is not used, the text
    being sent is spoken (as before the notice was announced), and says exactly that."""
    timer = Timer()
    gate = Disclosing(announced=announced, sent=sent)
    result = await counted.run(_note_turn(counted), TurnPorts(gate=gate, timer=timer))
    assert result.reply_text == prefaced(sent, ANSWER)
    assert result.reply_audio_says == result.reply_text
    assert [t.stage for t in timer.seen].count("tts") == 2  # streamed, then spoken again as sent
    heard = _heard(transcriber, result.reply_audio)
    assert ("assistant" in heard) is (sent == NOTICE)
    assert ("machine" in heard) is (sent != "" and sent != NOTICE)
    assert heard.rstrip(".").endswith("rupees")
    assert all(dataclasses.is_dataclass(t) and t.ms >= 0 for t in result.timings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.timings[0].ms = 0.0  # type: ignore[misc]
    assert result.timings == tuple(timer.seen)


async def test_media_that_cannot_be_fetched_gets_the_fixed_reply(peer: ChatPeer, runner: TurnRunner) -> None:
    async def refused() -> bytes:
        raise AudioError(AudioProblem.TOO_LARGE)

    turn = Turn("t2", (Message("m2", audio=refused), Message("m3")), CONFIG)
    result = await runner.run(turn)
    assert result.outcome is Outcome.AUDIO_REJECTED
    assert "too long" in result.reply_text  # the fixed text for audio too long or too large
    assert result.failure == "too_large"
    assert peer.requests == []


async def test_typed_text_and_a_voice_note_are_one_turn(peer: ChatPeer, runner: TurnRunner) -> None:
    """A batch is answered once, with every message's words in one user turn."""
    turn = Turn("t3", (Message("a", text="Hi there."), Message("b", audio=given_audio(NOTE))), CONFIG)
    result = await runner.run(turn)
    assert result.outcome is Outcome.ANSWERED
    sent: list[dict[str, Any]] = peer.requests[0]["messages"]
    assert sent[-1]["content"].startswith("Hi there.\n")
    assert "solar" in sent[-1]["content"].lower()
    assert result.reply_audio is None  # no voice: a text reply
