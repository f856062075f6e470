"""The staff console against the whole product: real redis-server, the real worker and ingress, the Graph peer
and the LLM peer on 127.0.0.1 (Meta's API and a hosted model cannot be reached from tests; the peers speak
their documented protocols and check what they receive)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
import structlog.testing
from prometheus_client import generate_latest

from agent.cli.operator import OPERATOR
from agent.console.accounts import AccountError
from agent.console.app import MAX_BODY_BYTES
from agent.console.follow_up import FollowUps
from agent.privacy.records import ProcessingRecord
from agent.storage.keys import conversation_key
from agent.tenants.registry import TenantRegistry
from pipelines.audio import decode, encode_voice_note
from tests.agent.console.stack import AGENT, OTHER, OWNER, PASSWORD, Console, login, running_console
from tests.agent.stack import PEERS, eventually, now, stack_fixture
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable
    from pathlib import Path

    from agent.storage.redis_client import RedisClient
    from tests.agent.stack import Stack
    from tests.conftest import Clip

stack = stack_fixture()
USER = "919800000001"
STAFF_NUMBER = "98765 43210"  # a phone number a staff member writes: raw to the person, minimized for the LLM


@pytest_asyncio.fixture
async def console(stack: Stack, redis: RedisClient) -> AsyncIterator[Console]:
    async with running_console(stack, redis) as c:
        yield c


async def waiting(client: httpx.AsyncClient, conv: str) -> None:
    """Until the conversation is listed as waiting for a person."""

    async def listed() -> bool:
        return conv in [row["conv"] for row in (await client.get("/api/inbox")).json()["waiting"]]

    await eventually(listed, 15)


async def handed_off(console: Console, user: str = USER) -> str:
    """A person says hello, then asks for a person; returns their conversation as the inbox lists it."""
    await console.customer_says(user, "hello there", f"wamid.{user}.1")
    await eventually(lambda: len(console.stack.sent_to(user)) == 1)
    await console.customer_says(user, "talk to a person", f"wamid.{user}.2")
    await eventually(lambda: len(console.stack.sent_to(user)) == 2)  # the confirmation
    conv = console.stack.privacy.subject("default", user)
    async with console.client() as client:
        await waiting(client, conv)
    return conv


async def audit_actions(console: Console, tenant: str) -> list[tuple[str, str]]:
    records = await console.parts.rights.audit.records(tenant)
    return [(r.body["action"], r.body["outcome"]) for r in records]


async def test_take_over_reply_give_back_and_the_assistant_knows(console: Console) -> None:
    stack = console.stack
    conv = await handed_off(console)
    async with console.client() as staff:
        page = (await staff.get(f"/api/conversations/{conv}")).json()
        assert page["content_allowed"]
        assert page["handoff"] == "keyword"
        assert any(line["text"] == "hello there" for line in page["lines"])
        assert page["window_left_s"] > 23 * 3600
        assert (await staff.post(f"/api/conversations/{conv}/take")).status_code == 200

        await console.customer_says(USER, "my order is late", f"wamid.{USER}.3")  # withheld, shown to staff

        async def shown() -> bool:
            lines = (await staff.get(f"/api/conversations/{conv}")).json()["lines"]
            return any(line["text"] == "my order is late" for line in lines)

        await eventually(shown)
        assert len(stack.sent_to(USER)) == 2  # the assistant did not answer it
        before = len(stack.graph.messages)
        reply = {"reply_id": "reply-0001", "text": f"Sorry! Call us on {STAFF_NUMBER}."}
        sent = await staff.post(f"/api/conversations/{conv}/replies", json=reply)
        assert sent.status_code == 200, sent.text
        assert stack.graph.messages[before:] == [stack.sent_to(USER)[-1]]  # exactly one, to the person
        assert stack.graph.messages[-1]["text"]["body"] == reply["text"]
        again = await staff.post(f"/api/conversations/{conv}/replies", json=reply)  # the same reply id
        assert again.status_code == 409
        assert len(stack.graph.messages) == before + 1

        given = await staff.post(f"/api/conversations/{conv}/give-back")
        assert given.json()["messages_to_history"] == 2
        inbox = (await staff.get("/api/inbox")).json()
        assert [row["conv"] for row in inbox["recent"]] == [conv]  # handled by the assistant again
        assert inbox["waiting"] == inbox["taken"] == []
    stack.llm.forbidden.append(STAFF_NUMBER)
    await console.customer_says(USER, "what number was that", f"wamid.{USER}.4")
    await eventually(lambda: len(stack.sent_to(USER)) == 4)  # the assistant answers again
    history = stack.llm.requests[-1]["messages"]
    assert any("Call us on" in str(m.get("content")) for m in history), "staff reply not in the history"
    assert not stack.llm.leaks  # the staff's number reached the model only minimized
    actions = await audit_actions(console, "default")
    for action in ("console.read", "console.take", "console.reply", "console.give_back"):
        assert (
            action,
            "content" if action == "console.read" else ("sent" if action == "console.reply" else "ok"),
        ) in actions


async def test_takeover_stops_a_turn_already_waiting_for_the_model(console: Console) -> None:
    """The race: the assistant's turn is inside the LLM call when staff take over; it must send nothing."""
    stack = console.stack
    await console.customer_says(USER, "hello there", "wamid.race.1")
    await eventually(lambda: len(stack.sent_to(USER)) == 1)
    stack.llm.hold = threading.Event()
    asked = len(stack.llm.bodies)
    await console.customer_says(USER, "and the price?", "wamid.race.2")
    await eventually(lambda: len(stack.llm.bodies) > asked)  # the turn waits for the model now
    subject = stack.privacy.subject("default", USER)
    async with console.client() as staff:
        assert (await staff.post(f"/api/conversations/{subject}/take")).status_code == 200
    stack.llm.hold.set()

    async def turn_done() -> bool:
        records = await stack.privacy.processing.records("default", subject)
        return any(r.get("outcome") == "taken_over" for r in records)

    await eventually(turn_done)
    assert len(stack.sent_to(USER)) == 1, "the assistant sent after the takeover"


