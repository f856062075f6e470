"""Analytics end to end: turns of known kinds go through the real worker stack (tests/agent/stack.py: the
real app, worker, models and redis-server; the local Graph API and OpenAI-compatible peers; the example
real-estate tenant's CRM as a local peer that checks signatures), and every number of the rollup, the JSON
API, the CSV export and the page is checked: counts against what was sent, times against the T0 records
(the slow way: every record read and bucketed again must give the same percentiles as the rollups)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from fastapi import FastAPI

from agent.analytics.api import analytics_router
from agent.analytics.histogram import bucket, percentiles
from agent.analytics.reader import AnalyticsReader
from agent.privacy.records import ProcessingRecord
from tests.agent.stack import Stack, eventually, running_stack
from tests.agent.test_automation import LEAD_MESSAGE, NUMBER_ID, TENANT, crm, prompts
from tests.agent.test_automation import model as agency_model
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ON_SERVER_AND_CLUSTER, ROOT
from tests.llm_peer import Call

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.agent.tenant_peer import TenantPeer
    from tests.conftest import RedisBackend

pytestmark = ON_SERVER_AND_CLUSTER
__all__ = ["crm", "prompts"]  # the CRM peer and the tenant folder pointed at it, from the automation tests

SAMPLE = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()
ZONE = ZoneInfo("Asia/Kolkata")  # the tenant's booking timezone: its analytics days are Indian days
ALICE, BOB, CAROL, DAVE, ERIN, FRANK = (f"9198765432{i:02d}" for i in range(6))


def model(messages: list[dict[str, Any]]) -> str | list[Call]:
    """The agency's scripted model, and a customer who books the first free call-back slot offered."""
    last = messages[-1]
    if last["role"] == "tool":
        result = json.loads(last["content"])
        if result.get("free_slots") and not result.get("booked"):
            return [Call("schedule_callback", {"slot": result["free_slots"][0], "purpose": "site visit"})]
        if result.get("booked"):
            return "Booked: an agent will call you then."
    elif "call me back" in last["content"]:
        return [Call("schedule_callback", {"purpose": "site visit"})]
    return agency_model(messages)


@pytest_asyncio.fixture
async def stack(
    redis: Redis,
    redis_backend: RedisBackend,
    transcriber: WhisperTranscriber,
    synthesizer: PiperSynthesizer,
    prompts: Path,
) -> AsyncIterator[Stack]:
    async with running_stack(
        redis, redis_backend.url, transcriber, synthesizer, reply=model, prompts_dir=prompts
    ) as s:
        yield s


async def _turns(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in await stack.privacy.processing.records(TENANT) if r["event"] == "turn"]


async def _say(stack: Stack, message: dict[str, Any]) -> None:
    """One message, and wait until its turn is recorded (so no two messages coalesce into one turn)."""
    before = len(await _turns(stack))
    body = wh.payload(messages=[message], phone_number_id=NUMBER_ID)
    assert (await stack.post(body)).status_code == 200

    async def recorded() -> bool:
        return len(await _turns(stack)) == before + 1

    await eventually(recorded, 60)


