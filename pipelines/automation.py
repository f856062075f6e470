"""The business's automation: OpenAI tool calling in a loop with a bounded number of steps.

The model only ever sees placeholders. A tool's arguments get the person's real values back only when the
tool is the business's own (`ToolSpec.restores_pii`) and the tenant's restore policy allows the type (in
normalized form, except names and addresses, which go as written); what a
tool returns is minimized against the same vault before the model reads it, so a restored value is never
echoed back. Which tenant, conversation and person a tool acts on is bound into the `ToolBox` by the
server; nothing in the model's output can choose them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from jsonschema import Draft202012Validator

from pipelines.llm import Completion, LLMError, LLMFailure, LLMReply, Responder
from pipelines.pii import EntityType, PiiTimeout, RestorePolicy, RestoreTarget, Vault, restore
from pipelines.pii.vault import PLACEHOLDER

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence

    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

    from pipelines.pii import PiiGuard

DEFAULT_MAX_STEPS = 4


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call. `parameters` is a JSON Schema (object) for its arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    restores_pii: bool = False  # the business's own endpoint: placeholders in arguments become real values

    def as_openai(self) -> ChatCompletionToolParam:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


class _Ask(Protocol):
    """One request of the loop, answered whole or streamed: text pieces, then the request's `Completion`."""

    def __call__(
        self,
        messages: list[ChatCompletionMessageParam],
        tools: Sequence[ChatCompletionToolParam] = (),
        *,
        allow_calls: bool = True,
    ) -> AsyncIterator[str | Completion]: ...


class ToolError(Exception):
    """A tool that did not do its job. The message goes to the model, so it never carries content."""


class ToolBox(Protocol):
    """The tools one conversation may use, with tenant, conversation and person fixed by the server."""

    def specs(self) -> Sequence[ToolSpec]: ...

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Run a tool on (restored) arguments; the result text is minimized before the model sees it.
        Raises `ToolError` for a failure the model should hear about."""
        ...


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """What happened to one call, as the model saw it (minimized both ways)."""

    name: str
    arguments: str
    result: str
    ok: bool


@dataclass(slots=True)
class AutomationResult:
    llm: LLMReply
    calls: list[ToolCallRecord] = field(default_factory=list)
    messages: list[ChatCompletionMessageParam] = field(default_factory=list)  # the last request sent
    tools_dropped: bool = False  # the endpoint refused the tools; answered without them


class Automation:
    """Runs one turn's exchange with the model: at most `max_steps` requests, tools executed in between.
    The last step offers no calls, so a turn always ends in text (or an `LLMError`)."""

    def __init__(self, responder: Responder, pii: PiiGuard, *, max_steps: int = DEFAULT_MAX_STEPS):
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self._responder = responder
        self._pii = pii
        self._max_steps = max_steps

    async def run(
        self,
        messages: list[ChatCompletionMessageParam],
        toolbox: ToolBox | None,
        vault: Vault,
        policy: RestorePolicy,
        *,
        public: Collection[str] = (),
        max_steps: int | None = None,
    ) -> AutomationResult:
        """The turn with each request answered whole (a chat reply is sent whole anyway). `max_steps`
        overrides the default bound for this run (a tenant's own setting)."""
        result = AutomationResult(LLMReply("", "", 0, 0), messages=list(messages))
        async for _ in self._loop(self._whole, toolbox, vault, policy, public, max_steps, result, None):
            pass  # whole completions: no text comes before the last one
        return result

    async def stream(
        self,
        messages: list[ChatCompletionMessageParam],
        toolbox: ToolBox | None,
        vault: Vault,
        policy: RestorePolicy,
        *,
        public: Collection[str] = (),
        max_steps: int | None = None,
        on_tool_calls: Callable[[Sequence[ToolCallRecord]], None] | None = None,
        result: AutomationResult | None = None,
    ) -> AsyncIterator[str]:
        """The same turn with each request streamed: its text a sentence at a time as the model writes it,
        also what it says before calling tools ("Let me check that."), so a call speaks the first sentence
        instead of waiting for the whole loop. `on_tool_calls` hears each step's calls once they have run,
        before the follow-up request (mid-stream: earlier sentences may already be spoken). `result`, when
        given (empty), is filled as `run` fills its own: a voice note's turn keeps the reply and the calls."""
        if result is None:
            result = AutomationResult(LLMReply("", "", 0, 0))
        result.messages = list(messages)
        ask = self._responder.stream_completion
        async for sentence in self._loop(
            ask, toolbox, vault, policy, public, max_steps, result, on_tool_calls
        ):
            yield sentence

    async def _loop(
        self,
        ask: _Ask,
        toolbox: ToolBox | None,
        vault: Vault,
        policy: RestorePolicy,
        public: Collection[str],
        max_steps: int | None,
        result: AutomationResult,
        on_tool_calls: Callable[[Sequence[ToolCallRecord]], None] | None,
    ) -> AsyncIterator[str]:
        """The loop's rules, one copy for both ways of asking: yields the text `ask` yields and fills `result`
        (`result.messages` is the request history it extends)."""
        steps = max_steps or self._max_steps
        specs = {s.name: s for s in toolbox.specs()} if toolbox is not None else {}
        tools = [s.as_openai() for s in specs.values()]
        sent = result.messages
        prompt_tokens = completion_tokens = 0
        step = 0
        while True:
            allow_calls = bool(tools) and step < steps - 1
            done: Completion | None = None
            spoke = False
            try:
                async for piece in ask(sent, tools, allow_calls=allow_calls):
                    if isinstance(piece, Completion):
                        done = piece
                    else:
                        spoke = True
                        yield piece
            except LLMError as exc:
                if step or spoke or not tools or exc.failure is not LLMFailure.STATUS:
                    raise
                # An endpoint without tool support (the embedded model) still answers the person.
                tools, result.tools_dropped = [], True
                continue
            if done is None:
                raise LLMError(LLMFailure.EMPTY)
            prompt_tokens += done.prompt_tokens
            completion_tokens += done.completion_tokens
            if toolbox is None or not done.tool_calls or not allow_calls:
                if not done.text:
                    raise LLMError(LLMFailure.EMPTY)
                result.llm = LLMReply(done.text, done.model, prompt_tokens, completion_tokens)
                return
            sent.append(_assistant_calls(done))
            records: list[ToolCallRecord] = []
            for call in done.tool_calls:
                content, ok = await self._execute(
                    toolbox, specs, call.name, call.arguments, vault, policy, public
                )
                records.append(ToolCallRecord(call.name, call.arguments, content, ok))
                sent.append({"role": "tool", "tool_call_id": call.id, "content": content})
            result.calls.extend(records)
            if on_tool_calls is not None:
                on_tool_calls(records)
            step += 1

    async def _whole(
        self,
        messages: list[ChatCompletionMessageParam],
        tools: Sequence[ChatCompletionToolParam] = (),
        *,
        allow_calls: bool = True,
    ) -> AsyncIterator[str | Completion]:
        """One request answered at once: its `Completion` is all there is."""
        yield await self._responder.complete(messages, tools, allow_calls=allow_calls)

    async def _execute(
        self,
        toolbox: ToolBox,
        specs: Mapping[str, ToolSpec],
        name: str,
        raw_arguments: str,
        vault: Vault,
        policy: RestorePolicy,
        public: Collection[str],
    ) -> tuple[str, bool]:
        spec = specs.get(name)
        if spec is None:
            return _tool_error(f"there is no tool named {json.dumps(name[:64])}"), False
        try:
            arguments = json.loads(raw_arguments or "{}")
        except json.JSONDecodeError:
            return _tool_error("the arguments are not valid JSON"), False
        problem = _schema_problem(spec, arguments)
        if problem:
            return _tool_error(problem), False
        if spec.restores_pii:
            arguments = _restore_values(arguments, vault, policy)
        try:
            output = await toolbox.call(name, arguments)
        except ToolError as exc:
            return _tool_error(str(exc)), False
        try:
            return (await self._pii.minimize(output, vault, public=public)).text, True
        except PiiTimeout:  # fails closed: the model never reads an answer that could not be checked
            return _tool_error("the tool's answer could not be checked for personal data in time"), False


def _assistant_calls(done: Completion) -> ChatCompletionMessageParam:
    return {
        "role": "assistant",
        "content": done.text or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in done.tool_calls
        ],
    }