async def test_another_tenant_cannot_list_read_or_act(console: Console) -> None:
    conv = await handed_off(console)
    async with console.client(OTHER) as other:
        assert (await other.get("/api/inbox")).json() == {"waiting": [], "taken": [], "recent": []}
        assert (await other.get(f"/api/conversations/{conv}")).status_code == 403
        assert (await other.post(f"/api/conversations/{conv}/take")).status_code == 403
        reply = {"reply_id": "reply-0002", "text": "hi"}
        assert (await other.post(f"/api/conversations/{conv}/replies", json=reply)).status_code == 403
    assert ("console.read", "other_tenant") in await audit_actions(console, "sunrise-clinic")
    assert ("console.take", "other_tenant") in await audit_actions(console, "default")
    assert len(console.stack.sent_to(USER)) == 2


async def test_writes_without_the_csrf_token_are_refused(console: Console) -> None:
    conv = await handed_off(console)
    async with console.client() as staff:
        del staff.headers["X-CSRF-Token"]
        assert (await staff.post(f"/api/conversations/{conv}/take")).status_code == 403
        staff.headers["X-CSRF-Token"] = "forged"
        assert (await staff.post(f"/api/conversations/{conv}/take")).status_code == 403
        assert (await staff.post("/logout", data={"csrf": "forged"})).status_code == 403
    assert await console.parts.takeover.holder(conv) is None
    async with httpx.AsyncClient(base_url=console.url) as anonymous:  # a login form posted from elsewhere
        response = await anonymous.post("/login", data={"email": OWNER, "password": PASSWORD, "csrf": "x"})
        assert response.status_code == 403
        page = await anonymous.get("/login")  # and no page of the console can be framed or pull in others
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text  # the one script is a file: no inline code for the policy to allow


async def test_a_logged_out_session_cannot_reconnect_its_stream(console: Console) -> None:
    async with console.client() as staff, staff.stream("GET", "/api/events") as events:
        assert events.status_code == 200
        lines = events.aiter_lines()
        assert (await anext(lines)).startswith(":")  # connected
        cookie = staff.cookies.get("lc_console")
        await staff.post("/logout", data={"csrf": staff.headers["X-CSRF-Token"]})

        async def ended() -> None:
            async for line in lines:
                if line == "event: logout":
                    return

        await asyncio.wait_for(ended(), 10)  # the open stream ends with the session
    async with httpx.AsyncClient(base_url=console.url, cookies={"lc_console": cookie or ""}) as replay:
        assert (await replay.get("/api/events")).status_code == 401


