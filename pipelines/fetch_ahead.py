"""Voice notes of one turn fetched ahead of hearing, so a batch of notes waits for one download, not for each.

A turn hears its messages in order (the words keep their order in the prompt), but the downloads need not
wait for one another: while note 1 is decoded and transcribed, notes 2 and 3 are already on their way. The
window is bounded (`ahead` notes beyond the one being heard), because every note may be as large as the
media cap and the bytes stay in memory until they are heard.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    Fetch = Callable[[], Awaitable[bytes]]


class FetchAhead:
    """Fetches in the order given, at most `ahead + 1` at a time: the one asked for and the next `ahead`.
    A fetch's failure is raised to whoever asks for that fetch, as if it had been called then; `aclose`
    cancels whatever was not asked for (a failed turn leaves no download running)."""

    def __init__(self, fetches: Sequence[Fetch], ahead: int) -> None:
        if ahead < 0:
            raise ValueError("ahead must be >= 0")
        self._fetches = list(fetches)
        self._ahead = ahead
        self._started: dict[int, asyncio.Task[bytes]] = {}  # started, not yet asked for
        self._count = 0  # how many were started
        self._next = 0  # the one `next` returns

    async def next(self) -> bytes:
        """The next fetch's bytes, in the order given; starts the ones inside the window first."""
        index = self._next
        if index >= len(self._fetches):
            raise IndexError("every fetch was asked for")
        self._next += 1
        # Started only now, not when the previous one arrived: a note being heard counts against the window.
        while self._count < min(len(self._fetches), index + self._ahead + 1):
            self._started[self._count] = asyncio.ensure_future(self._fetches[self._count]())
            self._count += 1
        return await self._started.pop(index)  # the bytes are the caller's now: nothing here keeps them

    async def aclose(self) -> None:
        """Cancels the fetches started and never asked for, and waits for them to end."""
        pending = list(self._started.values())
        self._started.clear()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
