"""One playground turn: the tenant's real turn for a sandbox person, shown stage by stage.

The turn is the production composition (`TurnRunner.run`: hear, minimize, memory, tool loop, restore,
speak) with the worker's consent rules played against the session's sandbox consent: typed and spoken
keywords first (before any model), the handoff flag and `may(reply)`, then the AI disclosure on first
contact (`with_disclosure`, the worker's own rule). What differs is only what must not leave the sandbox:
the tools are dry runs (`DryRunTools`), the voice note stays in the session instead of going to Graph, and
nothing is written to any person's ledger, logs or analytics.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

import structlog

from agent.console.playground_store import MAX_TURNS, PlaygroundStore, SessionFullError, SessionGoneError
from agent.engines.runtime import open_runtime
from agent.engines.voices import tenant_voices
from agent.privacy.gate import Keywords, disclosure_text, with_disclosure
from agent.tools.conversation import tool_specs
from agent.tools.dry_run import DryRunTools
from pipelines.consent import Intent, Policy, Purpose, may, noticed, transition
from pipelines.texts import BUSINESS
from pipelines.turn import LocalConversation, Message, OpenGate, Turn, TurnPorts, given_audio

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

    from agent.console.playground_store import Sandbox
    from agent.engines.voices import Voices
    from agent.settings import Settings
    from agent.tenants.registry import Tenant, TenantRegistry
    from pipelines.consent import KeywordMatch, Notice, SubjectConsent
    from pipelines.stt import Transcriber
    from pipelines.turn import TurnResult, TurnRunner, VoiceChoice

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Engines:
    """The models a playground turn runs on: the process's turn runner, and each tenant's speech router."""

    runner: TurnRunner
    llm_base_url: str
    transcriber_for: Callable[[Tenant], Transcriber | None] = lambda _tenant: None
    voices: Voices | None = None  # each tenant's voices (None: the runner's voice speaks every reply)

    def voice(self, tenant: Tenant) -> VoiceChoice:
        """The tenant's voice for a reply's text, as the worker chooses it (None: the reply stays text)."""
        voices, runner = self.voices, self.runner
        if voices is None:
            return lambda _text: runner.voice
        return lambda text: voices.for_reply(tenant.voice, tenant.language, text)


class EngineSource(Protocol):
    async def load(self) -> Engines: ...


class LoadedEngines:
    """Engines already in hand (tests; a process that loaded its models anyway)."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def load(self) -> Engines:
        return self._engines


