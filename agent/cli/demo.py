"""`leadclose demo`: one turn on this machine, offline, printed stage by stage."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from agent.engines.runtime import Progress, open_runtime
from agent.tenants.registry import load_tenant, turn_config
from pipelines.turn import Conversation, TurnResult

if TYPE_CHECKING:
    from agent.settings import Settings

SAMPLE_NOTE = "sample_voice_note.ogg"


def sample_note() -> bytes:
    return resources.files("agent").joinpath("assets", SAMPLE_NOTE).read_bytes()


@dataclass(frozen=True, slots=True)
class DemoReport:
    tenant: str
    input_label: str
    llm_base_url: str
    result: TurnResult
    out: Path | None

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
    config = turn_config(load_tenant(folder, egress=settings.egress_policy()), folder)
    conversation = Conversation()
    async with open_runtime(settings, progress) as runtime:
        progress("running one turn")
        if text is not None:
            result = await runtime.runner.text(text, conversation, config)
            label = "text message"
        else:
            data = await asyncio.to_thread(audio.read_bytes) if audio is not None else sample_note()
            label = str(audio) if audio is not None else f"bundled sample ({SAMPLE_NOTE})"
            result = await runtime.runner.voice_note(data, conversation, config)
    if out is not None and result.reply_audio is not None:
        await asyncio.to_thread(out.write_bytes, result.reply_audio)
    return DemoReport(tenant, label, runtime.llm_base_url, result, out if result.reply_audio else None)
