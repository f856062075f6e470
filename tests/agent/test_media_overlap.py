"""A batch of voice notes through the real worker (tests/agent/stack.py: real app, worker, Redis, tiny.en):
later notes download while the first is transcribed, their words keep the batch's order, and a note that
cannot be fetched costs only its own words. The Graph API peer on 127.0.0.1
(tests/agent/whatsapp/graph_peer.py) serves the media as Meta does and holds downloads until the test's
conditions hold: the overlap is proven by conditions, never by timings."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from tests.agent.stack import TOKEN, TOKEN_ENV, Stack, eventually, running_stack
from tests.agent.whatsapp import webhooks as wh

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from redis.asyncio import Redis

    from pipelines.audio import Pcm
    from pipelines.stt import Transcriber, Transcript, WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.conftest import Clip, RedisBackend

    StackWith = Callable[[Transcriber], AbstractAsyncContextManager[Stack]]

ALICE = "919876543210"
NOTES = [("1089-134686-0000.ogg", "stew"), ("jfk.ogg", "ask not"), ("6930-75918-0000.ogg", "concord")]
MEDIA = ["5100000000", "5100000001", "5100000002"]
WAIT_S = 15.0  # a condition that never comes fails the test after this, it never hangs it


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def stack_with(redis: Redis, redis_backend: RedisBackend, synthesizer: PiperSynthesizer) -> StackWith:
    """The running stack with the recognizer a test gives it."""
    return lambda transcriber: running_stack(redis, redis_backend.url, transcriber, synthesizer)


class Observed:
    """The real tiny.en, watched: `asked[n]` is set when the worker asks it for the n-th note's words, and
    the first note's recognition goes on only once `first_waits_for` is set (or WAIT_S passed)."""

    def __init__(self, inner: WhisperTranscriber, count: int) -> None:
        self._inner = inner
        self._calls = 0
        self.asked = [threading.Event() for _ in range(count)]
        self.first_waits_for = threading.Event()
        self.first_saw_it: bool | None = None

    def transcribe(self, pcm: Pcm) -> Transcript:
        n, self._calls = self._calls, self._calls + 1
        self.asked[n].set()
        if n == 0:
            self.first_saw_it = self.first_waits_for.wait(WAIT_S)
        return self._inner.transcribe(pcm)


async def _post_batch(stack: Stack, corpus: list[Clip], *, redirected: int | None = None) -> None:
    """The three notes in one webhook: one batch, one turn. `redirected`: that note's media host answers
    with a redirect elsewhere, which the client never follows (the note cannot be fetched)."""
    messages = []
    for i, ((name, _), media_id) in enumerate(zip(NOTES, MEDIA, strict=True)):
        sha = stack.add_voice_note(media_id, next(c for c in corpus if c.path.name == name).path.read_bytes())
        if i == redirected:
            stack.graph.redirect_download(media_id, "http://localhost:9/elsewhere")
        messages.append(wh.voice(ALICE, f"wamid.batch{i}", media_id, sha))
    response = await stack.post(wh.payload(messages=messages))
    assert response.status_code == 200


def _heard(stack: Stack) -> str:
    (request,) = stack.llm.requests  # the batch is one turn: the LLM was asked once
    return str(request["messages"][-1]["content"]).lower()


async def test_later_notes_download_while_the_first_is_transcribed_and_keep_their_order(
    stack_with: StackWith, transcriber: WhisperTranscriber, corpus: list[Clip]
) -> None:
    """Note 1's recognition waits until note 2's download has reached the peer; the peer holds note 2's
    download until the recognizer was asked for note 1 and note 3's file has been served. So note 2 is
    downloading while note 1 is transcribed, and arrives after note 3; the prompt still reads 1, 2, 3."""
    observed = Observed(transcriber, len(NOTES))
    async with stack_with(observed) as stack:
        graph = stack.graph
        observed.first_waits_for = graph.download_asked(MEDIA[1])
        graph.hold_download(MEDIA[1], observed.asked[0], graph.download_served(MEDIA[2]))
        await _post_batch(stack, corpus)
        await eventually(lambda: len(stack.graph.messages) == 1, 60)
    assert observed.first_saw_it is True  # note 2 was on its way while note 1 was being transcribed
    assert all(e.is_set() for e in observed.asked)
    heard = _heard(stack)
    positions = [heard.index(word) for _, word in NOTES]
    assert positions == sorted(positions)
    downloads = [r.path for r in graph.requests if r.path.startswith("/media-download/")]
    assert sorted(downloads) == [f"/media-download/{m}" for m in MEDIA]  # each fetched once, none again


async def test_a_note_that_cannot_be_fetched_costs_only_its_own_words(
    stack_with: StackWith, transcriber: WhisperTranscriber, corpus: list[Clip]
) -> None:
    """Note 2's download is refused (its host redirects elsewhere, as in test_end_to_end's bad media): it is
    not heard, the turn answers notes 1 and 3 in their order, once, and nothing is dead-lettered."""
    async with stack_with(transcriber) as stack:
        await _post_batch(stack, corpus, redirected=1)
        await eventually(lambda: len(stack.graph.messages) == 1, 60)
        assert not await stack.has_dead_letters()
    heard = _heard(stack)
    assert "ask not" not in heard
    assert heard.index("stew") < heard.index("concord")
    (sent,) = stack.graph.messages
    assert sent["to"] == ALICE
    assert sent["type"] == "audio"


async def test_the_read_receipt_goes_while_the_note_is_heard_and_before_the_reply(
    stack_with: StackWith, transcriber: WhisperTranscriber, corpus: list[Clip]
) -> None:
    """The peer answers the read receipt only once the recognizer was asked for the note's words: the turn
    does not wait for it before downloading and hearing. The reply still goes out after it was answered."""
    observed = Observed(transcriber, 1)
    observed.first_waits_for.set()
    async with stack_with(observed) as stack:
        stack.graph.hold_read_receipts(observed.asked[0])
        data = next(c for c in corpus if c.path.name == NOTES[0][0]).path.read_bytes()
        sha = stack.add_voice_note(MEDIA[0], data)
        await stack.post(wh.payload(messages=[wh.voice(ALICE, "wamid.r0", MEDIA[0], sha)]))
        await eventually(lambda: len(stack.graph.messages) == 1, 60)
    assert [r["message_id"] for r in stack.graph.read_receipts] == ["wamid.r0"]
    assert stack.graph.receipts_at_send == [1]  # the receipt was answered before the reply arrived
    assert "stew" in _heard(stack)