class LazyRuntime:
    """The console's models (`open_runtime` over the process's HTTP client), loaded on the first playground
    turn, not at start: most console processes serve the inbox only, and Whisper, Piper and an embedded LLM
    cost seconds and hundreds of MB that an inbox never uses. Loaded once; `aclose` releases them."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, tenants: TenantRegistry) -> None:
        self._settings = settings
        self._http = http
        self._tenants = tenants
        self._lock = asyncio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self._engines: Engines | None = None

    async def load(self) -> Engines:
        async with self._lock:
            if self._engines is None:
                log.info("playground.loading_models")
                runtime = await self._stack.enter_async_context(open_runtime(self._settings, http=self._http))
                voices = await asyncio.to_thread(
                    tenant_voices, self._settings, runtime.synthesizer, self._tenants, hosted=runtime.hosted
                )
                speech = runtime.speech
                self._engines = Engines(runtime.runner, runtime.llm_base_url, speech.for_tenant, voices)
        return self._engines

    async def aclose(self) -> None:
        await self._stack.aclose()


@dataclass(frozen=True, slots=True)
class Said:
    """What the staff member sent as the sandbox person: a typed text or a voice note (any audio file)."""

    text: str | None = None
    audio: bytes | None = None


@dataclass(frozen=True, slots=True)
class Masked:
    start: int  # in `said`, as characters
    end: int
    type: str  # what kind of personal data (phone, email, name, ...)


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # as the model wrote them (minimized)
    result: str  # what the model read back (minimized)
    ok: bool


@dataclass(frozen=True, slots=True)
class DryRun:
    name: str
    arguments: dict[str, Any]  # restored: what the business's endpoint would have received


@dataclass(frozen=True, slots=True)
class PlaygroundTurn:
    """Everything a playground turn did, for the page (and any client of the JSON API)."""

    turn: int
    kind: Literal["text", "voice"]
    outcome: str  # the turn's outcome (answered, not_understood, ...), or keyword / withheld
    said: str  # what the person said (typed or transcribed), as the model was asked about it
    reply: str  # restored, with the AI disclosure where it is due: as it would be sent
    transcript_language: str | None = None
    audio_s: float = 0.0
    masked: list[Masked] = field(default_factory=list)
    minimized: str = ""  # `said` as the model read it
    prompt: list[dict[str, Any]] = field(default_factory=list)  # the exact messages of the last LLM request
    tool_calls: list[ToolCall] = field(default_factory=list)
    dry_runs: list[DryRun] = field(default_factory=list)
    disclosure: bool = False
    keyword: str | None = None
    withheld: str | None = None  # why no reply would be sent (stopped, handed off, ...)
    failure: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    llm_model: str = ""
    tokens: dict[str, int] = field(default_factory=dict)
    voice_note: bool = False  # the reply's voice note is at `.../turns/<turn>/voice`


class _SpokenKeyword(Exception):  # noqa: N818 - a verdict, not an error
    def __init__(self, said: str, match: KeywordMatch) -> None:
        super().__init__("keyword")
        self.said = said
        self.match = match


class _SandboxGate(OpenGate):
    """The worker's gate against sandbox consent: spoken keywords end the turn before the model, and the
    reply carries the disclosure when `with_disclosure` says it is due."""

    def __init__(
        self, tenant_id: str, tenant: Tenant, consent: SubjectConsent, keywords: Keywords, now: float
    ) -> None:
        self._tenant_id = tenant_id
        self._tenant = tenant
        self._consent = consent
        self._keywords = keywords
        self._now = now
        self.notice: Notice | None = None

    async def heard(self, spoken: Mapping[str, str]) -> None:
        for text in spoken.values():
            match = self._keywords.match(self._tenant_id, text)
            if match is not None:
                raise _SpokenKeyword(text, match)

    async def outgoing(self, reply: str, said: str) -> str:
        text, self.notice = with_disclosure(self._tenant, self._consent, self._now, reply, said)
        return text

    async def disclosure(self, said: str) -> str:
        return disclosure_text(self._tenant, self._consent, self._now, said)


class Playground:
    """Runs playground turns of a tenant's sessions (`PlaygroundStore`) on the process's engines."""

    def __init__(
        self,
        store: PlaygroundStore,
        tenants: TenantRegistry,
        engines: EngineSource,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._tenants = tenants
        self._engines = engines
        self._keywords = Keywords(tenants)
        self._clock = clock

    async def turn(self, session: str, tenant_id: str, said: Said) -> PlaygroundTurn:
        """One turn of the session (one at a time: `SessionBusyError`); `SessionGoneError` when the session
        is not the tenant's, or ended meanwhile (then nothing of the turn is kept)."""
        tenant = self._tenants.get(tenant_id).config
        async with self.store.turn(session, tenant_id):
            sandbox, conversation = await self.store.load(session, tenant_id)
            if sandbox.turns >= MAX_TURNS:
                raise SessionFullError
            sandbox = replace(sandbox, turns=sandbox.turns + 1)
            local = LocalConversation(conversation)
            start = time.perf_counter()
            shown, sandbox, audio = await self._turn(tenant_id, tenant, sandbox, said, local)
            if not await self.store.keep(session, sandbox, local.conversation, audio):
                raise SessionGoneError
        log.info(
            "playground.turn",
            tenant=tenant_id,
            kind=shown.kind,
            outcome=shown.outcome,
            ms=round((time.perf_counter() - start) * 1000),
        )
        return shown

    async def _turn(
        self, tenant_id: str, tenant: Tenant, sandbox: Sandbox, said: Said, local: LocalConversation
    ) -> tuple[PlaygroundTurn, Sandbox, bytes | None]:
        kind: Literal["text", "voice"] = "voice" if said.audio is not None else "text"
        n = sandbox.turns
        match = self._keywords.match(tenant_id, said.text)
        if match is not None:  # typed keywords act before any model sees the message
            sandbox, confirmation = _confirmed(tenant, sandbox, match)
            return (
                PlaygroundTurn(n, kind, "keyword", said.text or "", confirmation, keyword=match.intent),
                sandbox,
                None,
            )
        withheld = _withheld(sandbox)
        if withheld is not None:
            return PlaygroundTurn(n, kind, "withheld", said.text or "", "", withheld=withheld), sandbox, None
        engines = await self._engines.load()
        runner = engines.runner
        loaded = self._tenants.get(tenant_id)
        transcriber = None
        if said.audio is not None:
            transcriber = await asyncio.to_thread(engines.transcriber_for, tenant)  # as the worker hears it
            message = Message(f"pg-{n}", audio=given_audio(said.audio))
        else:
            message = Message(f"pg-{n}", text=said.text or "")
        tools = DryRunTools(tool_specs(tenant.automation))
        gate = _SandboxGate(tenant_id, tenant, sandbox.consent, self._keywords, self._clock())
        turn = Turn(
            f"pg-{n}",
            (message,),
            loaded.turn,
            voice=engines.voice(tenant),
            transcriber=transcriber,
            toolbox=tools if tools.specs_ else None,
        )
        try:
            result = await runner.run(turn, TurnPorts(gate=gate, conversation=local))
        except _SpokenKeyword as spoken:
            sandbox, confirmation = _confirmed(tenant, sandbox, spoken.match)
            keyword = spoken.match.intent
            return (
                PlaygroundTurn(n, kind, "keyword", spoken.said, confirmation, keyword=keyword),
                sandbox,
                None,
            )
        if gate.notice is not None:
            sandbox = sandbox.changed(noticed(sandbox.consent))
            sandbox = replace(sandbox, consent=replace(sandbox.consent, noticed_at=self._clock()))
        return _shown(n, kind, result, gate.notice is not None, tools), sandbox, result.reply_audio


