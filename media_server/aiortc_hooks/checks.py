"""Fails loudly when an aiortc/aioice upgrade moves a private name or behaviour the hooks use.

Run at node start and by a unit test.
"""

from __future__ import annotations

import inspect

import pylibsrtp
from aiortc import RTCConfiguration, RTCPeerConnection

from media_server.aiortc_hooks.ice import GATHERER_CONNECTION, ICE_GATHER_FUNCTION, ICE_RECV, ICE_SEND
from media_server.aiortc_hooks.inbound import (
    RECEIVER_DECODER_QUEUE,
    RECEIVER_HANDLE_RTP,
    RECEIVER_JITTER_BUFFER,
    RECEIVER_NACK_GENERATOR,
    RECEIVER_REMOTE_STREAMS,
    RECEIVER_SEND_NACK,
    RECEIVER_SEND_PLI,
    ROUTER_SSRC_TABLE,
    TRANSPORT_REGISTER_RECEIVER,
    TRANSPORT_ROUTER,
)
from media_server.aiortc_hooks.outbound import (
    CONNECTION_NOMINATED,
    ICE_CONNECTION,
    SENDER_ENCODER,
    SENDER_HANDLE_RTCP,
    SENDER_LSR,
    SENDER_LSR_TIME,
    SENDER_NTP_TIMESTAMP,
    SENDER_OCTET_COUNT,
    SENDER_PACKET_COUNT,
    SENDER_RETRANSMIT,
    SENDER_RTP_HISTORY,
    SENDER_RTP_TIMESTAMP,
    SENDER_RTX_SSRC,
    SENDER_SEND,
    SENDER_SEND_KEYFRAME,
    SENDER_SEND_RTCP,
    SENDER_SSRC,
    SRTP_TX_WINDOW,
    TRANSPORT_TX_BYTES,
    TRANSPORT_TX_PACKETS,
)
from media_server.aiortc_hooks.srtp import (
    SESSION_BUFFER,
    SESSION_CDATA,
    SESSION_HANDLE,
    TRANSPORT_RX_SRTP,
    TRANSPORT_SETUP_SRTP,
)


