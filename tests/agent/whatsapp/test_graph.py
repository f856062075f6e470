"""GraphClient against a local Graph API peer (tests/agent/whatsapp/graph_peer.py): media in and out, sends,
read receipts, retries through an injected sleep, media safety checks, and no token in any exception text."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import pickle
from typing import TYPE_CHECKING

import httpx
import pytest

from agent.whatsapp.errors import (
    GraphAuthError,
    GraphError,
    GraphRateLimited,
    GraphRecipientError,
    GraphTransportError,
    GraphUnavailable,
    GraphWindowClosed,
    MediaError,
    MediaFailure,
)
from agent.whatsapp.graph import GraphClient, MediaInfo, RateLimit, RetryPolicy, TokenBucketLimiter
from tests.agent.whatsapp.graph_peer import GraphPeer, serve_graph_peer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

TOKEN = "EAAG-secret-token-of-business-1"
PNID = "106540352242922"
USER = "15551234567"
BSUID = "US.13491208655302741918"
NO_JITTER = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=4.0, jitter=0.0)


class RecordingSleep:
    """Stands in for asyncio.sleep: records each delay, advances a fake clock, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds


def assert_content_free(exc: BaseException, *secrets: str) -> None:
    for text in (str(exc), repr(exc), *map(str, exc.args)):
        for secret in (TOKEN, USER, BSUID, "ATsecret", "mid=", *secrets):
            assert secret not in text, f"{secret!r} leaked into {type(exc).__name__}"


@pytest.fixture
def peer() -> Iterator[GraphPeer]:
    with serve_graph_peer(TOKEN) as p:
        yield p


@pytest.fixture
def other_host() -> Iterator[GraphPeer]:
    with serve_graph_peer(TOKEN, host="localhost") as p:
        yield p


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=0.5)) as client:
        yield client


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def graph(peer: GraphPeer, http: httpx.AsyncClient, sleep: RecordingSleep) -> GraphClient:
    return GraphClient(
        http,
        peer.base_url,
        media_hosts=["127.0.0.1"],
        retry=NO_JITTER,
        allow_insecure_loopback=True,
        sleep=sleep,
        clock=sleep.clock,
    )


# --- media in ---------------------------------------------------------------------------------------------------


async def test_media_url_then_download_verifies_hex_sha256(peer: GraphPeer, graph: GraphClient) -> None:
    audio = os.urandom(50_000)
    peer.add_media("1013859600285441", audio, "audio/ogg; codecs=opus")
    info = await graph.media_url("1013859600285441", TOKEN)
    assert (info.mime_type, info.file_size) == ("audio/ogg; codecs=opus", len(audio))
    assert info.sha256 == hashlib.sha256(audio).hexdigest()
    assert "ATsecret" not in repr(info)  # the signed URL stays out of logs and reprs
    assert await graph.download_media(info, TOKEN, info.sha256) == audio
    assert peer.paths() == ["GET /v23.0/1013859600285441", "GET /media-download/1013859600285441"]
    assert peer.authorizations == [f"Bearer {TOKEN}"] * 2


async def test_download_accepts_the_base64_sha256_of_webhooks(peer: GraphPeer, graph: GraphClient) -> None:
    audio = os.urandom(3000)
    peer.add_media("42", audio)
    info = await graph.media_url("42", TOKEN)
    webhook_sha = base64.b64encode(hashlib.sha256(audio).digest()).decode()
    assert await graph.download_media(info, TOKEN, webhook_sha) == audio


async def test_sha256_mismatch_is_a_media_error(peer: GraphPeer, graph: GraphClient) -> None:
    peer.add_media("42", b"OggS" + os.urandom(1000))
    peer.report_wrong_sha256("42")
    info = await graph.media_url("42", TOKEN)
    with pytest.raises(MediaError) as caught:
        await graph.download_media(info, TOKEN, info.sha256)
    assert caught.value.reason is MediaFailure.CHECKSUM_MISMATCH
    assert not caught.value.retryable
    assert_content_free(caught.value)


