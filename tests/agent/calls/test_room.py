"""The LiveKit room entrypoint's own logic. The room itself needs a LiveKit server, which cannot run here:
the session it starts is the same `voice_session` + `CallAgent` the WebRTC tests drive end to end."""

from __future__ import annotations

import pytest

from agent.calls.room import prewarm, room_tenant
from agent.runtime import RuntimeConfigError


@pytest.mark.parametrize(
    ("metadata", "tenant"),
    [
        ('{"tenant": "acme"}', "acme"),
        (None, "default"),
        ("", "default"),
        ("not json", "default"),
        ("[1]", "default"),
    ],
)
def test_the_tenant_comes_from_the_room_metadata(metadata: str | None, tenant: str) -> None:
    assert room_tenant(metadata) == tenant


def test_the_room_worker_refuses_to_start_without_an_llm_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADCLOSE_LLM_BASE_URL", raising=False)
    with pytest.raises(RuntimeConfigError, match="LEADCLOSE_LLM_BASE_URL"):
        prewarm(None)  # type: ignore[arg-type]  # refused before the process is touched
