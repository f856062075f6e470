"""The tool loop: time to the first sentence a call can speak, whole (`Automation.run`) vs streamed
(`Automation.stream`).

A tenant with one tool; the local OpenAI-compatible peer (tests/llm_peer.py) answers the first request with a
tool call (optionally after "Let me check that for you.") and the follow-up with a `--words`-word reply,
writing at `--token-ms` per word or tool-call piece, streamed as server-sent events when asked to. Whole,
a call speaks once the loop has finished; streamed, on the first sentence that closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from openai import AsyncOpenAI

from pipelines.automation import Automation, ToolSpec
from pipelines.llm import Responder
from pipelines.pii import Minimizer, PiiGuard, RestorePolicy, Vault
from tests.llm_peer import Call, Reply, serve_chat_peer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from openai.types.chat import ChatCompletionMessageParam

BOOK = ToolSpec(
    "book_visit", "Book a site visit", {"type": "object", "properties": {"day": {"type": "string"}}}
)
PROMPT: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You book site visits for a real-estate agency."},
    {"role": "user", "content": "Can I see the flat in Baner on Saturday?"},
]


class _Bookings:
    """An in-process tool answering at once: the loop's own cost, not a business endpoint's, is measured."""

    def specs(self) -> Sequence[ToolSpec]:
        return [BOOK]

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        return json.dumps({"booked": True, "day": arguments.get("day", "")})


def _model(words: int, preamble: bool) -> Reply:
    sentence = "Your visit is booked for Saturday at eleven and the agent will meet you at the gate."
    reply = " ".join([sentence] * (words // len(sentence.split()) + 1)).split()[:words]
    follow_up = " ".join(reply).rstrip(".") + "."
    call: list[str | Call] = [Call("book_visit", {"day": "Saturday"})]

    def answer(messages: list[dict[str, Any]]) -> str | list[str | Call]:
        if messages[-1]["role"] == "tool":
            return follow_up
        return ["Let me check that for you.", *call] if preamble else call

    return answer


async def _first_sentence_s(loop: Automation, streamed: bool) -> float:
    start = time.perf_counter()
    vault, policy = Vault(), RestorePolicy()
    if not streamed:
        await loop.run(PROMPT, _Bookings(), vault, policy)
        return time.perf_counter() - start
    first = 0.0
    async for _ in loop.stream(PROMPT, _Bookings(), vault, policy):
        first = first or time.perf_counter() - start  # the rest is drained: the loop runs to its end
    return first


async def bench(runs: int, words: int, token_ms: float) -> None:
    print(
        f"reply {words} words at {token_ms:.0f} ms/word; medians over {runs} runs, ms to the first sentence"
    )
    print(f"{'model says first':>22} {'whole':>8} {'streamed':>9} {'ratio':>7}")
    pii = PiiGuard(Minimizer(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="pii"))
    for preamble in (False, True):
        with serve_chat_peer(_model(words, preamble)) as peer:
            peer.token_delay_s = token_ms / 1000
            async with AsyncOpenAI(base_url=peer.base_url, api_key="bench", max_retries=0) as client:
                loop = Automation(Responder(client, "bench", max_tokens=400), pii)
                await _first_sentence_s(loop, True)  # warm-up: connection, imports
                whole = statistics.median([await _first_sentence_s(loop, False) for _ in range(runs)])
                streamed = statistics.median([await _first_sentence_s(loop, True) for _ in range(runs)])
        said = '"Let me check…"' if preamble else "nothing"
        print(f"{said:>22} {whole * 1000:8.0f} {streamed * 1000:9.0f} {whole / streamed:6.1f}×")
    pii.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.automation")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--words", type=int, default=100)
    parser.add_argument("--token-ms", type=float, default=25.0)
    args = parser.parse_args()
    asyncio.run(bench(args.runs, args.words, args.token_ms))


if __name__ == "__main__":
    main()
