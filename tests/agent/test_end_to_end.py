"""Webhook in → worker → reply out, in one process (tests/agent/stack.py): real app, worker, Redis, models;
local peers for the Graph API and the LLM."""

from __future__ import annotations

import asyncio
import io
import json
import re
from typing import TYPE_CHECKING

import av
import pytest
import pytest_asyncio

from pipelines.audio import decode, encode_voice_note
from tests.agent.calls.hearing import sounds_like
from tests.agent.stack import TOKEN, TOKEN_ENV, Stack, eventually, first_reply, now, running_stack
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ON_SERVER_AND_CLUSTER, ROOT, Clip
from tests.ears import heard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.conftest import RedisBackend

ALICE, BOB = "919876543210", "447700900123"
SAMPLE = (ROOT / "agent" / "assets" / "sample_voice_note.ogg").read_bytes()


pytestmark = ON_SERVER_AND_CLUSTER  # the same promises on one server and on a 3-primary cluster


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest_asyncio.fixture
async def stack(
    redis: Redis, redis_backend: RedisBackend, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> AsyncIterator[Stack]:
    async with running_stack(redis, redis_backend.url, transcriber, synthesizer) as s:
        yield s


def _ogg_opus_mono(data: bytes) -> bool:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return bool(
            container.format.name == "ogg"
            and stream.codec_context.name == "opus"
            and stream.codec_context.channels == 1
        )


async def test_voice_note_is_answered_with_a_voice_note(stack: Stack) -> None:
    sha = stack.add_voice_note("1000000001", SAMPLE)
    response = await stack.post(wh.payload(messages=[wh.voice(ALICE, "wamid.v1", "1000000001", sha)]))
    assert response.status_code == 200
    await eventually(lambda: len(stack.graph.messages) == 1)
    (sent,) = stack.graph.messages
    assert sent["to"] == ALICE
    assert sent["type"] == "audio"
    assert sent["audio"]["voice"] is True
    upload = stack.graph.uploads[sent["audio"]["id"]]
    assert upload.mime_type == "audio/ogg"
    assert _ogg_opus_mono(upload.data)
    (prompt,) = stack.llm.requests
    assert "<PHONE_1>" in prompt["messages"][-1]["content"]
    assert "98765" not in json.dumps(prompt)
    assert stack.graph.read_receipts[0]["message_id"] == "wamid.v1"


async def test_text_is_answered_with_text(stack: Stack) -> None:
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.t1", "Do you install in Pune?")]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    (sent,) = stack.graph.messages
    assert sent == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": ALICE,
        "type": "text",
        "text": {"body": first_reply("You said: Do you install in Pune?"), "preview_url": False},
    }


async def test_five_deliveries_of_one_webhook_give_one_reply(stack: Stack) -> None:
    body = wh.payload(messages=[wh.text(ALICE, "wamid.d1", "hello")])
    codes = await asyncio.gather(*(stack.post(body) for _ in range(5)))
    assert [c.status_code for c in codes] == [200] * 5
    await eventually(lambda: len(stack.graph.messages) >= 1)
    await asyncio.sleep(0.5)  # time for a wrong second reply to show up
    assert len(stack.graph.messages) == 1


async def test_three_voice_notes_in_a_row_are_answered_in_order_or_coalesced(
    stack: Stack, corpus: list[Clip]
) -> None:
    notes = [("1089-134686-0000.ogg", "stew"), ("jfk.ogg", "ask not"), ("6930-75918-0000.ogg", "concord")]
    for i, (name, _) in enumerate(notes):
        data = next(c for c in corpus if c.path.name == name).path.read_bytes()
        sha = stack.add_voice_note(f"20000000{i}", data)
        await stack.post(wh.payload(messages=[wh.voice(ALICE, f"wamid.o{i}", f"20000000{i}", sha)]))
    await eventually(lambda: "concord" in json.dumps(stack.llm.requests).lower(), 60)
    await eventually(lambda: len(stack.graph.messages) == len(stack.llm.requests))
    heard = " | ".join(r["messages"][-1]["content"].lower() for r in stack.llm.requests)
    positions = [heard.index(word) for _, word in notes]
    assert positions == sorted(positions)
    assert 1 <= len(stack.sent_to(ALICE)) <= 3


async def test_fifty_users_in_parallel_get_their_own_answers(stack: Stack) -> None:
    users = [f"91980000{i:04d}" for i in range(50)]
    await asyncio.gather(
        *(stack.post(wh.payload(messages=[wh.text(u, f"wamid.p{u}", f"code Z{u[-4:]}")])) for u in users)
    )
    await eventually(lambda: len(stack.graph.messages) == 50, 60)
    for user in users:
        (sent,) = stack.sent_to(user)
        assert sent["text"]["body"] == first_reply(f"You said: code Z{user[-4:]}")


async def test_rate_limited_send_is_retried_once_and_sent_once(stack: Stack) -> None:
    stack.graph.fail_next(130429, 429)
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.r1", "hi")]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    await asyncio.sleep(0.3)
    assert len(stack.graph.messages) == 1


