"""A tenant's tool and webhook URLs are untrusted: the guarded transport refuses internal addresses when the
socket opens (DNS rebinding included), a call has one deadline, answers are capped. The far side is a real
socket: a real redis-server, a plain listener, and a local HTTPS peer on 127.0.0.1 with a certificate made
here for a public-looking name (a business's server cannot exist in a test)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import time
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from agent.egress import EgressPolicy, EgressRefused, GuardedTransport
from agent.tools.conversation import EndpointCaller
from pipelines.automation import ToolError
from tests.agent.stack import PEERS
from tests.local_server import serve_in_thread

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence
    from pathlib import Path

    from starlette.requests import Request

    from tests.redis_server import RedisServer

HOST = "api.tenant.example"
SECRET = b"whsec-egress-test"


async def _call(caller: EndpointCaller, url: str, *, timeout_s: float = 2.0, max_bytes: int = 4096) -> str:
    return await caller.call(
        "POST", url, SECRET, {"q": 1}, timeout_s=timeout_s, max_bytes=max_bytes, idempotency_key="k"
    )


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "168.63.129.16",  # Azure's WireServer is a public address: refused by name
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "169.254.1.1",
        "fe80::1",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
        "240.0.0.1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_internal_and_metadata_addresses_are_refused(address: str) -> None:
    assert EgressPolicy().refusal(address) is not None


def test_public_addresses_pass_and_ops_can_open_a_range_but_never_metadata() -> None:
    assert EgressPolicy().refusal("93.184.216.34") is None
    assert EgressPolicy().refusal("2606:4700::1111") is None
    crm = EgressPolicy.from_setting("10.20.0.0/16, 169.254.0.0/16")
    assert crm.refusal("10.20.3.4") is None
    assert crm.refusal("10.21.0.1") is not None
    assert crm.refusal("169.254.169.254") == "a cloud metadata address"
    with pytest.raises(ValueError, match="entry 2"):
        EgressPolicy.from_setting("10.0.0.0/8, not-a-network")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://127.0.0.1:6379", "must use https"),
        ("https://127.0.0.1:6379", "internal address"),
        ("https://[::1]:8080/admin/", "internal address"),
        ("https://localhost:9100/metrics", "local or metadata host"),
        ("https://metadata.google.internal/computeMetadata/v1/", "local or metadata host"),
        ("http://crm.example.com/hook", "must use https"),
        ("https://user:pw@crm.example.com/hook", "credentials"),
        ("ftp://crm.example.com/hook", "absolute https URL"),
    ],
)
def test_urls_are_checked_when_the_tenant_loads(url: str, reason: str) -> None:
    with pytest.raises(EgressRefused, match=reason):
        EgressPolicy().check_url(url)


def test_plain_http_only_to_a_literal_address_ops_allowed() -> None:
    PEERS.check_url("http://127.0.0.1:8080/x")
    with pytest.raises(EgressRefused, match="must use https"):
        PEERS.check_url("http://localhost:8080/x")  # a name could resolve anywhere later
    with pytest.raises(EgressRefused, match="must use https"):
        PEERS.check_url("http://127.0.0.2:8080/x")


@pytest.fixture
async def public_only() -> AsyncIterator[EndpointCaller]:
    async with EndpointCaller(GuardedTransport(EgressPolicy())) as caller:
        yield caller


async def _connections(redis_server: RedisServer) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", redis_server.port)
    writer.write(b"INFO stats\r\n")
    await writer.drain()
    data = b""
    while b"total_connections_received" not in data or not data.endswith(b"\r\n"):
        data += await reader.read(65536)
    writer.close()
    line = next(x for x in data.split(b"\r\n") if x.startswith(b"total_connections_received"))
    return int(line.split(b":")[1])


async def test_internal_targets_are_refused_before_any_socket_opens(
    public_only: EndpointCaller, redis_server: RedisServer
) -> None:
    """The tenant file was bypassed (a URL set in code): the transport still refuses, and the real Redis on
    127.0.0.1 sees no connection at all."""
    before = await _connections(redis_server)
    for url in (
        f"https://127.0.0.1:{redis_server.port}/",
        f"http://127.0.0.1:{redis_server.port}/",
        f"https://[::ffff:127.0.0.1]:{redis_server.port}/",
        f"https://localhost:{redis_server.port}/",
        "https://169.254.169.254/latest/meta-data/iam/",
    ):
        with pytest.raises(ToolError, match="address is not allowed"):
            await _call(public_only, url)
    assert await _connections(redis_server) == before + 1  # only this test's second look


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.setblocking(False)
    yield sock
    sock.close()


def _accepted(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


async def test_a_name_resolving_to_loopback_is_refused_at_connect_time(listener: socket.socket) -> None:
    """`api.tenant.example` passes the load-time check (a public-looking name); its DNS answer is loopback."""
    port = listener.getsockname()[1]

    async def resolver(host: str, _: int) -> Sequence[str]:
        return ["127.0.0.1"] if host == HOST else []

    EgressPolicy().check_url(f"https://{HOST}:{port}/hook")  # what validation saw: fine
    async with EndpointCaller(GuardedTransport(EgressPolicy(), resolver=resolver)) as caller:
        with pytest.raises(ToolError, match="address is not allowed"):
            await _call(caller, f"https://{HOST}:{port}/hook")
    assert not _accepted(listener)


async def test_a_mixed_answer_is_refused_whole(listener: socket.socket) -> None:
    """A public and an internal address for one name: no address of it is used."""
    port = listener.getsockname()[1]

    async def resolver(_: str, __: int) -> Sequence[str]:
        return ["93.184.216.34", "127.0.0.1"]

    async with EndpointCaller(GuardedTransport(EgressPolicy(), resolver=resolver)) as caller:
        with pytest.raises(ToolError, match="address is not allowed"):
            await _call(caller, f"https://{HOST}:{port}/hook")
    assert not _accepted(listener)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for HOST (the test trusts it as its only CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def _hook(request: Request) -> Response:
    return Response(f'{{"host": "{request.headers["host"]}"}}', media_type="application/json")


async def test_dns_rebinding_is_caught_at_connect_time(tmp_path: Path) -> None:
    """The first lookup answers an address ops allowed (standing in for a public one): the request goes to
    that address, TLS verifies the certificate of the *name* and Host is the name. The next lookup answers
    the metadata address: refused, although the URL did not change."""
    cert, key = _certificate(tmp_path)
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])

    async def rebinding(host: str, _: int) -> Sequence[str]:
        assert host == HOST
        return next(answers)

    trust = ssl.create_default_context(cafile=str(cert))
    app = Starlette(routes=[Route("/hook", _hook, methods=["POST"])])
    with serve_in_thread(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as port:
        url = f"https://{HOST}:{port}/hook"
        transport = GuardedTransport(PEERS, resolver=rebinding, verify=trust)
        async with EndpointCaller(transport) as caller:
            assert await _call(caller, url) == f'{{"host": "{HOST}:{port}"}}'
        transport = GuardedTransport(
            PEERS, resolver=rebinding, verify=trust
        )  # a new connection: a new lookup
        async with EndpointCaller(transport) as caller:
            with pytest.raises(ToolError, match="address is not allowed"):
                await _call(caller, url)


async def _drip(_: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x"
            await asyncio.sleep(0.1)

    return StreamingResponse(body(), media_type="application/json")


async def _flood(_: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(1000):
            yield b"x" * 1024

    return StreamingResponse(body(), media_type="application/json")  # chunked: no Content-Length


async def _declared(_: Request) -> Response:
    return Response(b"x" * 100_000, media_type="application/json")


async def _gzip(_: Request) -> Response:
    return Response(b"\x1f\x8b", headers={"Content-Encoding": "gzip"}, media_type="application/json")


@pytest.fixture
def answers() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/drip", _drip, methods=["POST"]),
            Route("/flood", _flood, methods=["POST"]),
            Route("/declared", _declared, methods=["POST"]),
            Route("/gzip", _gzip, methods=["POST"]),
        ]
    )
    with serve_in_thread(app) as port:
        yield f"http://127.0.0.1:{port}"


async def test_a_slow_drip_answer_hits_the_one_deadline_of_the_call(answers: str) -> None:
    """A byte every 0.1 s never trips a per-read timeout; the call's deadline (0.5 s) ends it."""
    async with EndpointCaller(GuardedTransport(PEERS)) as caller:
        started = time.monotonic()
        with pytest.raises(ToolError, match="did not answer in time"):
            await _call(caller, f"{answers}/drip", timeout_s=0.5)
        assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("path", "reason"), [("/flood", "too large"), ("/declared", "too large"), ("/gzip", "compressed")]
)
async def test_oversized_answers_are_refused(answers: str, path: str, reason: str) -> None:
    async with EndpointCaller(GuardedTransport(PEERS)) as caller:
        with pytest.raises(ToolError, match=reason):
            await _call(caller, f"{answers}{path}", max_bytes=16_384)


def test_ipaddress_module_sees_what_we_rely_on() -> None:
    """CGNAT is neither private nor global to `ipaddress`: the policy refuses it as not global."""
    cgnat = ipaddress.ip_address("100.64.0.1")
    assert not cgnat.is_private
    assert not cgnat.is_global


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_an_ipv4_address_is_judged_the_same_in_every_ipv6_disguise(value: int) -> None:
    """Mapped, NAT64 and 6to4 forms of an address are refused exactly when the address itself is."""
    v4 = ipaddress.IPv4Address(value)
    policy = EgressPolicy()
    refused = policy.refusal(str(v4)) is not None
    for disguise in (
        ipaddress.IPv6Address(f"::ffff:{v4}"),
        ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | value),
        ipaddress.IPv6Address((0x2002 << 112) | (value << 80)),
    ):
        assert (policy.refusal(str(disguise)) is not None) == refused, disguise
