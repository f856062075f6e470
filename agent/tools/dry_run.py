"""A tenant's tools as dry runs: the model is offered them and its calls are answered, nothing is sent to the
business's endpoints (`leadclose prompts try`, the console's playground)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipelines.automation import ToolSpec


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
