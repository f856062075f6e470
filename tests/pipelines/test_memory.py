"""Token-budgeted memory: a long conversation is summarized (minimized) instead of silently truncated.
The LLM is the local OpenAI-compatible peer (tests/llm_peer.py), which records every request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openai import AsyncOpenAI

from pipelines.llm import SUMMARY_PREFIX, ChatTurn, Responder
from pipelines.memory import SUMMARIZE_INSTRUCTIONS, LLMSummarizer, Memory, approx_tokens
from pipelines.pii import Vault
from pipelines.turn import Conversation, Outcome, TurnConfig, TurnRunner
from tests.llm_peer import serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer

BUDGET = 600
LEAKED = "priya.sharma@gmail.com"


def _is_summary_request(messages: list[dict[str, Any]]) -> bool:
    return bool(messages[0]["content"] == SUMMARIZE_INSTRUCTIONS)


def _reply(messages: list[dict[str, Any]]) -> str:
    if _is_summary_request(messages):
        # A model that writes a real value it guessed: the kept summary must not carry it.
        return f"The customer wants a 3 kW system, wrote from {LEAKED}, and asked {len(messages[1]['content'])} things."
    return "Sure, a 3 kW system costs about 1.9 lakh rupees before subsidy, installed in two to three days."


async def test_sixty_turns_stay_within_budget_through_summaries(
    transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> None:
    with serve_chat_peer(_reply) as peer:
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        responder = Responder(client, "m", timeout_s=5, max_history=50)
        pii = pii_guard()
        memory = Memory(LLMSummarizer(responder), pii, budget_tokens=BUDGET, max_messages=40)
        runner = TurnRunner(transcriber, pii, responder, synthesizer, memory=memory)
        conversation = Conversation()
        config = TurnConfig(system_prompt="You sell rooftop solar.")
        for i in range(60):
            result = await runner.text(
                f"Question {i}: my number is +91 98765 43210, what does a {i % 5 + 2} kW system cost with net "
                "metering, and how long does the subsidy take to arrive in my bank?",
                conversation,
                config,
            )
            assert result.outcome is Outcome.ANSWERED
        await client.close()

    chats = [r["messages"] for r in peer.requests if not _is_summary_request(r["messages"])]
    summaries = [r["messages"] for r in peer.requests if _is_summary_request(r["messages"])]
    assert len(chats) == 60
    for messages in chats:
        assert sum(approx_tokens(m["content"]) for m in messages[1:]) <= BUDGET
    # Summarized every few turns, not every turn; each summary request is bounded too.
    assert 3 <= len(summaries) <= 20
    assert all(sum(approx_tokens(m["content"]) for m in s) <= 2 * BUDGET for s in summaries)
    late = chats[-1]
    assert late[1]["role"] == "system"
    assert late[1]["content"].startswith(SUMMARY_PREFIX)
    assert "3 kW" in conversation.summary
    for body in peer.bodies:
        assert "98765 43210" not in body.decode()
    assert LEAKED not in conversation.summary
    assert LEAKED not in peer.bodies[-1].decode()
    assert "<EMAIL_" in conversation.summary


async def test_a_failed_summary_says_what_is_missing() -> None:
    with serve_chat_peer(lambda _: "x") as peer:
        peer.fail_with = 500
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        memory = Memory(
            LLMSummarizer(Responder(client, "m")), pii_guard(), budget_tokens=200, summary_tokens=60
        )
        history = [ChatTurn("user" if i % 2 == 0 else "assistant", "word " * 30) for i in range(10)]
        fitted = await memory.fit(history, "", "new question", Vault())
        await client.close()
    assert fitted.folded == len(history) - len(fitted.history) > 0
    assert f"{fitted.folded} earlier messages could not be summarized" in fitted.summary
    assert memory.cost(fitted.history, fitted.summary, "new question") <= 200


async def test_within_budget_nothing_is_folded() -> None:
    with serve_chat_peer(lambda _: "x") as peer:
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        memory = Memory(
            LLMSummarizer(Responder(client, "m")), pii_guard(), budget_tokens=400, summary_tokens=100
        )
        history = [ChatTurn("user", "hi"), ChatTurn("assistant", "hello")]
        fitted = await memory.fit(history, "", "price?", Vault())
        await client.close()
    assert fitted.history == history
    assert fitted.folded == 0
    assert not peer.bodies


async def test_a_summary_not_minimized_in_time_keeps_none_of_the_models_words() -> None:
    with serve_chat_peer(lambda _: "Priya Sharma wants a quote; her number is 98765 43210.") as peer:
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        memory = Memory(
            LLMSummarizer(Responder(client, "m")),
            pii_guard(budget_s=1e-9),
            budget_tokens=200,
            summary_tokens=60,
        )
        history = [ChatTurn("user" if i % 2 == 0 else "assistant", "word " * 30) for i in range(10)]
        fitted = await memory.fit(history, "", "new question", Vault())
        await client.close()
    assert fitted.summary == f"({fitted.folded} earlier messages could not be summarized.)"
