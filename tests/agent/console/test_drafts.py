"""Draft, check, try, publish and roll back through the console's API, end to end: a real worker (real
redis-server, ingress, the Graph peer, the LLM peer that answers from the system prompt it receives; Meta
and a hosted model cannot be reached from tests) answers a webhook message with what was published."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agent.console.app import COOKIE, MAX_BODY_BYTES
from agent.console.drafts import MAX_FILE_BODY_BYTES
from tests.agent.console.drafts_stack import DOES_NOT_KNOW, KNOWS, NEW_FACT, drafts_console_fixture
from tests.agent.console.stack import AGENT
from tests.agent.stack import eventually

if TYPE_CHECKING:
    import httpx

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


async def _status_without_the_whole_body(
    console: Console, owner: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: bytes
) -> int:
    """Sends the request line, headers and `body` over a real socket, and never the rest the headers promise:
    an answer (its status) proves the server decided without reading the whole body; one that waits for the
    rest fails here after 5 s."""
    url = urlsplit(console.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc}", "Content-Type: application/json",
                 f"Cookie: {COOKIE}={owner.cookies[COOKIE]}", f"X-CSRF-Token: {owner.headers['X-CSRF-Token']}",
                 *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_oversized_bodies_are_refused_before_they_are_read(console: Console) -> None:
    """A draft's file declared larger than its cap, and a chunked body (no Content-Length) streaming past the
    default cap, are 413 before the server has the whole body (real HTTP on uvicorn's socket); a file at its
    largest, every character JSON-escaped, still goes through; nothing refused reached the draft."""
    async with console.client() as owner:
        before = (await owner.get("/api/drafts")).json()["files"]["knowledge.md"]
        declared = {"Content-Length": str(MAX_FILE_BODY_BYTES + 1)}
        put = "/api/drafts/files/knowledge.md"
        assert (
            await _status_without_the_whole_body(console, owner, "PUT", put, declared, b'{"text": "') == 413
        )
        chunk = b"x" * (16 * 1024)
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY_BYTES // len(chunk) + 1)
        )
        chunked = {"Transfer-Encoding": "chunked"}  # and no last chunk: the body never ends
        status = await _status_without_the_whole_body(
            console, owner, "POST", "/api/drafts/try", chunked, chunks
        )
        assert status == 413
        assert (await owner.get("/api/drafts")).json()["files"]["knowledge.md"] == before
        largest = "क" * (128 * 1024 // 3 - 100)  # 3 bytes in UTF-8, 6 as `\\u0915`: past the default cap
        body = json.dumps({"text": largest}).encode()  # ensure_ascii: every character escaped
        assert MAX_BODY_BYTES < len(body) <= MAX_FILE_BODY_BYTES
        written = await owner.put(put, content=body, headers={"Content-Type": "application/json"})
        assert written.status_code == 200, written.text
        assert written.json()["files"]["knowledge.md"] == largest