async def test_window_closed_is_not_retried_and_is_recorded(stack: Stack) -> None:
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.w1", "hi")]))
    stack.graph.fail_next(131047, 400, times=5)  # mark-read passes through the same failure queue
    await eventually(stack.has_dead_letters, 20)
    (letter,) = await stack.queue.dead_letters()
    assert letter["reason"] == "graph_131047"
    assert stack.graph.messages == []


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("oversized", "too long"),
        ("corrupt", "play that audio"),
        ("foreign_host", "play that audio"),
        ("redirect", "play that audio"),
    ],
)
async def test_bad_media_gets_a_clear_spoken_reply(
    stack: Stack, transcriber: WhisperTranscriber, setup: str, expected: str
) -> None:
    data = SAMPLE
    if setup == "oversized":
        data = b"OggS" + b"\0" * (16 * 1024 * 1024 + 1)
    elif setup == "corrupt":
        data = b"OggS" + bytes(range(256)) * 8
    sha = stack.add_voice_note("1000000002", data)
    if setup == "redirect":
        stack.graph.redirect_download("1000000002", "http://localhost:9/elsewhere")
    if setup == "foreign_host":  # the media URL Graph hands out names a host not on the allow-list
        stack.graph.origin = stack.graph.origin.replace("127.0.0.1", "localhost")
    await stack.post(wh.payload(messages=[wh.voice(ALICE, "wamid.b1", "1000000002", sha)]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    (sent,) = stack.graph.messages
    assert sent["type"] == "audio"  # a voice note is answered by voice, also with the fallback
    assert stack.llm.requests == []
    spoken = heard(transcriber, decode(stack.graph.uploads[sent["audio"]["id"]].data))
    assert sounds_like(
        spoken, expected
    )  # as a listener would: the test's tiny.en mishears Piper now and then
    downloads = [r for r in stack.graph.requests if r.path.startswith("/media-download/")]
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in downloads)
    if setup == "foreign_host":
        assert downloads == []  # refused before any request


async def test_unsupported_type_gets_a_polite_reply(stack: Stack) -> None:
    sticker = wh.message("sticker", ALICE, "wamid.s1", sticker={"id": "st.1", "mime_type": "image/webp"})
    await stack.post(wh.payload(messages=[sticker]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    assert "text messages and listen to voice notes" in stack.graph.messages[0]["text"]["body"]


async def test_llm_failure_gets_the_fallback_reply(stack: Stack) -> None:
    stack.llm.fail_with = 500
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.l1", "hi")]))
    await eventually(lambda: len(stack.graph.messages) == 1)
    assert "can't answer right now" in stack.graph.messages[0]["text"]["body"]


async def test_old_message_outside_the_service_window_is_not_answered(stack: Stack) -> None:
    await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.old", "hi", ts=now() - 25 * 3600)]))
    await eventually(stack.has_dead_letters, 10)
    (letter,) = await stack.queue.dead_letters()
    assert letter["reason"] == "window_closed"
    assert stack.graph.messages == []


async def test_spoken_name_address_and_numbers_never_reach_the_llm(
    stack: Stack, synthesizer: PiperSynthesizer
) -> None:
    """A voice note (Piper speech, transcribed by the real tiny.en model) that says a name, an address and a
    phone number, then a Hinglish text with a spoken-style e-mail and a spelt PAN, through webhook, queue and
    worker. The local LLM peer on 127.0.0.1 records every request: placeholders only, whatever the
    transcriber made of the words (it writes "Flat 302. Sigh Heights, Bainer Road, Pina. 411045.")."""
    speech = await synthesizer.synthesize(
        "My name is Priya Sharma. Please deliver to flat three zero two, Sai Heights, Baner Road, Pune, "
        "four one one zero four five. Call me on nine eight seven six five, four three two one zero."
    )
    sha = stack.add_voice_note("3000000001", encode_voice_note(speech))
    await stack.post(wh.payload(messages=[wh.voice(BOB, "wamid.p1", "3000000001", sha)]))
    await eventually(lambda: len(stack.sent_to(BOB)) == 1)
    text = "aur mera email priya dot sharma at gmail dot com hai, PAN F X V P H six seven two one A"
    await stack.post(wh.payload(messages=[wh.text(BOB, "wamid.p2", text)]))
    await eventually(lambda: len(stack.sent_to(BOB)) == 2)

    voice_turn, text_turn = (r["messages"][-1]["content"] for r in stack.llm.requests)
    for placeholder in ("PERSON", "ADDRESS", "PHONE"):  # the sender's profile name holds <PERSON_1>
        assert re.search(rf"<{placeholder}_\d+>", voice_turn)
    assert text_turn == "aur mera email <EMAIL_1> hai, PAN <PAN_1>"
    conversation = [m for r in stack.llm.requests for m in r["messages"] if m["role"] != "system"]
    sent = [re.sub(r"<[A-Z_]+_\d+>", "", json.dumps(m)).lower() for m in conversation]
    raw_values = ("priy", "sharma", "heights", "road", "gmail", "f x v", "fxvph")
    raw_values += ("nine eight", "four one one")
    for request in sent:
        assert not re.search(r"\d{3}", request), "digits of a personal value reached the LLM"
        for raw in raw_values:
            assert raw not in request, f"{raw!r} reached the LLM"
