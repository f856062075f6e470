"""The call agent's PII handling on its own (no call needed): what `llm_node` hands the LLM, and how the
answer is cut for speaking. Real minimizer and vault; LiveKit's own chat context types."""

from __future__ import annotations

import pytest
from livekit.agents import llm

from agent.calls.agent import CallAgent, CallBrain
from agent.calls.llm import split_context
from agent.calls.webrtc import SdpError, check_offer, keep_sha256_fingerprint
from pipelines.pii import Vault
from tests.pii_guard import pii_guard


def _agent() -> CallAgent:
    return CallAgent(CallBrain("You are the assistant of Acme."), pii_guard(), Vault())


async def test_the_llm_gets_a_minimized_copy_and_the_session_history_keeps_what_was_said() -> None:
    agent = _agent()
    ctx = llm.ChatContext()
    ctx.add_message(role="system", content="You are the assistant of Acme.")
    said = ctx.add_message(role="user", content="Call me on 98765 43210 please.")
    minimized = await agent.minimized_context(ctx)
    assert said.text_content == "Call me on 98765 43210 please."  # the session's item is untouched
    system, history, user_text = split_context(minimized)
    assert system == "You are the assistant of Acme."
    assert history == []
    assert user_text == "Call me on <PHONE_1> please."
    again = await agent.minimized_context(ctx)  # the next turn reuses the placeholder, no second vault entry
    assert again.messages()[-1].text_content == "Call me on <PHONE_1> please."


async def test_words_not_minimized_in_time_never_reach_the_llm_and_the_caller_hears_the_apology() -> None:
    from livekit.agents.voice import ModelSettings

    brain = CallBrain("You are the assistant of Acme.")
    agent = CallAgent(brain, pii_guard(budget_s=1e-9), Vault())
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content="Call me on 98765 43210 please.")
    said = [chunk async for chunk in agent.llm_node(ctx, [], ModelSettings())]
    assert said == [brain.texts.apology]  # returned before any LLM was asked (there is none here)


_OFFER = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"


def test_an_offer_needs_audio_and_a_sha256_fingerprint() -> None:
    check_offer(_OFFER)
    with pytest.raises(SdpError, match="sha-256"):
        check_offer(_OFFER.replace("sha-256", "sha-1"))
    with pytest.raises(SdpError, match="sha-256"):
        check_offer(_OFFER.replace(":AB\r\n", "\r\n"))  # 31 bytes is not a SHA-256 digest
    with pytest.raises(SdpError, match="audio"):
        check_offer(_OFFER.replace("m=audio", "m=video"))


def test_the_answer_keeps_only_the_sha256_fingerprint() -> None:
    answer = _OFFER + "a=fingerprint:sha-384 " + ":".join(["CD"] * 48) + "\r\n"
    kept = keep_sha256_fingerprint(answer)
    assert "sha-384" not in kept
    assert "a=fingerprint:sha-256 " in kept
