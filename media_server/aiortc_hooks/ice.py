"""ICE: host candidates gathered on the addresses we choose (aioice never offers 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiortc import RTCPeerConnection

GATHERER_CONNECTION = "_connection"
ICE_GATHER_FUNCTION = "get_component_candidates"
# The ICE transport's datagram send; only media_server.testing's loss injection wraps it.
ICE_SEND = "_send"
ICE_RECV = "_recv"


def use_ice_hosts(pc: RTCPeerConnection, hosts: Sequence[str]) -> None:
    """Gather host candidates on exactly `hosts` (aioice never offers 127.0.0.1).

    Call before each setLocalDescription; gatherers created since are patched too.
    """
    if not hosts:
        return
    wanted = list(hosts)
    gatherers = [t.receiver.transport.transport.iceGatherer for t in pc.getTransceivers()]
    if pc.sctp is not None:
        gatherers.append(pc.sctp.transport.transport.iceGatherer)
    for gatherer in gatherers:
        connection = getattr(gatherer, GATHERER_CONNECTION)
        if getattr(connection, "_mentorlive_hosts", None) is not None:
            continue
        original = getattr(connection, ICE_GATHER_FUNCTION)

        async def gather(component: int, addresses: list[str], timeout: int = 5, _o: Any = original) -> Any:  # noqa: ASYNC109
            return await _o(component=component, addresses=wanted, timeout=timeout)

        setattr(connection, ICE_GATHER_FUNCTION, gather)
        setattr(connection, "_mentorlive_hosts", wanted)  # noqa: B010
