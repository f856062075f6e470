"""A person's first reply by voice note: the AI disclosure, then the answer, each spoken once. Webhook in →
worker → voice note out in one process (tests/agent/stack.py): real app, worker, Redis, consent ledger,
tiny.en, the real Piper voice (counted by a wrapper that changes nothing it says) and PyAV's Opus; local
peers for the Graph API and the LLM. tiny.en listens to the note that was uploaded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.audio import decode
from tests.agent.stack import TOKEN, TOKEN_ENV, Stack, eventually, first_reply, running_stack
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT
from tests.counting_voice import CountingVoice
from tests.ears import heard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.conftest import RedisBackend

ALICE, BOB = "919876543210", "447700900123"
SAMPLE = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()
ANSWER = "Installation takes two to three days after the free site survey."
DISCLOSURE = first_reply("").removesuffix("\n\n")  # the default tenant's, in English


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def voice(synthesizer: PiperSynthesizer) -> CountingVoice:
    return CountingVoice(synthesizer)


@pytest_asyncio.fixture
async def stack(
    redis: Redis, redis_backend: RedisBackend, transcriber: WhisperTranscriber, voice: CountingVoice
) -> AsyncIterator[Stack]:
    async with running_stack(
        redis, redis_backend.url, transcriber, voice, reply=lambda _messages: ANSWER
    ) as s:
        yield s


async def _voice_note(stack: Stack, user: str, message_id: str, media_id: str) -> None:
    sha = stack.add_voice_note(media_id, SAMPLE)
    response = await stack.post(wh.payload(messages=[wh.voice(user, message_id, media_id, sha)]))
    assert response.status_code == 200


async def _disclosures(stack: Stack, user: str) -> set[str]:
    """The sent messages the consent ledger names as the evidence of `user`'s disclosure."""
    events = await stack.privacy.consent.events_of(stack.privacy.subject("default", user))
    return {e["evidence"] for e in events if e["method"] == "disclosure"}


async def _recorded(stack: Stack, user: str) -> bool:
    return bool(await _disclosures(stack, user))


def _heard(stack: Stack, sent: dict[str, object], transcriber: WhisperTranscriber) -> list[str]:
    """The words of the voice note that was sent, as tiny.en hears them."""
    assert sent["type"] == "audio"
    audio = sent["audio"]
    assert isinstance(audio, dict)
    upload = stack.graph.uploads[audio["id"]]
    return EnglishTextNormalizer()(heard(transcriber, decode(upload.data))).split()


def _says_disclosure_then_answer(words: list[str]) -> None:
    """The disclosure's words first, the answer's after (tiny.en's spelling of the business's name varies)."""
    assert words[:4] == ["you", "are", "chatting", "with"]
    order = ["assistant", "human", "messages", "installation", "days", "survey"]
    assert [words.index(word) for word in order] == sorted(words.index(word) for word in order), words
    assert words[-1] == "survey"


async def test_a_first_reply_by_voice_says_the_disclosure_then_the_answer_each_synthesized_once(
    stack: Stack, voice: CountingVoice, transcriber: WhisperTranscriber
) -> None:
    await _voice_note(stack, ALICE, "wamid.fc1", "4000000001")
    await eventually(lambda: len(stack.graph.messages) == 1)
    (sent,) = stack.graph.messages
    _says_disclosure_then_answer(_heard(stack, sent, transcriber))
    assert voice.texts == [DISCLOSURE, ANSWER]  # nothing spoken twice
    assert len(stack.graph.uploads) == 1
    await eventually(lambda: _recorded(stack, ALICE))  # after the send
    (evidence,) = await _disclosures(stack, ALICE)  # recorded as given, with the note that said it
    assert evidence.startswith("wamid.")

    # Another person's first reply: the disclosure's audio comes from the process's cache.
    await _voice_note(stack, BOB, "wamid.fc2", "4000000002")
    await eventually(lambda: len(stack.graph.messages) == 2)
    _says_disclosure_then_answer(_heard(stack, stack.graph.messages[1], transcriber))
    assert voice.times(DISCLOSURE) == 1
    assert voice.times(ANSWER) == 2

    # Alice's next reply carries no disclosure, and none is spoken.
    await _voice_note(stack, ALICE, "wamid.fc3", "4000000003")
    await eventually(lambda: len(stack.graph.messages) == 3)
    words = _heard(stack, stack.graph.messages[2], transcriber)
    assert "assistant" not in words
    assert words[0] == "installation"
    assert voice.texts[3:] == [ANSWER]


async def test_a_retry_from_the_memo_sends_the_note_it_uploaded_once(
    stack: Stack, voice: CountingVoice, transcriber: WhisperTranscriber
) -> None:
    """Meta refuses the send (rate limit, past the client's own retries): the reply ledger lets the next
    attempt send, and that attempt takes the uploaded note from the memo: nothing is spoken or uploaded
    again, one reply goes out, the disclosure is recorded once, for that reply."""
    stack.graph.refuse_sends_next(130429, 429, times=3)  # the Graph client tries 3 times per attempt
    await _voice_note(stack, ALICE, "wamid.fr1", "4000000011")
    await eventually(lambda: len(stack.graph.messages) == 1)
    refused = [r for r in stack.graph.requests if r.path.endswith("/messages") and b'"audio"' in r.body]
    assert len(refused) == 4  # 3 refused, then the retry's
    (sent,) = stack.graph.messages
    assert list(stack.graph.uploads) == [sent["audio"]["id"]]
    _says_disclosure_then_answer(_heard(stack, sent, transcriber))
    assert voice.texts == [DISCLOSURE, ANSWER]
    await eventually(lambda: _recorded(stack, ALICE))
    assert len(await _disclosures(stack, ALICE)) == 1