def _confirmed(tenant: Tenant, sandbox: Sandbox, match: KeywordMatch) -> tuple[Sandbox, str]:
    """A keyword as the worker applies it, to the sandbox consent; its fixed confirmation."""
    sandbox = sandbox.changed(transition(sandbox.consent, match.intent))
    if match.intent is Intent.HUMAN:
        sandbox = replace(sandbox, handed_off=True)
    text = tenant.catalogue.get(match.language).confirmations[match.intent]
    return sandbox, text.replace(BUSINESS, tenant.name)


def _withheld(sandbox: Sandbox) -> str | None:
    """Why the worker would not answer now (the handoff, then `may(reply)`), None when it would."""
    if sandbox.handed_off:
        return "handed_off"
    decision = may(sandbox.consent, Purpose.REPLY, Policy())
    return None if decision.allowed else decision.reason


def _shown(
    n: int, kind: Literal["text", "voice"], r: TurnResult, disclosed: bool, tools: DryRunTools
) -> PlaygroundTurn:
    transcript = r.transcript
    said = r.said or (transcript.text if transcript is not None else "")
    llm = r.llm
    return PlaygroundTurn(
        n,
        kind,
        r.outcome.value,
        said,
        r.reply_text,
        transcript_language=transcript.language if transcript is not None else None,
        audio_s=r.audio_ms / 1000,
        masked=[Masked(s.start, s.end, s.type.value) for s in r.masked],
        minimized=r.minimized_user_text,
        prompt=[dict(m) for m in r.prompt],
        tool_calls=[ToolCall(c.name, c.arguments, c.result, c.ok) for c in r.tool_calls],
        dry_runs=[DryRun(name, arguments) for name, arguments in tools.calls],
        disclosure=disclosed,
        failure=r.failure,
        timings_ms=r.timings_ms,
        llm_model=llm.model if llm is not None else "",
        tokens={"prompt": llm.prompt_tokens, "completion": llm.completion_tokens} if llm else {},
        voice_note=r.reply_audio is not None,
    )