async def test_logout_everywhere_ends_every_session(console: Console) -> None:
    async with console.client(AGENT) as first, console.client(AGENT) as second:
        await first.post("/logout", data={"csrf": first.headers["X-CSRF-Token"], "everywhere": "1"})
        assert (await second.get("/api/me")).status_code == 401


async def test_logins_are_throttled_and_wrong_passwords_say_nothing(console: Console) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        for _ in range(5):
            response = await login(client, AGENT, "wrong password!!")
            assert response.headers["location"] == "/login?failed=1"
        assert (await login(client, AGENT, PASSWORD)).status_code == 429  # even with the right one, for now
        assert (await login(client, OWNER, PASSWORD)).status_code == 303  # another account from here: fine
        for i in range(50):  # one address trying many accounts
            await login(client, f"guess{i}@example.com", "wrong password!!")
        assert (await login(client, "guess-last@example.com", "wrong password!!")).status_code == 429


async def test_accounts_need_strong_passwords_and_one_tenant_per_email(
    console: Console, redis: RedisClient
) -> None:
    with pytest.raises(AccountError):
        await console.parts.accounts.add("default", "new@default.example", "agent", "short")
    with pytest.raises(AccountError):
        await console.parts.accounts.add("default", OTHER, "agent", PASSWORD)
    keys = [k.decode() if isinstance(k, bytes) else k for k in await redis.keys("*")]
    assert not [k for k in keys if "example" in k], "an e-mail address in a key name"


async def test_without_consent_or_a_request_staff_see_metadata_only(console: Console) -> None:
    """Staff take over a conversation nobody asked to hand off, of a person who objected to processing: only
    metadata and the reason are shown."""
    stack = console.stack
    await console.customer_says(USER, "hello there", "wamid.meta.1")
    await eventually(lambda: len(stack.sent_to(USER)) == 1)
    subject = stack.privacy.subject("default", USER)
    await stack.privacy.rights.object(subject, OPERATOR)
    async with console.client() as staff:
        assert (await staff.post(f"/api/conversations/{subject}/take")).status_code == 200
        page = (await staff.get(f"/api/conversations/{subject}")).json()
        assert not page["content_allowed"]
        assert page["lines"] == []
        assert "human_review" in page["note"]
        assert page["counts"]["customer"] == 1
        refused = await staff.post(
            f"/api/conversations/{subject}/replies", json={"reply_id": "reply-0003", "text": "hello"}
        )
        assert refused.status_code == 403  # may(reply) says no after an objection
    assert ("console.read", "metadata") in await audit_actions(console, "default")


async def test_no_personal_data_in_urls_logs_or_metrics(console: Console) -> None:
    with structlog.testing.capture_logs() as logs:
        conv = await handed_off(console)
        async with console.client() as staff:
            await staff.post(f"/api/conversations/{conv}/take")
            reply = {"reply_id": "reply-0004", "text": "Hi Asha, we call you at 9876543210"}
            assert (await staff.post(f"/api/conversations/{conv}/replies", json=reply)).status_code == 200
            inbox = (await staff.get("/api/inbox")).text
    assert USER not in conv
    assert USER not in inbox
    dumped = json.dumps(logs, default=str)
    for secret in (USER, "Asha", "9876543210", "hello there", OWNER):
        assert secret not in dumped
    exposed = generate_latest(console.metrics.registry).decode()
    assert USER not in exposed
    assert "staff_replied" in exposed