def _expected_times(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per channel: each histogram metric's {count, p50, p95}, recomputed from the T0 records."""
    hist: dict[str, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for row in rows:
        channel = "voice" if row["sizes"].get("audio") else "text"
        values = {("reply" if k == "reply" else f"stage_{k}"): v for k, v in row["timings_ms"].items()}
        if row["sizes"].get("audio_ms"):
            values["voice_note"] = row["sizes"]["audio_ms"]
        for metric, value in values.items():
            for target in (channel, "all"):
                hist[target][metric][bucket(value)] += 1
    out: dict[str, dict[str, Any]] = {}
    for channel, metrics in hist.items():
        out[channel] = {}
        for metric, buckets in metrics.items():
            p = percentiles(buckets)
            out[channel][metric] = {"count": p.count, "p50": p.p50_ms, "p95": p.p95_ms}
    return out


def _csv_value(value: str) -> Any:
    return None if value == "" else float(value) if "." in value else int(value) if value.isdigit() else value


async def test_every_number_of_a_known_day_of_turns(stack: Stack, redis: Redis, crm: TenantPeer) -> None:
    """6 people, 9 turns: a lead (text), a handoff and a message while handed off, STOP / a message while
    opted out / START, a voice note, an LLM failure (the fixed apology), a booked call-back. Meta refuses
    the first answer to the lead and to the STOP, so those two turns run twice."""
    # Meta refuses the read receipt and the answer (3 tries each): the turn reruns, reusing the memoized answer.
    stack.graph.fail_next(code=130429, status=429, times=6)
    await _say(stack, wh.text(ALICE, "wamid.a1", LEAD_MESSAGE))
    assert len(crm.events("lead.captured")) == 1  # captured once, by the first attempt: counted once
    await _say(stack, wh.text(BOB, "wamid.b1", "Can I talk to a person please?"))
    await _say(stack, wh.text(BOB, "wamid.b2", "Hello? Anyone there?"))
    stack.graph.fail_next(code=130429, status=429, times=3)  # Meta refuses the confirmation: the turn reruns
    await _say(stack, wh.text(CAROL, "wamid.c1", "STOP"))
    assert [
        s.value for m in stack.metrics.retries.collect() for s in m.samples if s.name.endswith("_total")
    ] == [2]
    keywords = [r for r in await stack.privacy.processing.records(TENANT) if r["event"] == "keyword"]
    assert [r["outcome"] for r in keywords] == ["opt_out"]  # written by both attempts, kept once
    await _say(stack, wh.text(CAROL, "wamid.c2", "What is the price of a 2 BHK in Wakad?"))
    await _say(stack, wh.text(CAROL, "wamid.c3", "START"))
    sha = stack.add_voice_note("4000000001", SAMPLE)
    await _say(stack, wh.voice(DAVE, "wamid.d1", "4000000001", sha))
    stack.llm.fail_with = 500
    await _say(stack, wh.text(ERIN, "wamid.e1", "Do you have shops in Hadapsar?"))
    stack.llm.fail_with = None
    await _say(stack, wh.text(FRANK, "wamid.f1", "Please call me back tomorrow"))
    assert await stack.has_dead_letters() is False

    rows = await _turns(stack)
    today = datetime.now(ZONE).date()
    start = today - timedelta(days=1)  # a test running across midnight in India still sees every turn
    report = await AnalyticsReader(redis).report(TENANT, start, today)
    text, voice, call, every = (report.channel(c) for c in ("text", "voice", "call", "all"))

    assert (text.conversations, voice.conversations, call.conversations, every.conversations) == (5, 1, 0, 6)
    assert dict(text.counts) == {
        "turns": 8, "messages": 8, "answered": 2, "confirmed": 2, "fallback": 1, "handed_off": 2,
        "withheld": 1, "failed": 0, "handoffs": 1, "leads": 1, "bookings": 1, "opt_outs": 1, "opt_ins": 1,
        "erasure_requests": 0, "calls": 0,
        "tokens_prompt": sum(r["tokens"].get("prompt", 0) for r in rows if not r["sizes"]["audio"]),
        "tokens_completion": sum(r["tokens"].get("completion", 0) for r in rows if not r["sizes"]["audio"]),
    }  # fmt: skip
    assert text["tokens_prompt"] > 0
    assert text["tokens_completion"] > 0
    assert (voice["turns"], voice["answered"], voice["messages"]) == (1, 1, 1)
    assert voice["tokens_prompt"] == next(r["tokens"]["prompt"] for r in rows if r["sizes"]["audio"]) > 0
    assert every["turns"] == 9
    assert every["answered"] == 3
    assert sum(d.channel("all")["turns"] for d in report.days) == 9
    assert call["turns"] == 0
    assert call.call_duration.count == 0

    # Times: the rollups' percentiles are those of the T0 records, bucket for bucket.
    expected = _expected_times(rows)
    (dave,) = [r for r in rows if r["sizes"]["audio"]]
    assert dave["sizes"]["audio_ms"] > 1000  # the sample voice note's length, from its transcript
    assert voice.voice_note.count == 1
    assert voice.voice_note.p50_ms == voice.voice_note.p95_ms == expected["voice"]["voice_note"]["p50"]
    replied = [r for r in rows if r["outcome"] == "replied"]
    assert all(r["timings_ms"]["reply"] > 0 for r in replied)
    assert every.reply.count == len(replied) == 7  # every turn that sent something (not the 2 withheld)
    for stats in (text, voice, every):
        assert {"count": stats.reply.count, "p50": stats.reply.p50_ms, "p95": stats.reply.p95_ms} == (
            expected[stats.channel]["reply"]
        )
        stages = {
            f"stage_{s}": {"count": p.count, "p50": p.p50_ms, "p95": p.p95_ms}
            for s, p in stats.stages.items()
        }
        assert stages == {k: v for k, v in expected[stats.channel].items() if k.startswith("stage_")}
    assert {"stt", "llm", "tts", "pii"} <= set(voice.stages)

    # A redelivered attempt writes its record again: nothing changes, in T0 or in the rollup.
    last = rows[-1]
    fields = ("event", "subject", "outcome", "message", "timings_ms", "sizes", "models", "tokens", "counts")
    again = ProcessingRecord(**{k: last[k] for k in fields})
    assert await stack.privacy.processing.append(TENANT, again, keep_days=90, zone=ZONE) is False
    assert len(await _turns(stack)) == 9
    assert await AnalyticsReader(redis).report(TENANT, start, today) == report

    # The API, the CSV and the page show the same numbers, for the tenant the dependency names.
    app = FastAPI()
    app.include_router(
        analytics_router(AnalyticsReader(redis), tenant=lambda: TENANT, zone_of=lambda _: ZONE)
    )
    query = {"from": start.isoformat(), "to": today.isoformat()}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as http:
        data = (await http.get("/api/analytics", params=query)).json()
        exported = await http.get("/api/analytics.csv", params=query)
        page = await http.get("/analytics", params=query)
    assert data["total"]["text"]["leads"] == 1
    assert data["total"]["all"]["conversations"] == 6
    assert data["total"]["voice"]["reply_ms"] == expected["voice"]["reply"]
    assert [d["date"] for d in data["days"]] == [start.isoformat(), today.isoformat()]
    assert exported.headers["content-type"].startswith("text/csv")
    rows_csv = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows_csv) == 3 * 4  # two days and the total, four channels each
    totals = {r["channel"]: r for r in rows_csv if r["date"] == "total"}
    total_text = {k: _csv_value(v) for k, v in totals["text"].items()}
    assert total_text == {
        "date": "total", "channel": "text", "conversations": 5, **dict(text.counts),
        "reply_count": expected["text"]["reply"]["count"], "reply_p50_ms": expected["text"]["reply"]["p50"],
        "reply_p95_ms": expected["text"]["reply"]["p95"],
        "voice_note_count": 0, "voice_note_p50_ms": None, "voice_note_p95_ms": None,
        "call_duration_count": 0, "call_duration_p50_ms": None, "call_duration_p95_ms": None,
        **{
            f"{metric}_{part}": expected["text"].get(metric, {}).get(key, 0 if part == "count" else None)
            for metric in sorted(k for k in expected["all"] if k.startswith("stage_"))
            for part, key in (("count", "count"), ("p50_ms", "p50"), ("p95_ms", "p95"))
        },
        "call_outcomes": None,
    }  # fmt: skip
    assert _csv_value(totals["all"]["turns"]) == 9
    assert _csv_value(totals["voice"]["voice_note_count"]) == 1
    assert page.status_code == 200
    assert page.text.count("<svg") == 3
    assert '<th scope="row">text</th><td>5</td><td>8</td>' in page.text
    for user in (ALICE, BOB, CAROL, DAVE, ERIN, FRANK):  # nobody's number in the numbers
        assert user not in exported.text
        assert user not in page.text
        assert user not in json.dumps(data)
    assert _no_person_in_keys(await _analytics_keys(redis), [r["subject"] for r in rows])


async def _analytics_keys(redis: Redis) -> list[str]:
    return [k.decode() async for k in redis.scan_iter(match="lc:tenant:*:an:*")]


def _no_person_in_keys(keys: list[str], subjects: list[str]) -> bool:
    return bool(keys) and not any(s in k for s in subjects for k in keys)
