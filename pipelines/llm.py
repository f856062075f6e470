"""The business's LLM: prompt assembly from tenant config and minimized history, one call through `openai`.

Everything this module sends has already been minimized by the caller; it never sees raw PII.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pipelines.sentences import cut_to_sentence, split_at_sentence_end

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence

    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
    from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall
    from openai.types.completion_usage import CompletionUsage

Role = Literal["user", "assistant"]
SUMMARY_PREFIX = "Summary of the earlier conversation (personal details are placeholders): "


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One message of history, already minimized."""

    role: Role
    content: str


class LLMFailure(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    RATE_LIMITED = "rate_limited"
    STATUS = "status"
    EMPTY = "empty"


class LLMError(Exception):
    def __init__(self, failure: LLMFailure, detail: str = "") -> None:
        self.failure = failure
        super().__init__(f"llm {failure.value}" + (f": {detail}" if detail else ""))


@dataclass(frozen=True, slots=True)
class LLMReply:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for; `arguments` is the raw JSON text it wrote (minimized)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Completion:
    """One chat completion: text, tool calls, or both."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    model: str
    prompt_tokens: int
    completion_tokens: int


class Responder:
    """Builds the chat request and calls any OpenAI-compatible endpoint. History is capped at
    `max_history` messages, so a turn's cost does not grow with the length of the conversation."""

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        timeout_s: float = 30.0,
        max_tokens: int = 160,
        temperature: float = 0.3,
        max_history: int = 12,
    ) -> None:
        self._client = client
        self._model = model
        self._timeout_s = timeout_s
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._max_history = max_history

    def messages(
        self, system_prompt: str, history: Sequence[ChatTurn], user_text: str, *, summary: str = ""
    ) -> list[ChatCompletionMessageParam]:
        """`summary`: the (minimized) summary of turns older than `history`, as a second system message."""
        recent = history[-self._max_history :] if self._max_history else ()
        out: list[ChatCompletionMessageParam] = [{"role": "system", "content": system_prompt}]
        if summary:
            out.append({"role": "system", "content": SUMMARY_PREFIX + summary})
        for turn in recent:
            if turn.role == "user":
                out.append({"role": "user", "content": turn.content})
            else:
                out.append({"role": "assistant", "content": turn.content})
        out.append({"role": "user", "content": user_text})
        return out

    async def reply(self, messages: list[ChatCompletionMessageParam]) -> LLMReply:
        """A plain text answer (no tools offered)."""
        done = await self.complete(messages)
        if not done.text:
            raise LLMError(LLMFailure.EMPTY)
        return LLMReply(done.text, done.model, done.prompt_tokens, done.completion_tokens)

    async def complete(
        self,
        messages: list[ChatCompletionMessageParam],
        tools: Sequence[ChatCompletionToolParam] = (),
        *,
        allow_calls: bool = True,
    ) -> Completion:
        """One request; with `tools`, the model may answer with calls (`allow_calls=False` forbids them)."""
        with _mapped_errors():
            completion = await self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                max_tokens=self._max_tokens,
                temperature=self._temperature,
                timeout=self._timeout_s,
                **_tool_options(tools, allow_calls),
            )
        choice = completion.choices[0] if completion.choices else None
        text = (choice.message.content or "").strip() if choice else ""
        if choice is not None and choice.finish_reason == "length":
            text = cut_to_sentence(text)
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments or "{}")
            for c in ((choice.message.tool_calls or []) if choice else [])
            if c.type == "function"
        )
        if not text and not calls:
            raise LLMError(LLMFailure.EMPTY)
        usage = completion.usage
        return Completion(
            text=text,
            tool_calls=calls,
            model=completion.model or self._model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    async def stream_completion(
        self,
        messages: list[ChatCompletionMessageParam],
        tools: Sequence[ChatCompletionToolParam] = (),
        *,
        allow_calls: bool = True,
    ) -> AsyncIterator[str | Completion]:
        """One request streamed (`stream=True`): its text a sentence at a time as each one closes, so speech
        can start on the first sentence, then the whole `Completion` (text and the tool calls assembled from
        their indexed pieces) as the last item. As in `complete`, a reply cut off by the token limit ends at
        its last complete sentence; errors (also mid-stream) are `LLMError`s."""
        pending, finish, model = "", None, self._model
        said: list[str] = []
        calls: dict[int, _CallPieces] = {}
        usage: CompletionUsage | None = None  # sent only by endpoints asked for it (stream_options)
        with _mapped_errors():
            chunks = await self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                max_tokens=self._max_tokens,
                temperature=self._temperature,
                timeout=self._timeout_s,
                stream=True,
                stream_options={"include_usage": True},  # token counts for the turn's record
                **_tool_options(tools, allow_calls),
            )
            async with chunks:  # closed also when the listener stops early (the caller barged in)
                async for chunk in chunks:
                    model = chunk.model or model
                    usage = chunk.usage or usage
                    choice = chunk.choices[0] if chunk.choices else None
                    if choice is None:
                        continue
                    finish = choice.finish_reason or finish
                    for piece in choice.delta.tool_calls or ():
                        calls.setdefault(piece.index, _CallPieces()).add(piece)
                    pending += choice.delta.content or ""
                    # Once the model writes a call, what it said before is complete: say it now.
                    spoken, rest = (pending, "") if calls else split_at_sentence_end(pending)
                    if spoken.strip():
                        said.append(spoken.strip() + " ")
                        yield said[-1]
                        pending = rest
        assembled = tuple(c.call() for _, c in sorted(calls.items()) if c.name)
        rest = pending.strip()
        if finish == "length" and said:
            rest = ""  # an unfinished last sentence is not spoken
        if rest:
            said.append(rest + " " if assembled else rest)  # after tool calls the reply goes on
            yield said[-1]
        if not said and not assembled:
            raise LLMError(LLMFailure.EMPTY)
        yield Completion(
            "".join(said).strip(),
            assembled,
            model,
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )


def _tool_options(tools: Sequence[ChatCompletionToolParam], allow_calls: bool) -> dict[str, Any]:
    if not tools:
        return {}
    return {"tools": list(tools), "tool_choice": "auto" if allow_calls else "none"}


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """openai's and httpx's errors (a stream's too: a broken connection, an error event) as `LLMError`s,
    without their text, which can quote the request."""
    import httpx
    import openai

    try:
        yield
    except (openai.APITimeoutError, httpx.TimeoutException):
        raise LLMError(LLMFailure.TIMEOUT) from None
    except (openai.APIConnectionError, httpx.HTTPError):
        raise LLMError(LLMFailure.CONNECTION) from None
    except openai.RateLimitError:
        raise LLMError(LLMFailure.RATE_LIMITED) from None
    except openai.APIStatusError as exc:
        raise LLMError(LLMFailure.STATUS, str(exc.status_code)) from None
    except openai.APIError:  # an error event inside the stream
        raise LLMError(LLMFailure.STATUS, "stream") from None


class _CallPieces:
    """One streamed tool call as its pieces arrive: id and name once (in the first piece, as OpenAI sends
    them), the arguments' JSON text in fragments."""

    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id = self.name = ""
        self.arguments: list[str] = []

    def add(self, piece: ChoiceDeltaToolCall) -> None:
        self.id = self.id or piece.id or ""
        if piece.function is not None:
            self.name = self.name or piece.function.name or ""
            self.arguments.append(piece.function.arguments or "")

    def call(self) -> ToolCall:
        return ToolCall(self.id, self.name, "".join(self.arguments) or "{}")