def _tool_error(message: str) -> str:
    return json.dumps({"error": message})


def _schema_problem(spec: ToolSpec, arguments: object) -> str:
    """Where the arguments break the schema, by path and rule only: the offending value is not repeated."""
    if not isinstance(arguments, dict):
        return "the arguments must be a JSON object"
    error = next(iter(Draft202012Validator(spec.parameters).iter_errors(arguments)), None)
    if error is None:
        return ""
    return f"arguments do not match the schema at {error.json_path} (rule: {error.validator})"


# Names and addresses reach a business system as the person wrote them; everything else in its normalized
# form (a phone number said as "nau nau aath …" becomes +9199887…, a date of birth 1990-03-05).
_AS_WRITTEN = frozenset({EntityType.PERSON, EntityType.ADDRESS})


def _restore_for_tool(text: str, vault: Vault, policy: RestorePolicy) -> str:
    def substitute(m: re.Match[str]) -> str:
        entry = vault.entry(m.group())
        if entry is None or not policy.allows(entry.type, RestoreTarget.TOOL):
            return restore(m.group(), vault, policy, RestoreTarget.TOOL)  # the neutral label
        return entry.surface if entry.type in _AS_WRITTEN else entry.value

    return PLACEHOLDER.sub(substitute, text)


def _restore_values(value: Any, vault: Vault, policy: RestorePolicy) -> Any:
    if isinstance(value, str):
        return _restore_for_tool(value, vault, policy)
    if isinstance(value, list):
        return [_restore_values(v, vault, policy) for v in value]
    if isinstance(value, dict):
        return {k: _restore_values(v, vault, policy) for k, v in value.items()}
    return value


def check_tool_schema(parameters: Mapping[str, Any]) -> None:
    """Raises `ValueError` unless `parameters` is a JSON Schema for an object (what OpenAI requires)."""
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as exc:
        raise ValueError(f"not a valid JSON Schema at {exc.json_path} (rule: {exc.validator})") from None
    if parameters.get("type") != "object":
        raise ValueError('a tool\'s parameters must be a JSON Schema with "type": "object"')


_WORD = re.compile(r"\w+", re.UNICODE)
LEAK_WINDOW = 8  # words in a row copied from the instructions make a reply a leak


def leaks_instructions(reply: str, instructions: str, *, window: int = LEAK_WINDOW) -> bool:
    """Whether `reply` repeats `window` consecutive words of the business's instructions (a user asked the
    model to reveal its prompt, and it complied). Linear in both lengths: one set of word windows."""
    words = [w.lower() for w in _WORD.findall(instructions)]
    if len(words) < window:
        return False
    shingles = {tuple(words[i : i + window]) for i in range(len(words) - window + 1)}
    said = [w.lower() for w in _WORD.findall(reply)]
    return any(tuple(said[i : i + window]) in shingles for i in range(len(said) - window + 1))
