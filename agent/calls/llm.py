"""A LiveKit LLM on the business's automation: the same prompt assembly, history cap, tool loop and error mapping
as chat turns (`pipelines.automation.Automation` over our `Responder`), every request streamed.

The chat context it receives has already been minimized by the agent's `llm_node`. The tool loop runs inside
one request of this LLM: its follow-up requests are built by `Automation` from minimized content, tool
arguments get real values back only for the business's own tools, and tool results are minimized against
the call's vault before the model reads them. LiveKit sees only the text, a sentence at a time.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from livekit.agents import APIConnectionError, APIStatusError, APITimeoutError, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from agent.storage.erasure import ErasedError
from pipelines.llm import ChatTurn, LLMError, LLMFailure

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Collection, Sequence

    from pipelines.automation import Automation, ToolBox, ToolCallRecord
    from pipelines.llm import Responder
    from pipelines.pii import RestorePolicy, Vault


class AutomationLLM(llm.LLM[None]):
    """One per call: it holds the call's vault and toolbox (tenant, conversation and person bound by the server)."""

    def __init__(
        self,
        responder: Responder,
        automation: Automation,
        *,
        model: str,
        vault: Vault,
        policy: RestorePolicy,
        public: Collection[str] = (),
        toolbox: ToolBox | None = None,
        max_steps: int | None = None,
        on_tool_calls: Callable[[Sequence[ToolCallRecord]], None] | None = None,
        on_erased: Callable[[], None] | None = None,
    ) -> None:
        """`on_erased`: a tool found the caller erased since the call began (its fence refused the write or
        the webhook call): the reply stops there, and the call is told so it ends."""
        super().__init__()
        self._responder = responder
        self._automation = automation
        self._model = model
        self._vault = vault
        self._policy = policy
        self._public = public
        self._toolbox = toolbox
        self._max_steps = max_steps
        self._on_tool_calls = on_tool_calls
        self._on_erased = on_erased

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
        return _AutomationStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    async def answer(self, chat_ctx: llm.ChatContext) -> AsyncIterator[str]:
        """The reply a sentence at a time as the model writes it, with or without tools, so speech starts on
        the first sentence (also one said before a tool call) instead of after the whole tool loop. Tool
        calls are reported as each step's calls have run, while the reply is still being written."""
        system, history, user_text = split_context(chat_ctx)
        messages = self._responder.messages(system, history, user_text)
        try:
            async for sentence in self._automation.stream(
                messages,
                self._toolbox,
                self._vault,
                self._policy,
                public=self._public,
                max_steps=self._max_steps,
                on_tool_calls=self._on_tool_calls,
            ):
                yield sentence
        except ErasedError:
            if self._on_erased is None:
                raise
            self._on_erased()


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


class _AutomationStream(llm.LLMStream):
    def __init__(
        self,
        llm_: AutomationLLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(llm_, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._owner = llm_

    async def _run(self) -> None:
        request_id = uuid.uuid4().hex
        try:
            async for text in self._owner.answer(self._chat_ctx):
                self._event_ch.send_nowait(
                    llm.ChatChunk(id=request_id, delta=llm.ChoiceDelta(role="assistant", content=text))
                )
        except LLMError as exc:
            raise _livekit_error(exc) from None


def _livekit_error(exc: LLMError) -> Exception:
    # The call must not wait out retries: the agent speaks its apology instead (see CallAgent.llm_node).
    if exc.failure is LLMFailure.TIMEOUT:
        return APITimeoutError("llm timeout", retryable=False)
    if exc.failure is LLMFailure.STATUS:
        return APIStatusError("llm status", status_code=502, retryable=False)
    return APIConnectionError(f"llm {exc.failure.value}", retryable=False)
