"""Where a tenant's tools and webhooks may connect: public addresses only, checked when the socket opens.

A tenant names its endpoints in `tenant.yaml`, so an endpoint is untrusted input: `https://169.254.169.254/`
would read the cloud's instance credentials, `http://127.0.0.1:6379` would talk to Redis, and a hostname can
resolve to a public address when the file is validated and to an internal one a second later (DNS
rebinding). So the check runs twice:

- at load (`check_url`): `https` only, no credentials in the URL, no literal internal address, no
  `localhost`;
- at connect (`GuardedBackend`): the name is resolved here, *every* address it resolves to is checked, and
  the socket is opened to one of those checked addresses, never by name again. TLS still verifies the
  certificate of the hostname (SNI and `Host` come from the URL), so connecting by address changes nothing
  for the business.

Refused: loopback, private (RFC 1918, ULA), link-local, CGNAT (100.64/10), multicast, unspecified,
reserved and documentation ranges (everything `ipaddress` does not call global), IPv4 embedded in IPv6
(mapped, NAT64, 6to4, Teredo) by its IPv4 address, and the cloud metadata addresses, which stay refused even
inside an allowed network. Ops open a range with `LEADCLOSE_TOOLS_ALLOW_NETWORKS` (comma-separated CIDRs,
e.g. a CRM on `10.20.0.0/16`); inside an allowed network plain `http` is accepted too, for a literal address
only (a sidecar, a test peer on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata and platform endpoints: refused whatever ops allow.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::123",
        "168.63.129.16",  # Azure WireServer (a public address)
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.azure.internal", "instance-data"}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(Exception):  # noqa: N818 - a refusal by policy, not a failure
    """A URL or an address a tenant's request may not reach; the message names the rule, not the address."""


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """`"10.20.0.0/16, 127.0.0.1/32"` → networks; raises ValueError naming the bad entry's position."""
    networks = []
    for n, item in enumerate((p.strip() for p in value.split(",")), 1):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"entry {n} is not an IP network in CIDR form (e.g. 10.20.0.0/16)") from None
    return tuple(networks)


def _embedded_v4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo server), else `ip` itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Which addresses a tenant's endpoints may reach: public ones, plus the networks ops allow."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, value: str) -> EgressPolicy:
        return cls(parse_networks(value))

    def in_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed)

    def refusal(self, address: str) -> str | None:
        """Why a connection to `address` is refused, or None when it may go ahead."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # a scope id (fe80::1%eth0) changes nothing
        inner = _embedded_v4(ip)
        if ip in METADATA_ADDRESSES or inner in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if self.in_allowed(ip) or self.in_allowed(inner):
            return None
        for candidate in {ip, inner}:
            if candidate.is_multicast:
                return "a multicast address"
            if not candidate.is_global:
                return "an internal address (loopback, private, link-local, CGNAT or reserved)"
        return None

    def check_url(self, url: str) -> None:
        """The static rules, applied when a tenant file is loaded and again before each request."""
        parts = httpx.URL(url)
        host = parts.host
        if parts.scheme not in ("https", "http") or not host:
            raise EgressRefused("must be an absolute https URL")
        if parts.userinfo:
            raise EgressRefused("must not carry credentials (name the secret variable instead)")
        literal = _literal(host)
        if parts.scheme == "http" and (literal is None or not self.in_allowed(literal)):
            raise EgressRefused(
                "must use https (plain http only to an address in LEADCLOSE_TOOLS_ALLOW_NETWORKS)"
            )
        if literal is not None:
            why = self.refusal(str(literal))
            if why:
                raise EgressRefused(f"points to {why}")
        elif host == "localhost" or host.endswith((".localhost", ".local")) or host in METADATA_NAMES:
            raise EgressRefused("points to a local or metadata host name")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (A and AAAA)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving names itself: every resolved address is checked, then the
    socket opens to a checked address (so a second, rebinding answer of DNS is never used)."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        resolver: Callable[[str, int], Awaitable[Sequence[str]]] = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolve = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _literal(host)
        if literal is not None:
            addresses: Sequence[str] = [str(literal)]
        else:
            try:
                async with asyncio.timeout(timeout):
                    addresses = await self._resolve(host, port)
            except (OSError, TimeoutError):
                raise httpcore.ConnectError("the name did not resolve") from None
        if not addresses:
            raise httpcore.ConnectError("the name did not resolve")
        for address in addresses:  # all of them: a mix of public and internal answers is refused too
            why = self._policy.refusal(address)
            if why:
                raise EgressRefused(f"the endpoint resolves to {why}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("unix sockets are not an endpoint")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (pooling, TLS, error mapping) over a `GuardedBackend`, with the static URL
    rules checked per request. No proxy from the environment: a proxy would connect on our behalf."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        resolver: Callable[[str, int], Awaitable[Sequence[str]]] = system_resolver,
        verify: Any = True,
        limits: httpx.Limits = httpx.Limits(max_connections=50, max_keepalive_connections=10),  # noqa: B008
    ) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._policy = policy
        # httpx's transport takes no network backend; its pool is rebuilt with ours (same settings).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolver=resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._policy.check_url(str(request.url))
        return await super().handle_async_request(request)
