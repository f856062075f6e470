"""Draft, check, try, publish and roll back through the console's API, end to end: a real worker (real
redis-server, ingress, the Graph peer, the LLM peer that answers from the system prompt it receives; Meta
and a hosted model cannot be reached from tests) answers a webhook message with what was published."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.agent.console.drafts_stack import DOES_NOT_KNOW, KNOWS, NEW_FACT, drafts_console_fixture
from tests.agent.console.stack import AGENT
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from tests.agent.console.stack import Console

USER = "919800000011"
BROKEN = "You are the assistant of {{ name }}.\nBe brief.\nKnowledge: {{ knowledge }\n"


console = drafts_console_fixture()


async def answer(console: Console, text: str, mid: str) -> str:
    """What the worker sends back to a customer's message (the last text to them)."""
    before = len(console.stack.sent_to(USER))
    await console.customer_says(USER, text, mid)
    await eventually(lambda: len(console.stack.sent_to(USER)) > before, 20)
    return str(console.stack.sent_to(USER)[-1]["text"]["body"])


async def test_edit_check_try_publish_and_roll_back_reach_a_real_worker(console: Console) -> None:
    async with console.client() as owner:
        got = await owner.get("/api/drafts")
        draft = got.json()
        assert got.status_code == 200, draft
        assert (draft["base"], draft["live"], draft["problems"]) == (1, 1, [])
        original = draft["files"]["system.j2"]
        assert (await answer(console, "Do you sell batteries?", "wamid.d1")).endswith(DOES_NOT_KNOW)

        # A broken template: the validator's error at its file and line; publishing it is refused.
        broken = (await owner.put("/api/drafts/files/system.j2", json={"text": BROKEN})).json()
        assert broken["problems"][0]["file"] == "system.j2"
        assert broken["problems"][0]["line"] == 3
        assert "TemplateSyntaxError" in broken["problems"][0]["message"]
        refused = await owner.post("/api/drafts/publish", json={"base": 1})
        assert refused.status_code == 422
        assert refused.json()["detail"]["problems"][0]["line"] == 3

        # Fixed, with the new knowledge: the draft answers with it, the live version does not.
        await owner.put("/api/drafts/files/system.j2", json={"text": original})
        knowledge = draft["files"]["knowledge.md"] + "\n" + NEW_FACT + "\n"
        fixed = (await owner.put("/api/drafts/files/knowledge.md", json={"text": knowledge})).json()
        assert fixed["problems"] == []
        tried = (await owner.post("/api/drafts/try", json={"message": "Do you sell batteries?"})).json()
        assert tried["live"]["reply"].endswith(DOES_NOT_KNOW)
        assert tried["draft"]["reply"].endswith(KNOWS)
        assert NEW_FACT in tried["draft"]["prompt"][0]["content"]
        assert (await answer(console, "And batteries now?", "wamid.d2")).endswith(DOES_NOT_KNOW)

        published = await owner.post("/api/drafts/publish", json={"base": 1})
        assert published.status_code == 200
        assert published.json()["version"] == 2
        late = await owner.post("/api/drafts/publish", json={"base": 1})  # a second owner's stale page
        assert late.status_code == 409
        await eventually(lambda: NEW_FACT in console.stack.tenants.get("default").turn.system_prompt, 10)
        assert (await answer(console, "Batteries?", "wamid.d3")).endswith(KNOWS)

        rolled = await owner.post("/api/drafts/rollback", json={"base": 2})
        assert rolled.json()["version"] == 1
        await eventually(lambda: NEW_FACT not in console.stack.tenants.get("default").turn.system_prompt, 10)
        assert (await answer(console, "Batteries, again?", "wamid.d4")).endswith(DOES_NOT_KNOW)

    records = [r.body for r in await console.parts.rights.audit.records("default")]
    changes = [(r["action"], r["outcome"]) for r in records if r["action"].startswith("console.drafts")]
    assert changes == [
        ("console.drafts.publish", "invalid"),
        ("console.drafts.publish", "ok"),
        ("console.drafts.publish", "conflict"),
        ("console.drafts.rollback", "ok"),
    ]
    publish = next(r for r in records if r["action"] == "console.drafts.publish" and r["outcome"] == "ok")
    assert publish["actor"] == "staff:owner@default.example"
    assert f"+{NEW_FACT}" in publish["diff"]
    assert publish["counts"] == {"version": 2, "previous": 1}


async def test_only_owners_and_only_allowed_writes(console: Console) -> None:
    async with console.client(AGENT) as agent:
        assert (await agent.get("/api/drafts")).status_code == 403
        assert (await agent.post("/api/drafts/publish", json={"base": 1})).status_code == 403
    async with console.client() as owner:
        for name in ("..%2Fevil.md", ".hidden.md", "run.py", "x.yaml"):
            response = await owner.put(f"/api/drafts/files/{name}", json={"text": "x"})
            assert response.status_code in (404, 422), name
        too_big = await owner.put("/api/drafts/files/system.j2", json={"text": "x" * (33 * 1024)})
        assert too_big.status_code == 422
        assert "larger than 32 KiB" in too_big.json()["detail"]
        bad_env = (
            (await owner.get("/api/drafts"))
            .json()["files"]["tenant.yaml"]
            .replace("LEADCLOSE_TENANT_DEFAULT__ACCESS_TOKEN", "LEADCLOSE_MASTER_KEY")
        )
        problems = (await owner.put("/api/drafts/files/tenant.yaml", json={"text": bad_env})).json()
        assert problems["problems"][0]["file"] == "tenant.yaml"
        assert "access_token_env" in problems["problems"][0]["message"]
        assert (await owner.post("/api/drafts/publish", json={"base": 1})).status_code == 422
        del owner.headers["X-CSRF-Token"]
        assert (await owner.put("/api/drafts/files/knowledge.md", json={"text": "x"})).status_code == 403
    denied = [r.body for r in await console.parts.rights.audit.records("default")]
    assert ("console.drafts", "not_owner") in [(r["action"], r["outcome"]) for r in denied]
