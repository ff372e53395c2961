"""Peer connections as the SFU builds them: max-bundle, our ICE hosts and servers, the hooks on."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from aiortc import RTCPeerConnection, RTCRtpTransceiver, sdp

from media_server.aiortc_hooks import ice, inbound, outbound, srtp
from media_server.codecs import CodecChoice
from media_server.ice_servers import IceServer, rtc_configuration
from media_server.subscription import Subscription


def new_peer_connection(ice_servers: Iterable[IceServer] = ()) -> RTCPeerConnection:
    """Max-bundle, and STUN/TURN servers exactly as configured (none: no server contacted)."""
    return RTCPeerConnection(rtc_configuration(ice_servers))


def add_receiving(pc: RTCPeerConnection, codec: CodecChoice) -> RTCRtpTransceiver:
    transceiver = pc.addTransceiver(codec.kind, direction="recvonly")
    transceiver.setCodecPreferences(codec.preferences())
    _hook_transports(pc)
    return transceiver


def add_sending(
    pc: RTCPeerConnection, subscription: Subscription, codec: CodecChoice, on_keyframe: Callable[[], None]
) -> RTCRtpTransceiver:
    # A fresh transceiver every time: addTrack() would reuse a stopped one whose
    # sender never starts again.
    transceiver = pc.addTransceiver(subscription.track, direction="sendonly")
    transceiver.setCodecPreferences(codec.preferences())
    outbound.install_packer(transceiver.sender, codec.mime_type)
    outbound.on_keyframe_request(transceiver.sender, on_keyframe)
    subscription.bind_sender(transceiver.sender)
    _hook_transports(pc)
    return transceiver


def _hook_transports(pc: RTCPeerConnection) -> None:
    """Each of `pc`'s transports, once: RTX routed to its receiver, RTP unprotected without overhead."""
    inbound.fix_rtx_routing(pc)
    srtp.fast_unprotect(pc)


def prepare_local_description(pc: RTCPeerConnection, ice_hosts: Sequence[str]) -> None:
    ice.use_ice_hosts(pc, ice_hosts)


def remote_ssrc(pc: RTCPeerConnection, mid: str | None) -> int | None:
    """The primary SSRC the remote side announced for `mid` (for PLIs toward it)."""
    description = pc.remoteDescription
    if description is None or mid is None:
        return None
    parsed = sdp.SessionDescription.parse(description.sdp)
    for media in parsed.media:
        if media.rtp.muxId != mid:
            continue
        for group in media.ssrc_group:
            if group.semantic == "FID" and group.items:
                return int(group.items[0])
        if media.ssrc:
            return int(media.ssrc[0].ssrc)
    return None