async def test_an_unreadable_expected_checksum_is_refused_before_downloading(
    peer: GraphPeer, graph: GraphClient
) -> None:
    peer.add_media("42", b"abc")
    info = await graph.media_url("42", TOKEN)
    with pytest.raises(MediaError) as caught:
        await graph.download_media(info, TOKEN, "not-a-digest")
    assert caught.value.reason is MediaFailure.CHECKSUM_MISMATCH
    assert peer.paths() == ["GET /v23.0/42"]


async def test_oversized_media_is_refused_by_content_length(
    peer: GraphPeer, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    graph = GraphClient(
        http,
        peer.base_url,
        media_hosts=["127.0.0.1"],
        max_media_bytes=10_000,
        allow_insecure_loopback=True,
        sleep=sleep,
    )
    peer.add_media("42", os.urandom(10_001))
    info = await graph.media_url("42", TOKEN)
    info = dataclasses.replace(info, file_size=None)  # as if Graph had not reported the size
    with pytest.raises(MediaError) as caught:
        await graph.download_media(info, TOKEN, None)
    assert caught.value.reason is MediaFailure.TOO_LARGE
    assert peer.paths()[-1] == "GET /media-download/42"


async def test_oversized_media_is_cut_off_while_streaming(
    peer: GraphPeer, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    graph = GraphClient(
        http,
        peer.base_url,
        media_hosts=["127.0.0.1"],
        max_media_bytes=100_000,
        allow_insecure_loopback=True,
        sleep=sleep,
    )
    peer.add_media("42", os.urandom(1_000_000), chunked=True)  # no Content-Length: only counting can stop it
    info = dataclasses.replace(await graph.media_url("42", TOKEN), file_size=None)
    with pytest.raises(MediaError) as caught:
        await graph.download_media(info, TOKEN, None)
    assert caught.value.reason is MediaFailure.TOO_LARGE
    assert sleep.delays == []  # not retried


async def test_oversized_media_reported_by_graph_is_never_downloaded(
    peer: GraphPeer, http: httpx.AsyncClient
) -> None:
    graph = GraphClient(
        http, peer.base_url, media_hosts=["127.0.0.1"], max_media_bytes=10, allow_insecure_loopback=True
    )
    peer.add_media("42", b"x" * 11)
    info = await graph.media_url("42", TOKEN)
    with pytest.raises(MediaError, match="too_large"):
        await graph.download_media(info, TOKEN, None)
    assert peer.paths() == ["GET /v23.0/42"]


async def test_a_host_off_the_allow_list_gets_no_request(
    peer: GraphPeer, other_host: GraphPeer, graph: GraphClient
) -> None:
    other_host.add_media("42", b"OggS")
    url = f"{other_host.origin}/media-download/42?mid=42"
    info = MediaInfo(url=url, mime_type="audio/ogg", sha256="", file_size=4)
    with pytest.raises(MediaError) as caught:
        await graph.download_media(info, TOKEN, None)
    assert caught.value.reason is MediaFailure.HOST_NOT_ALLOWED
    assert other_host.requests == []
    assert peer.requests == []
    assert_content_free(caught.value, other_host.origin)


async def test_plain_http_needs_the_loopback_flag(
    peer: GraphPeer, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    strict = GraphClient(http, peer.base_url, media_hosts=["127.0.0.1"], sleep=sleep)
    peer.add_media("42", b"OggS")
    info = await strict.media_url("42", TOKEN)
    with pytest.raises(MediaError) as caught:
        await strict.download_media(info, TOKEN, None)
    assert caught.value.reason is MediaFailure.INSECURE_SCHEME
    assert peer.paths() == ["GET /v23.0/42"]


async def test_a_redirect_to_another_host_is_refused_and_the_token_stays_home(
    peer: GraphPeer, other_host: GraphPeer, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    # both hosts allowed and the shared client set to follow redirects: the download must still not follow
    lenient = httpx.AsyncClient(follow_redirects=True, timeout=5)
    graph = GraphClient(
        lenient,
        peer.base_url,
        media_hosts=["127.0.0.1", "localhost"],
        allow_insecure_loopback=True,
        sleep=sleep,
    )
    other_host.add_media("42", b"OggS")
    peer.add_media("42", b"OggS")
    peer.redirect_download("42", f"{other_host.origin}/media-download/42")
    info = await graph.media_url("42", TOKEN)
    with pytest.raises(MediaError) as caught:
        await graph.download_media(info, TOKEN, None)
    await lenient.aclose()
    assert caught.value.reason is MediaFailure.REDIRECT
    assert caught.value.http_status == 302
    assert other_host.requests == []
    assert TOKEN not in str(other_host.authorizations)
    assert sleep.delays == []


async def test_media_host_5xx_is_retried(peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep) -> None:
    peer.add_media("42", b"OggS-body")
    info = await graph.media_url("42", TOKEN)
    peer.fail_next(code=None, status=503)
    assert await graph.download_media(info, TOKEN, None) == b"OggS-body"
    assert sleep.delays == [0.5]


# --- media out and messages -------------------------------------------------------------------------------------


async def test_upload_then_send_voice_note(peer: GraphPeer, graph: GraphClient) -> None:
    ogg = b"OggS" + os.urandom(20_000) + b"\r\n--boundary-lookalike\r\n"
    media_id = await graph.upload_media(PNID, TOKEN, ogg)
    upload = peer.uploads[media_id]
    assert (upload.data, upload.mime_type, upload.filename) == (ogg, "audio/ogg", "reply.ogg")
    assert peer.requests[0].headers["content-type"].startswith("multipart/form-data")

    wamid = await graph.send_voice_note(PNID, TOKEN, USER, media_id)
    assert wamid.startswith("wamid.")
    assert peer.messages == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": USER,
            "type": "audio",
            "audio": {"id": media_id, "voice": True},
        }
    ]
    assert peer.paths() == [f"POST /v23.0/{PNID}/media", f"POST /v23.0/{PNID}/messages"]


async def test_send_text_to_a_business_scoped_user_id(peer: GraphPeer, graph: GraphClient) -> None:
    wamid = await graph.send_text(PNID, TOKEN, BSUID, "We open at 9.")
    assert wamid.startswith("wamid.")
    (sent,) = peer.messages
    assert sent["to"] == BSUID
    assert sent["text"] == {"body": "We open at 9.", "preview_url": False}


async def test_send_template(peer: GraphPeer, graph: GraphClient) -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]
    await graph.send_template(PNID, TOKEN, USER, "follow_up", "en_US", components)
    (sent,) = peer.messages
    assert sent["type"] == "template"
    assert sent["template"] == {"name": "follow_up", "language": {"code": "en_US"}, "components": components}


@pytest.mark.parametrize("typing", [True, False])
async def test_mark_read(peer: GraphPeer, graph: GraphClient, typing: bool) -> None:
    await graph.mark_read(
        PNID, TOKEN, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", typing=typing
    )
    (receipt,) = peer.read_receipts
    expected = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
    }
    if typing:
        expected["typing_indicator"] = {"type": "text"}  # type: ignore[assignment]
    assert receipt == expected
    assert peer.messages == []


