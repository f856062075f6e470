"""One turn of a tenant's configuration with its tools as dry runs: `leadclose prompts try` and the console's
side-by-side try of a draft. The model's calls and their (restored) arguments are recorded; nothing is sent
to the business's endpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.tools.conversation import tool_specs

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from agent.tenants.registry import Tenant
    from pipelines.automation import ToolSpec
    from pipelines.stt import Transcriber
    from pipelines.turn import TurnConfig, TurnResult, TurnRunner


@dataclass
class DryRunTools:
    """The tenant's tools as the model is offered them; calls are recorded and answered, never sent."""

    specs_: list[ToolSpec]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def specs(self) -> Sequence[ToolSpec]:
        return self.specs_

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        self.calls.append((name, arguments))
        return json.dumps({"dry_run": True, "note": "not sent; a live turn would call the business system"})


async def try_turn(
    runner: TurnRunner,
    tenant: Tenant,
    config: TurnConfig,
    *,
    message: str = "",
    audio: Callable[[], Awaitable[bytes]] | None = None,
    transcriber: Transcriber | None = None,
) -> tuple[TurnResult, DryRunTools]:
    """One turn of a tenant's configuration (live, or a draft the console checks), tools as dry runs."""
    from pipelines.turn import Message, Turn

    tools = DryRunTools(tool_specs(tenant.automation))
    said = Message("try", text=message) if audio is None else Message("try", audio=audio)
    toolbox = tools if tools.specs_ else None
    result = await runner.run(Turn("try", (said,), config, transcriber=transcriber, toolbox=toolbox))
    return result, tools
