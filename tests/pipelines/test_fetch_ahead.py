"""Voice notes fetched ahead of hearing (`FetchAhead`, and `TurnRunner` hearing a batch through it): bounded
window, bytes in the batch's order whatever order they arrive in, a failure raised to the one who asks for
that note, nothing left downloading when a turn fails. Fetches are coroutines that wait on the test's events
(the far side of a download); the turn test uses the real models and the LLM peer (tests/llm_peer.py)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import AsyncOpenAI

from pipelines.audio import AudioError, AudioProblem
from pipelines.fetch_ahead import FetchAhead
from pipelines.llm import Responder
from pipelines.turn import InMemoryMemo, Message, Turn, TurnConfig, TurnPorts, TurnRunner
from tests.conftest import ROOT
from tests.llm_peer import serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

NOTE = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()
WITHIN_S = 5.0


class Downloads:
    """Fetches the test releases one by one; records which started, which ended and which were cancelled."""

    def __init__(self, count: int) -> None:
        self.started = [asyncio.Event() for _ in range(count)]
        self.release = [asyncio.Event() for _ in range(count)]
        self.cancelled: list[int] = []
        self.failing: dict[int, BaseException] = {}

    def fetch(self, index: int, data: bytes | None = None) -> Callable[[], Awaitable[bytes]]:
        async def run() -> bytes:
            self.started[index].set()
            try:
                await self.release[index].wait()
            except asyncio.CancelledError:
                self.cancelled.append(index)
                raise
            if index in self.failing:
                raise self.failing[index]
            return data if data is not None else str(index).encode()

        return run

    def fetches(self) -> list[Callable[[], Awaitable[bytes]]]:
        return [self.fetch(i) for i in range(len(self.started))]

    def running(self) -> list[int]:
        return [i for i, e in enumerate(self.started) if e.is_set()]


async def test_downloads_start_ahead_within_the_window_only() -> None:
    downloads = Downloads(4)
    ahead = FetchAhead(downloads.fetches(), ahead=1)
    first = asyncio.create_task(ahead.next())
    await asyncio.wait_for(downloads.started[1].wait(), WITHIN_S)
    assert downloads.running() == [0, 1]  # the one asked for and one ahead, not more
    downloads.release[0].set()
    assert await asyncio.wait_for(first, WITHIN_S) == b"0"
    assert downloads.running() == [0, 1]  # the note being heard still counts: #2 waits for the next ask
    second = asyncio.create_task(ahead.next())
    await asyncio.wait_for(downloads.started[2].wait(), WITHIN_S)
    assert downloads.running() == [0, 1, 2]
    downloads.release[1].set()
    assert await asyncio.wait_for(second, WITHIN_S) == b"1"
    await ahead.aclose()


async def test_bytes_come_in_order_whatever_order_they_arrive_in() -> None:
    downloads = Downloads(4)
    ahead = FetchAhead(downloads.fetches(), ahead=3)
    first = asyncio.create_task(ahead.next())
    await asyncio.wait_for(downloads.started[3].wait(), WITHIN_S)
    for event in reversed(downloads.release):  # the last note arrives first
        event.set()
    got = [await asyncio.wait_for(first, WITHIN_S)] + [await ahead.next() for _ in range(3)]
    assert got == [b"0", b"1", b"2", b"3"]
    with pytest.raises(IndexError):
        await ahead.next()


async def test_a_failed_download_is_raised_to_its_asker_only() -> None:
    downloads = Downloads(3)
    downloads.failing[1] = AudioError(AudioProblem.TOO_LARGE)
    for event in downloads.release:
        event.set()
    ahead = FetchAhead(downloads.fetches(), ahead=2)
    assert await ahead.next() == b"0"
    with pytest.raises(AudioError):
        await ahead.next()
    assert await ahead.next() == b"2"
    await ahead.aclose()
    assert downloads.cancelled == []


async def test_closing_cancels_what_was_never_asked_for() -> None:
    downloads = Downloads(3)
    downloads.release[0].set()
    ahead = FetchAhead(downloads.fetches(), ahead=2)
    assert await ahead.next() == b"0"
    await asyncio.wait_for(downloads.started[2].wait(), WITHIN_S)
    await asyncio.wait_for(ahead.aclose(), WITHIN_S)
    assert sorted(downloads.cancelled) == [1, 2]


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="ahead"):
        FetchAhead([], ahead=-1)


async def test_a_turn_that_fails_on_one_note_leaves_no_download_running(
    transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> None:
    """Note 1's download fails in a way the worker retries (not bad audio: e.g. Graph unreachable): the turn
    raises, notes 2 and 3, already downloading, are cancelled, and nothing is memoized or asked of the LLM."""

    class UnreachableError(Exception):
        pass

    downloads = Downloads(3)
    downloads.failing[0] = UnreachableError()
    with serve_chat_peer(lambda _messages: "Noted.") as peer:
        client = AsyncOpenAI(base_url=peer.base_url, api_key="test-key", max_retries=0)
        runner = TurnRunner(transcriber, pii_guard(), Responder(client, "m", timeout_s=2.0), synthesizer)
        turn = Turn(
            "t",
            tuple(Message(f"m{i}", audio=downloads.fetch(i, NOTE)) for i in range(3)),
            TurnConfig(system_prompt="You are an assistant."),
        )
        memo = InMemoryMemo()
        run = asyncio.create_task(runner.run(turn, TurnPorts(memo=memo)))
        await asyncio.wait_for(downloads.started[2].wait(), WITHIN_S)  # all three on their way
        downloads.release[0].set()
        with pytest.raises(UnreachableError):
            await asyncio.wait_for(run, WITHIN_S)
        assert sorted(downloads.cancelled) == [1, 2]
        assert [await memo.recall(f"stt:m{i}") for i in range(3)] == [None, None, None]
        assert peer.requests == []


@settings(deadline=None, max_examples=60)
@given(
    outcomes=st.lists(st.tuples(st.booleans(), st.integers(0, 5)), max_size=8),
    ahead=st.integers(0, 4),
)
def test_any_batch_comes_out_in_order_and_never_holds_more_than_the_window(
    outcomes: list[tuple[bool, int]], ahead: int
) -> None:
    """Whatever fails and whatever order the downloads finish in (each takes `delay` loop turns): every note's
    bytes or failure comes out at its place, and a download never starts while `ahead + 1` notes are
    already started and not yet handed out (the memory bound)."""

    async def scenario() -> None:
        handed_out, started = 0, []

        def fetch(index: int, ok: bool, delay: int) -> Callable[[], Awaitable[bytes]]:
            async def run() -> bytes:
                assert index - handed_out <= ahead, "started beyond the window"
                started.append(index)
                for _ in range(delay):
                    await asyncio.sleep(0)
                if not ok:
                    raise AudioError(AudioProblem.CORRUPT)
                return bytes([index])

            return run

        notes = FetchAhead([fetch(i, ok, d) for i, (ok, d) in enumerate(outcomes)], ahead)
        for index, (ok, _) in enumerate(outcomes):
            if ok:
                assert await notes.next() == bytes([index])
            else:
                with pytest.raises(AudioError):
                    await notes.next()
            handed_out += 1
        await notes.aclose()
        assert started == list(range(len(outcomes)))  # each fetched once, in order

    asyncio.run(asyncio.wait_for(scenario(), WITHIN_S))