async def test_ids_that_could_change_the_url_path_are_refused(graph: GraphClient, peer: GraphPeer) -> None:
    with pytest.raises(ValueError, match="media_id is not a Graph id"):
        await graph.media_url("../me", TOKEN)
    with pytest.raises(ValueError, match="phone_number_id"):
        await graph.send_text("1/../2", TOKEN, USER, "hi")
    assert peer.requests == []


# --- errors and retries -----------------------------------------------------------------------------------------


async def test_rate_limited_once_then_sent_once(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    peer.fail_next(code=130429, status=429)
    await graph.send_text(PNID, TOKEN, USER, "hello")
    assert len(peer.messages) == 1
    assert len(peer.requests) == 2
    assert sleep.delays == [0.5]


async def test_retry_after_is_honoured(peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep) -> None:
    peer.fail_next(code=131056, status=400, retry_after=3)
    await graph.send_text(PNID, TOKEN, USER, "hello")
    assert sleep.delays == [3.0]
    assert len(peer.messages) == 1


async def test_a_long_retry_after_is_left_to_the_queue(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    peer.fail_next(code=130429, status=429, retry_after=60)
    with pytest.raises(GraphRateLimited) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    assert (caught.value.retryable, caught.value.retry_after_s) == (True, 60.0)
    assert sleep.delays == []
    assert len(peer.requests) == 1


async def test_window_closed_is_not_retried(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    peer.fail_next(code=131047, status=400)
    with pytest.raises(GraphWindowClosed) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    exc = caught.value
    assert (exc.code, exc.http_status, exc.retryable, exc.fbtrace_id) == (131047, 400, False, "AbC-123_x")
    assert len(peer.requests) == 1
    assert sleep.delays == []
    assert peer.messages == []
    assert_content_free(exc, "hello", "injected", PNID)


@pytest.mark.parametrize("code", [131026, 131051])
async def test_recipient_errors_are_not_retried(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep, code: int
) -> None:
    peer.fail_next(code=code, status=400)
    with pytest.raises(GraphRecipientError) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    assert caught.value.code == code
    assert not caught.value.retryable
    assert (len(peer.requests), sleep.delays) == (1, [])
    assert_content_free(caught.value)


async def test_a_bad_token_is_an_auth_error_without_retry(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    with pytest.raises(GraphAuthError) as caught:
        await graph.send_text(PNID, "EAAG-wrong-token", USER, "hello")
    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (190, 401, False)
    assert (len(peer.requests), sleep.delays) == (1, [])
    assert_content_free(caught.value, "EAAG-wrong-token")


async def test_other_4xx_are_not_retried(peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep) -> None:
    with pytest.raises(GraphError) as caught:
        await graph.send_voice_note(PNID, TOKEN, USER, "55555")  # never uploaded: the peer answers (#100)
    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (100, 400, False)
    assert (len(peer.requests), sleep.delays) == (1, [])


async def test_5xx_twice_then_an_upload_succeeds(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    peer.fail_next(code=None, status=502)
    peer.fail_next(code=131000, status=500)
    media_id = await graph.upload_media(PNID, TOKEN, b"OggS")
    assert media_id in peer.uploads
    assert sleep.delays == [0.5, 1.0]  # an upload may repeat: it has no effect for the person


@pytest.mark.parametrize(("code", "status"), [(None, 502), (131000, 500), (None, 429)])
async def test_a_send_answered_5xx_or_without_metas_body_is_never_repeated(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep, code: int | None, status: int
) -> None:
    """Meta may have processed it (a 5xx, or a 4xx that is not Meta's refusal): one POST, outcome unknown."""
    peer.fail_next(code=code, status=status, times=3)
    with pytest.raises(GraphError) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    assert caught.value.outcome_unknown
    assert (len(peer.requests), sleep.delays) == (1, [])


async def test_a_send_meta_delivered_and_answered_500_is_not_sent_again(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    peer.fail_accepted_sends_next(500)
    with pytest.raises(GraphUnavailable) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    assert caught.value.outcome_unknown
    assert len(peer.messages) == 1
    assert (len(peer.requests), sleep.delays) == (1, [])


async def test_throttled_sends_are_refusals_and_retried(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    peer.fail_next(code=80007, status=400)
    peer.fail_next(code=131056, status=400)
    await graph.send_text(PNID, TOKEN, USER, "hello")
    assert (len(peer.requests), len(peer.messages)) == (3, 1)
    assert sleep.delays == [0.5, 1.0]


@pytest.mark.parametrize("code", [131016, 133004])
async def test_transient_meta_codes_are_retried(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep, code: int
) -> None:
    peer.fail_next(code=code, status=503, times=3)
    with pytest.raises(GraphUnavailable) as caught:
        await graph.upload_media(PNID, TOKEN, b"OggS")
    assert caught.value.retryable
    assert len(peer.requests) == NO_JITTER.max_attempts
    assert sleep.delays == [0.5, 1.0]
    assert_content_free(caught.value)


async def test_a_send_stalled_beyond_the_timeout_is_posted_once(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    """The request was written before the read timed out: Meta may have it, so it is never POSTed again."""
    peer.stall_next(1.0, times=NO_JITTER.max_attempts)  # the client's read timeout is 0.5 s
    with pytest.raises(GraphTransportError) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    exc = caught.value
    assert (exc.kind, exc.http_status, exc.outcome_unknown) == ("timeout", 0, True)
    assert len(peer.requests) == 1
    assert sleep.delays == []
    assert exc.__cause__ is None  # httpx's text (it names the URL) does not travel with the error
    assert exc.__suppress_context__
    assert_content_free(exc)


async def test_a_stalled_upload_is_retried_then_raised(
    peer: GraphPeer, graph: GraphClient, sleep: RecordingSleep
) -> None:
    peer.stall_next(1.0, times=NO_JITTER.max_attempts)
    with pytest.raises(GraphTransportError) as caught:
        await graph.upload_media(PNID, TOKEN, b"OggS")
    assert (caught.value.kind, caught.value.retryable) == ("timeout", True)
    assert len(peer.requests) == NO_JITTER.max_attempts
    assert sleep.delays == [0.5, 1.0]


@pytest.mark.parametrize(("action", "posts"), [("accept", 1), ("terminate", NO_JITTER.max_attempts)])
async def test_call_signalling_repeats_only_what_changes_nothing_for_the_caller(
    peer: GraphPeer, graph: GraphClient, action: str, posts: int
) -> None:
    peer.fail_next(code=None, status=503, times=NO_JITTER.max_attempts)
    sdp = "v=0\r\na=fingerprint:sha-256 AB:CD\r\n"
    signal = (
        graph.accept_call(PNID, TOKEN, "wacid.1", sdp)
        if action == "accept"
        else graph.terminate_call(PNID, TOKEN, "wacid.1")
    )
    with pytest.raises(GraphUnavailable):
        await signal
    assert len(peer.requests) == posts


async def test_a_refused_connection_is_retried_and_known_unsent(
    http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    with serve_graph_peer(TOKEN) as gone:
        base_url = gone.base_url
    graph = GraphClient(http, base_url, retry=NO_JITTER, sleep=sleep)
    with pytest.raises(GraphTransportError) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    assert (caught.value.kind, caught.value.outcome_unknown) == ("connection", False)
    assert sleep.delays == [0.5, 1.0]


async def test_errors_survive_pickling(peer: GraphPeer, graph: GraphClient) -> None:
    peer.fail_next(code=131047, status=400)
    with pytest.raises(GraphWindowClosed) as caught:
        await graph.send_text(PNID, TOKEN, USER, "hello")
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own object
    assert type(copy) is GraphWindowClosed
    assert (copy.code, copy.http_status, str(copy)) == (131047, 400, str(caught.value))


# --- pacing ---------------------------------------------------------------------------------------------------


def test_retry_policy_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=0.5, max_delay_s=3.0, jitter=0.5)
    assert [policy.backoff_s(n, lambda: 0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.backoff_s(2, lambda: 0.999) == pytest.approx(0.5005)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


async def test_token_bucket_bursts_then_paces_each_key() -> None:
    sleep = RecordingSleep()
    limiter = TokenBucketLimiter(RateLimit(per_second=1.0, burst=5), clock=sleep.clock, sleep=sleep)
    for _ in range(5):
        await limiter.acquire("a")
    assert sleep.delays == []
    await limiter.acquire("a")
    assert sleep.delays == [1.0]
    await limiter.acquire("b")  # another key has its own bucket
    assert sleep.delays == [1.0]
    sleep.now += 10  # idle time refills up to the burst, no further
    assert [limiter.reserve("a") for _ in range(6)] == [0.0] * 5 + [1.0]


async def test_concurrent_reservations_queue_up() -> None:
    sleep = RecordingSleep()
    limiter = TokenBucketLimiter(RateLimit(per_second=2.0, burst=1), clock=sleep.clock, sleep=sleep)
    assert [limiter.reserve("k") for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]


async def test_sends_are_paced_per_recipient(
    peer: GraphPeer, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    graph = GraphClient(
        http,
        peer.base_url,
        recipient_limit=RateLimit(per_second=1.0, burst=2),
        sleep=sleep,
        clock=sleep.clock,
    )
    for _ in range(3):
        await graph.send_text(PNID, TOKEN, USER, "hi")
    await graph.send_text(PNID, TOKEN, "15557654321", "hi")
    assert sleep.delays == [1.0]  # only the third message to the same person waited
    assert len(peer.messages) == 4
