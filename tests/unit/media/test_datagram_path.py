"""The raw path's datagram path before ICE has chosen a pair, and after ICE closed."""

from __future__ import annotations

from aiortc import RTCConfiguration, RTCPeerConnection

from media_server.aiortc_hooks.outbound import datagram_path


async def test_sending_with_no_selected_pair_sends_nothing_and_raises_nothing() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        transport = pc.addTransceiver("video", "sendonly").sender.transport
        path = datagram_path(transport)
        # Twice: the second send must not take the cached (absent) pair for a relayed one.
        assert path.send(b"\x80" * 100) == 0
        assert path.send(b"\x80" * 100) == 0
        assert path.backlog() == 0 and path.dropped == 0
    finally:
        await pc.close()