async def test_a_handoff_nobody_takes_gets_the_follow_up_once(console: Console) -> None:
    """prompts/default keeps the default: 15 minutes. A taken conversation gets none."""
    stack = console.stack
    conv = await handed_off(console)
    other = await handed_off(console, "919800000009")
    async with console.client() as staff:
        assert (await staff.post(f"/api/conversations/{other}/take")).status_code == 200
    later = [0.0]
    follow_ups = FollowUps(console.parts.index, console.parts.replies, stack.tenants, clock=lambda: later[0])
    later[0] = time.time() + 14 * 60
    assert await follow_ups.run_once() == 0
    later[0] = time.time() + 16 * 60
    assert await follow_ups.run_once() == 1
    assert await follow_ups.run_once() == 0  # once
    assert len(stack.sent_to(USER)) == 3
    assert stack.sent_to(USER)[-1]["text"]["body"].startswith("Thanks for waiting. Someone from")
    assert len(stack.sent_to("919800000009")) == 2
    assert ("staff_reply", "handoff_follow_up") in [
        (r["event"], r["outcome"]) for r in await stack.privacy.processing.records("default", conv)
    ]


async def test_assign_and_who_may_act(console: Console) -> None:
    """An agent cannot take a conversation an owner holds; the owner assigns it; then only the agent replies."""
    conv = await handed_off(console)
    async with console.client() as owner, console.client(AGENT) as agent:
        assert (await owner.post(f"/api/conversations/{conv}/take")).status_code == 200
        assert (await agent.post(f"/api/conversations/{conv}/take")).status_code == 409
        assert (await agent.post(f"/api/conversations/{conv}/give-back")).status_code == 409
        moved = await owner.post(f"/api/conversations/{conv}/assign", json={"email": AGENT})
        assert moved.status_code == 200
        inbox = (await agent.get("/api/inbox")).json()
        assert [(row["holder"], row["mine"]) for row in inbox["taken"]] == [(AGENT, True)]
        refused = await owner.post(
            f"/api/conversations/{conv}/replies", json={"reply_id": "reply-0010", "text": "x"}
        )
        assert refused.status_code == 409  # not the holder any more
        sent = await agent.post(
            f"/api/conversations/{conv}/replies", json={"reply_id": "reply-0011", "text": "hi"}
        )
        assert sent.status_code == 200
    assert [m["text"]["body"] for m in console.stack.sent_to(USER)][-1] == "hi"


async def test_hostile_recordings_and_references_are_refused_cleanly(
    console: Console, redis: RedisClient
) -> None:
    conv = await handed_off(console)
    async with console.client() as staff:
        await staff.post(f"/api/conversations/{conv}/take")
        url = f"/api/conversations/{conv}/voice-replies"
        garbage = await staff.post(
            url, params={"reply_id": "voice-0001"}, content=b"\x1aE\xdf\xa3" + b"\0" * 4000
        )
        assert garbage.status_code == 422
        huge = await staff.post(url, params={"reply_id": "voice-0002"}, content=b"\0" * (5 * 1024 * 1024 + 1))
        assert huge.status_code == 413
        for ref in ("default:..%2F..%2Fx", "default:" + "a" * 200, "default:ZZZZZZZZZZZZZZZZ"):
            assert (await staff.get(f"/api/conversations/{ref}")).status_code in (403, 404)
        long_text = await staff.post(
            f"/api/conversations/{conv}/replies", json={"reply_id": "reply-0012", "text": "x" * 5000}
        )
        assert long_text.status_code == 422
        assert "xxxx" not in long_text.text  # the input is never echoed
    assert len(console.stack.sent_to(USER)) == 2  # nothing was sent
    # the refused recording released its ledger entry: the same id can carry a good recording later
    ledger = conversation_key(conv, "replied", console.stack.queue.config.shards)
    assert not await redis.hexists(ledger, "staff:voice-0001")


async def test_an_erased_person_shows_nothing_and_gets_nothing(console: Console) -> None:
    stack = console.stack
    conv = await handed_off(console)
    async with console.client() as staff:
        assert (await staff.post(f"/api/conversations/{conv}/take")).status_code == 200
        await stack.privacy.rights.erase(conv, OPERATOR)
        page = await staff.get(f"/api/conversations/{conv}")
        assert page.status_code == 200
        assert page.json()["lines"] == []
        refused = await staff.post(
            f"/api/conversations/{conv}/replies", json={"reply_id": "reply-0013", "text": "x"}
        )
        assert refused.status_code in (403, 409)
        assert (await staff.post(f"/api/conversations/{conv}/give-back")).status_code == 200
    assert len(stack.sent_to(USER)) == 2


async def test_a_voice_note_sent_during_a_takeover_plays_in_the_page(
    console: Console, corpus: list[Clip]
) -> None:
    """The person's voice note is withheld from the assistant; staff play it (fetched from the Graph peer's
    media store as a worker would, audited); it is never transcribed or answered by the assistant."""
    stack = console.stack
    conv = await handed_off(console)
    note = encode_voice_note(decode(corpus[0].path.read_bytes()))
    sha = stack.add_voice_note("555000111", note)
    async with console.client() as staff:
        await staff.post(f"/api/conversations/{conv}/take")
        body = wh.payload(messages=[wh.voice(USER, f"wamid.{USER}.v", "555000111", sha, ts=now())])
        assert (await stack.post(body)).status_code == 200

        async def shown() -> list[int]:
            lines = (await staff.get(f"/api/conversations/{conv}")).json()["lines"]
            return [line["voice"] for line in lines if line["voice"] is not None]

        await eventually(shown)
        (index,) = await shown()
        played = await staff.get(f"/api/conversations/{conv}/voice/{index}")
        assert played.status_code == 200
        assert played.headers["content-type"] == "audio/ogg"
        assert played.content == note
        assert (await staff.get(f"/api/conversations/{conv}/voice/{index + 5}")).status_code == 404
    async with console.client(OTHER) as other:
        assert (await other.get(f"/api/conversations/{conv}/voice/{index}")).status_code == 403
    assert len(stack.sent_to(USER)) == 2
    assert ("console.play", "content") in await audit_actions(console, "default")


async def test_unread_counts_per_staff_member(console: Console) -> None:
    conv = await handed_off(console)
    async with console.client() as owner, console.client(AGENT) as agent:
        assert (await owner.post(f"/api/conversations/{conv}/take")).status_code == 200
        await console.customer_says(USER, "one", f"wamid.{USER}.u1")
        await console.customer_says(USER, "two", f"wamid.{USER}.u2")

        async def unread(client: httpx.AsyncClient) -> int:
            (row,) = (await client.get("/api/inbox")).json()["taken"]
            return int(row["unread"])

        await eventually(lambda: _equals(unread(owner), 2))
        await owner.get(f"/api/conversations/{conv}")
        assert await unread(owner) == 0
        assert await unread(agent) == 2  # the colleague has not opened it


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_after_the_window_only_approved_templates_can_be_sent(
    stack: Stack, redis: RedisClient, tmp_path: Path
) -> None:
    """The console's clock runs 25 hours ahead: the person's last message is outside the service window."""
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    with (prompts / "default" / "tenant.yaml").open("a") as config:
        config.write("\ninbox:\n  templates:\n    - name: order_update\n      language: en\n")
    tenants = TenantRegistry.load(prompts, egress=PEERS)
    async with running_console(
        stack, redis, clock=lambda: time.time() + 25 * 3600, tenants=tenants
    ) as console:
        conv = await handed_off(console)
        async with console.client() as staff:
            assert (await staff.post(f"/api/conversations/{conv}/take")).status_code == 200
            text = await staff.post(
                f"/api/conversations/{conv}/replies", json={"reply_id": "reply-0020", "text": "x"}
            )
            assert text.status_code == 409
            assert text.json()["detail"] == "window_closed"
            page = (await staff.get(f"/conversations/{conv}")).text
            assert "only approved templates can be sent" in page
            assert '<option value="order_update">' in page
            unknown = {"reply_id": "reply-0021", "name": "promo_blast"}
            assert (await staff.post(f"/api/conversations/{conv}/templates", json=unknown)).status_code == 404
            approved = {"reply_id": "reply-0022", "name": "order_update"}
            assert (
                await staff.post(f"/api/conversations/{conv}/templates", json=approved)
            ).status_code == 200
    sent = stack.sent_to(USER)[-1]
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "order_update"
    assert len(stack.sent_to(USER)) == 3


HOSTILE = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../../../etc/passwd",
    "\r\nSet-Cookie: lc_console=forged",
    "\u202e\u0000\ud7ff" + "अ" * 300,
    "x" * 100_000,
    "%00%2e%2e%2f",
    "default:" + "0" * 24 + "\n",
]


