"""The WebRTC answerer for WhatsApp calls (aiortc).

WhatsApp does not trickle ICE: the answer must carry every candidate, which aiortc gathers in full inside
`setLocalDescription`. WhatsApp accepts only a `sha-256` DTLS fingerprint, so the others aiortc offers are
dropped; an offer without a usable `sha-256` fingerprint is refused before any media is set up.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

if TYPE_CHECKING:
    from aiortc.mediastreams import MediaStreamTrack

_FINGERPRINT = re.compile(r"^a=fingerprint:(\S+) (\S+)\s*$", re.MULTILINE)
_SHA256_VALUE = re.compile(r"(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}")


class SdpError(Exception):
    """An offer we cannot answer; the message names what is missing, never the SDP."""


@dataclass(frozen=True, slots=True)
class IceServer:
    """A STUN or TURN server (`stun:host:port`, `turn:host:port?transport=udp`); TURN needs credentials."""

    urls: str
    username: str | None = None
    credential: str | None = None


def check_offer(sdp: str) -> None:
    if "\nm=audio " not in "\n" + sdp.replace("\r\n", "\n"):
        raise SdpError("offer has no audio section")
    usable = [v for algo, v in _FINGERPRINT.findall(sdp.replace("\r\n", "\n")) if algo.lower() == "sha-256"]
    if not any(_SHA256_VALUE.fullmatch(v) for v in usable):
        raise SdpError("offer has no usable sha-256 fingerprint")


def keep_sha256_fingerprint(sdp: str) -> str:
    lines = sdp.replace("\r\n", "\n").split("\n")
    kept = [
        line
        for line in lines
        if not line.startswith("a=fingerprint:") or line.split(":", 1)[1].lower().startswith("sha-256 ")
    ]
    return "\r\n".join(kept)


class CallPeer:
    """One call's peer connection: answers the offer with `send` as our audio and hands over theirs."""

    def __init__(self, ice_servers: tuple[IceServer, ...] = ()) -> None:
        # An explicit empty list: aiortc's default would ask a public STUN server.
        config = RTCConfiguration(
            iceServers=[RTCIceServer(s.urls, s.username, s.credential) for s in ice_servers]
        )
        self._pc = RTCPeerConnection(config)
        self._remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self._pc.on("track", self._on_track)
        self.closed = asyncio.Event()
        self._connected = asyncio.Event()
        self._pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and not self._remote.done():
            self._remote.set_result(track)

    async def _on_state(self) -> None:
        if self._pc.connectionState == "connected":
            self._connected.set()
        elif self._pc.connectionState in ("failed", "closed"):
            self.closed.set()

    async def answer(self, offer: str, send: MediaStreamTrack) -> str:
        """The complete answer SDP (all candidates, sha-256 fingerprint only). Raises `SdpError`."""
        check_offer(offer)
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        except ValueError:
            raise SdpError("offer is not a valid audio offer") from None
        self._pc.addTrack(send)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        return keep_sha256_fingerprint(self._pc.localDescription.sdp)

    async def remote_audio(self) -> MediaStreamTrack:
        return await self._remote

    async def connected(self) -> None:
        """Until ICE and DTLS are up; raises `ConnectionError` when they fail first."""
        up, down = asyncio.create_task(self._connected.wait()), asyncio.create_task(self.closed.wait())
        try:
            await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        finally:
            up.cancel()
            down.cancel()
        if not self._connected.is_set():
            raise ConnectionError("media connection failed")

    async def close(self) -> None:
        await self._pc.close()
        self.closed.set()