def check_hooks() -> list[str]:
    """Names this module needs that the installed aiortc/aioice lack (empty when fine)."""
    import aioice.ice
    import aiortc.rtcdtlstransport as transport_module
    import aiortc.rtcpeerconnection as peer_connection_module
    import aiortc.rtcrtpreceiver as receiver_module
    import aiortc.rtcrtpsender as sender_module

    missing: list[str] = []
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never aiortc's public STUN default
    try:
        transceiver = pc.addTransceiver("audio", "recvonly")
        receiver, sender = transceiver.receiver, transceiver.sender
        for obj, name in (
            (receiver, RECEIVER_DECODER_QUEUE),
            (receiver, RECEIVER_JITTER_BUFFER),
            (receiver, RECEIVER_SEND_PLI),
            (receiver, RECEIVER_SEND_NACK),
            (receiver, RECEIVER_NACK_GENERATOR),
            (sender, SENDER_ENCODER),
            (sender, SENDER_RTP_HISTORY),
            (sender, SENDER_SEND_KEYFRAME),
            (receiver.transport, TRANSPORT_REGISTER_RECEIVER),
            (receiver.transport, TRANSPORT_ROUTER),
            (getattr(receiver.transport, TRANSPORT_ROUTER, None), ROUTER_SSRC_TABLE),
            (receiver.transport.transport.iceGatherer, GATHERER_CONNECTION),
            (receiver, RECEIVER_REMOTE_STREAMS),
            (receiver, RECEIVER_HANDLE_RTP),
            # The raw forwarding path (media_server.raw_egress).
            (sender, SENDER_SEND),
            (sender, SENDER_RETRANSMIT),
            (sender, SENDER_SEND_RTCP),
            (sender, SENDER_HANDLE_RTCP),
            (sender, SENDER_SSRC),
            (sender, SENDER_RTX_SSRC),
            (sender, SENDER_PACKET_COUNT),
            (sender, SENDER_OCTET_COUNT),
            (sender, SENDER_NTP_TIMESTAMP),
            (sender, SENDER_RTP_TIMESTAMP),
            (sender, SENDER_LSR),
            (sender, SENDER_LSR_TIME),
            (sender.transport, TRANSPORT_TX_PACKETS),
            (sender.transport, TRANSPORT_SETUP_SRTP),
            (sender.transport, TRANSPORT_RX_SRTP),
            (sender.transport, TRANSPORT_TX_BYTES),
            (sender.transport.transport, ICE_CONNECTION),
            (getattr(sender.transport.transport, ICE_CONNECTION, None), CONNECTION_NOMINATED),
        ):
            if obj is None or not hasattr(obj, name):
                missing.append(f"{type(obj).__name__}.{name}")
        srtp_probe = pylibsrtp.Session()  # SrtpProtector calls libsrtp on the session's own handle and buffer
        for name in (SESSION_HANDLE, SESSION_CDATA, SESSION_BUFFER):
            if not hasattr(srtp_probe, name):
                missing.append(f"pylibsrtp.Session.{name}")
        ice_source = inspect.getsource(type(receiver.transport.transport))
        if "self._send = " not in ice_source:
            missing.append(f"RTCIceTransport.{ICE_SEND}")
        if "self._recv = " not in ice_source:
            missing.append(f"RTCIceTransport.{ICE_RECV}")
        if not hasattr(aioice.ice.Connection, ICE_GATHER_FUNCTION):
            missing.append(f"aioice.Connection.{ICE_GATHER_FUNCTION}")
    finally:
        # Nothing was negotiated, so there is nothing to close on the network.
        pass
    # Behaviour the hooks assume, read from the source that implements it.
    import aiortc.jitterbuffer as jitter_module
    from aiortc import rtp
    from aiortc.codecs import HEADER_EXTENSIONS

    buffer_source = inspect.getsource(jitter_module.JitterBuffer)
    checks = {
        "jitter buffer add() asks _remove_frame(seq) for a frame": (
            "return pli_flag, self._remove_frame(packet.sequence_number)" in buffer_source
        ),
        "jitter buffer keeps _origin, _packets, remove()": all(
            name in buffer_source for name in ("self._origin", "self._packets", "def remove(")
        ),
        "decoder_worker reads input_q.get()": "input_q.get()" in inspect.getsource(receiver_module.decoder_worker),
        "receiver puts (codec, frame) on its decoder queue": "__decoder_queue.put((codec, encoded_frame))"
        in inspect.getsource(receiver_module.RTCRtpReceiver._handle_rtp_packet),
        "receiver sets packet._data before the jitter buffer": "packet._data = depayload"
        in inspect.getsource(receiver_module.RTCRtpReceiver._handle_rtp_packet),
        "sender packs av.Packet instead of encoding": "self.__encoder.pack(data)"
        in inspect.getsource(sender_module.RTCRtpSender._next_encoded_frame),
        "sender keeps a preset encoder": "if self.__encoder is None"
        in inspect.getsource(sender_module.RTCRtpSender._next_encoded_frame),
        "PLI/FIR call sender._send_keyframe()": "self._send_keyframe()"
        in inspect.getsource(sender_module.RTCRtpSender._handle_rtcp_packet),
        "receive() registers through the transport": "_register_rtp_receiver(self, parameters)"
        in inspect.getsource(receiver_module.RTCRtpReceiver.receive),
        "transport unprotects with self._rx_srtp.unprotect/unprotect_rtcp, keys set by _setup_srtp": all(
            call in inspect.getsource(transport_module.RTCDtlsTransport)
            for call in ("self._rx_srtp.unprotect(data)", "self._rx_srtp.unprotect_rtcp(data)", "self._setup_srtp()")
        ),
        "transport hands each RTP packet to receiver._handle_rtp_packet (looked up per packet)": (
            "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)"
            in inspect.getsource(transport_module.RTCDtlsTransport._handle_rtp_data)
        ),
        "RTP parsing fills extensions.audio_level with (vad, level)": (
            "values.audio_level = (vad_level & 0x80 == 0x80, vad_level & 0x7F)"
            in inspect.getsource(rtp.HeaderExtensionsMap.get)
        ),
        "audio m-lines negotiate ssrc-audio-level": any(
            ext.uri == "urn:ietf:params:rtp-hdrext:ssrc-audio-level" for ext in HEADER_EXTENSIONS["audio"]
        ),
        "outbound SRTP replay window is SRTP_TX_WINDOW": f"tx_policy.window_size = {SRTP_TX_WINDOW}"
        in inspect.getsource(transport_module.RTCDtlsTransport._setup_srtp),
        "SRTP is protected with the DTLS transport's _tx_srtp in _send_rtp": "self._tx_srtp.protect(data)"
        in inspect.getsource(transport_module.RTCDtlsTransport._send_rtp),
        "sender looks NACKs up through self._retransmit": "await self._retransmit(seq)"
        in inspect.getsource(sender_module.RTCRtpSender._handle_rtcp_packet),
        "transport hands RTCP to recipient._handle_rtcp_packet (looked up per packet)": (
            "await recipient._handle_rtcp_packet(packet)"
            in inspect.getsource(transport_module.RTCDtlsTransport._handle_rtcp_data)
        ),
        "sender reports leave through self._send_rtcp after LSR is set": "await self._send_rtcp(packets)"
        in inspect.getsource(sender_module.RTCRtpSender._run_rtcp),
        "peer connection starts senders through sender.send(...)": "await transceiver.sender.send("
        in inspect.getsource(peer_connection_module.RTCPeerConnection),
        "aioice sends a nominated pair's data with protocol.send_data": "active_pair.protocol.send_data("
        in inspect.getsource(aioice.ice.Connection.sendto),
        "aioice gathers hosts through get_component_candidates": "get_component_candidates(component=component"
        in inspect.getsource(aioice.ice.Connection.gather_candidates),
    }
    missing += [f"behaviour: {name}" for name, ok in checks.items() if not ok]
    return missing