async def test_hostile_input_anywhere_gets_a_clear_refusal_never_an_echo(console: Console) -> None:
    conv = await handed_off(console)
    async with httpx.AsyncClient(base_url=console.url) as anonymous:
        for text in HOSTILE:
            response = await login(anonymous, text[:320], text[:1024])
            assert response.status_code in (303, 422, 429), (
                response.status_code
            )  # 429: this client is throttled
            assert "<script>" not in response.text
    async with console.client() as staff:
        await staff.post(f"/api/conversations/{conv}/take")
        for i, text in enumerate(HOSTILE):
            reply = await staff.post(
                f"/api/conversations/{conv}/replies", json={"reply_id": f"hostile-{i:04d}", "text": text}
            )
            oversized = len(text.encode()) > MAX_BODY_BYTES  # refused before it is parsed
            assert reply.status_code in ((413,) if oversized else (200, 422)), reply.status_code
            assert "<script>" not in reply.text
            assert (await staff.get(f"/api/conversations/{quote(text[:200], safe='')}")).status_code in (
                403,
                404,
            )
        for last in ("99999999999999999999999-0", "0-0; DROP", "$"):
            async with staff.stream("GET", "/api/events", headers={"Last-Event-ID": last}) as stream:
                assert stream.status_code == 200
        page = (await staff.get(f"/conversations/{conv}")).text
        assert "<script>alert(1)</script>" not in page  # the staff's own reply, escaped on the page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    sent = [m["text"]["body"] for m in console.stack.sent_to(USER)[2:]]
    assert sent[0] == "<script>alert(1)</script>"  # what the staff typed reaches the person as plain text


async def test_an_owner_sees_the_analytics_of_their_business_only(console: Console) -> None:
    """The analytics mounted in the console: an owner reads their own tenant's numbers (page in the console's
    layout, JSON, CSV); an agent gets 403 (audited); another tenant's numbers never show."""
    await console.customer_says(USER, "hello there", f"wamid.{USER}.1")
    await eventually(lambda: len(console.stack.sent_to(USER)) == 1)
    clinic = ProcessingRecord(
        event="turn", subject="sunrise-clinic:0123456789abcdef", outcome="replied", message="m1",
        sizes={"messages": 1, "audio": 0}, counts={"leads": 7},
    )  # fmt: skip
    await console.stack.privacy.gate.processed("sunrise-clinic", clinic.subject, clinic)

    async def answered() -> bool:
        records = await console.stack.privacy.processing.records("default")
        return any(r["event"] == "turn" for r in records)

    await eventually(answered, 15)
    async with console.client() as owner:
        data = (await owner.get("/api/analytics")).json()
        page = await owner.get("/analytics")
        exported = await owner.get("/api/analytics.csv")
        style = await owner.get("/analytics/style.css")
        inbox = await owner.get("/inbox")
    assert (data["tenant"], data["total"]["all"]["turns"], data["total"]["all"]["answered"]) == (
        "default",
        1,
        1,
    )
    assert data["total"]["all"]["leads"] == 0  # the clinic's 7 leads are not the default tenant's
    assert page.status_code == 200
    assert "leadclose · staff" in page.text  # the console's layout, with its header
    assert OWNER in page.text
    assert page.text.count("<svg") == 3
    assert '<th scope="row">all</th><td>1</td><td>1</td>' in page.text  # 1 conversation, 1 turn
    assert exported.headers["content-type"].startswith("text/csv")
    assert style.status_code == 200
    assert 'href="/analytics"' in inbox.text
    async with console.client(OTHER) as other:
        theirs = (await other.get("/api/analytics")).json()
    assert (theirs["tenant"], theirs["total"]["all"]["turns"], theirs["total"]["all"]["leads"]) == (
        "sunrise-clinic", 1, 7
    )  # fmt: skip
    async with console.client(AGENT) as agent:
        for path in ("/analytics", "/api/analytics", "/api/analytics.csv"):
            assert (await agent.get(path)).status_code == 403, path
        assert 'href="/analytics"' not in (await agent.get("/inbox")).text
    assert ("console.analytics", "not_owner") in await audit_actions(console, "default")
    for text in (page.text, exported.text, json.dumps(data)):
        assert USER not in text
