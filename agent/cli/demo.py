"""`leadclose demo`: one turn on this machine, offline, printed stage by stage.

It runs the worker's composition (`TurnRunner.run`) with an in-memory memo and a local gate: the person is a
first-time sender, so the reply carries the AI disclosure exactly as the worker would send it."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from agent.engines.runtime import Progress, open_runtime
from agent.privacy.gate import disclosure_text, with_disclosure
from agent.tenants.registry import load_tenant, turn_config
from pipelines.consent import SubjectConsent
from pipelines.turn import Message, OpenGate, Turn, TurnPorts, TurnResult, given_audio

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.settings import Settings
    from agent.tenants.registry import Tenant
    from pipelines.consent import Notice

SAMPLE_NOTE = "sample_voice_note.ogg"


def sample_note() -> bytes:
    return resources.files("agent").joinpath("assets", SAMPLE_NOTE).read_bytes()


class FirstContactGate(OpenGate):
    """A local gate: nothing to ask on this machine, and the person has never been written to, so the reply
    carries the tenant's AI disclosure (`with_disclosure`, the worker's own rule)."""

    def __init__(self, tenant: Tenant, clock: Callable[[], float] = time.time) -> None:
        self._tenant = tenant
        self._clock = clock
        self.notice: Notice | None = None

    async def outgoing(self, reply: str, said: str) -> str:
        text, self.notice = with_disclosure(self._tenant, SubjectConsent(), self._clock(), reply, said)
        return text

    async def disclosure(self, said: str) -> str:
        return disclosure_text(self._tenant, SubjectConsent(), self._clock(), said)


@dataclass(frozen=True, slots=True)
class DemoReport:
    tenant: str
    input_label: str
    llm_base_url: str
    result: TurnResult
    out: Path | None
    disclosure: Notice | None = None

    def render(self) -> str:
        r = self.result
        lines = [f"tenant      {self.tenant}", f"input       {self.input_label}"]
        if r.transcript is not None:
            shown = r.transcript.text or f"(not understood: {r.transcript.reason})"
            lines.append(f"transcript  {shown}  [{r.transcript.duration_s:.1f} s, {r.transcript.language}]")
        lines.append(f"outcome     {r.outcome.value}" + (f" ({r.failure})" if r.failure else ""))
        if r.prompt:
            lines.append(f"LLM sent    ({self.llm_base_url}, minimized):")
            lines.extend(f"  {json.dumps(m, ensure_ascii=False)}" for m in r.prompt)
        if r.llm is not None:
            lines.append(
                f"LLM said    {r.llm.text}  [{r.llm.prompt_tokens}+{r.llm.completion_tokens} tokens]"
            )
        if self.disclosure is not None:
            lines.append(f"disclosure  {self.disclosure.text}  [first contact, {self.disclosure.language}]")
        lines.append(f"reply       {r.reply_text}")
        lines.append("timings ms  " + ", ".join(f"{k} {v:.0f}" for k, v in r.timings_ms.items()))
        if self.out is not None and r.reply_audio is not None:
            lines.append(f"voice note  {self.out} ({len(r.reply_audio)} bytes, OGG/Opus mono)")
        return "\n".join(lines)


async def run_demo(
    settings: Settings,
    *,
    audio: Path | None = None,
    text: str | None = None,
    tenant: str = "default",
    out: Path | None = Path("reply.ogg"),
    progress: Progress = print,
) -> DemoReport:
    folder = settings.prompts_dir / tenant
    loaded = load_tenant(folder, egress=settings.egress_policy())
    config = turn_config(loaded, folder)
    gate = FirstContactGate(loaded)
    async with open_runtime(settings, progress) as runtime:
        progress("running one turn")
        runner = runtime.runner
        if text is not None:
            turn = Turn("demo", (Message("demo", text=text),), config)
            label = "text message"
        else:
            data = await asyncio.to_thread(audio.read_bytes) if audio is not None else sample_note()
            label = str(audio) if audio is not None else f"bundled sample ({SAMPLE_NOTE})"
            voice = runner.voice
            turn = Turn(
                "demo", (Message("demo", audio=given_audio(data)),), config, voice=lambda _text: voice
            )
        result = await runner.run(turn, TurnPorts(gate=gate))
    if out is not None and result.reply_audio is not None:
        await asyncio.to_thread(out.write_bytes, result.reply_audio)
    saved = out if result.reply_audio else None
    return DemoReport(tenant, label, runtime.llm_base_url, result, saved, gate.notice)
