"""A LiveKit LLM on our `Responder`: the same prompt assembly, history cap and error mapping as voice notes.

The chat context it receives has already been minimized by the agent's `llm_node`; this adapter only
translates it into the Responder's turns and its failures into LiveKit's retry-aware errors.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from livekit.agents import APIConnectionError, APIStatusError, APITimeoutError, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from pipelines.respond import ChatTurn, LLMError, LLMFailure

if TYPE_CHECKING:
    from pipelines.respond import Responder


class ResponderLLM(llm.LLM[None]):
    def __init__(self, responder: Responder, model: str) -> None:
        super().__init__()
        self._responder = responder
        self._model = model

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return "openai-compatible"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _ResponderStream(
            self, responder=self._responder, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )


def split_context(chat_ctx: llm.ChatContext) -> tuple[str, list[ChatTurn], str]:
    """System prompt, earlier turns and the newest user text, as the Responder takes them."""
    system: list[str] = []
    turns: list[ChatTurn] = []
    for message in chat_ctx.messages():
        text = message.text_content or ""
        if message.role in ("system", "developer"):
            system.append(text)
        elif message.role == "user":
            turns.append(ChatTurn("user", text))
        elif message.role == "assistant":
            turns.append(ChatTurn("assistant", text))
    last = turns.pop().content if turns and turns[-1].role == "user" else ""
    return "\n\n".join(s for s in system if s), turns, last


class _ResponderStream(llm.LLMStream):
    def __init__(
        self,
        llm_: ResponderLLM,
        *,
        responder: Responder,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(llm_, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._responder = responder

    async def _run(self) -> None:
        system, history, user_text = split_context(self._chat_ctx)
        try:
            reply = await self._responder.reply(self._responder.messages(system, history, user_text))
        except LLMError as exc:
            raise _livekit_error(exc) from None
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=uuid.uuid4().hex,
                delta=llm.ChoiceDelta(role="assistant", content=reply.text),
                usage=llm.CompletionUsage(
                    completion_tokens=reply.completion_tokens,
                    prompt_tokens=reply.prompt_tokens,
                    total_tokens=reply.prompt_tokens + reply.completion_tokens,
                ),
            )
        )


def _livekit_error(exc: LLMError) -> Exception:
    # The call must not wait out retries: the agent speaks its apology instead (see CallAgent.llm_node).
    if exc.failure is LLMFailure.TIMEOUT:
        return APITimeoutError("llm timeout", retryable=False)
    if exc.failure is LLMFailure.STATUS:
        return APIStatusError("llm status", status_code=502, retryable=False)
    return APIConnectionError(f"llm {exc.failure.value}", retryable=False)
