"""STUN/TURN servers a peer connection may contact: exactly the configured ones, none by default.

aiortc asks Google's public STUN server (stun.l.google.com) whenever a configuration leaves
`iceServers` unset; every peer connection here is built from `rtc_configuration()`, which
always sets it, so an empty list means host candidates only and no traffic to any server.

Config form (`[media] ice_servers`): each entry a URL string ("stun:stun.example.org:3478")
or a table `{urls = "turn:turn.example.org:3478?transport=udp", username = "...",
credential = "..."}` (`urls` may be a list). aiortc uses the first STUN and the first TURN
entry it understands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy

SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def parse_ice_servers(entries: Iterable[Any]) -> tuple[IceServer, ...]:
    """The configured entries, checked (a ValueError names the bad one)."""
    servers: list[IceServer] = []
    for entry in entries:
        if isinstance(entry, str):
            server = IceServer(urls=(entry,))
        elif isinstance(entry, Mapping):
            urls = entry.get("urls")
            url_list = (urls,) if isinstance(urls, str) else tuple(urls) if isinstance(urls, list) else ()
            username, credential = entry.get("username"), entry.get("credential")
            server = IceServer(
                urls=tuple(str(u) for u in url_list),
                username=None if username is None else str(username),
                credential=None if credential is None else str(credential),
            )
        else:
            raise ValueError(f"ice_servers: {entry!r} is neither a URL nor a table with urls")
        if not server.urls:
            raise ValueError(f"ice_servers: {entry!r} has no urls")
        for url in server.urls:
            if not url.startswith(SCHEMES):
                raise ValueError(f"ice_servers: {url!r} is not a stun:, stuns:, turn: or turns: URL")
        servers.append(server)
    return tuple(servers)


def rtc_configuration(servers: Iterable[IceServer] = ()) -> RTCConfiguration:
    # max-bundle: with aiortc's default (balanced) a second video transceiver made
    # before the first negotiation lands on a transport BUNDLE discards.
    # iceServers is always a list: None would make aiortc add its public default.
    return RTCConfiguration(
        iceServers=[RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential) for s in servers],
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )
