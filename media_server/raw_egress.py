"""One publication's RTP packets to one subscriber, as bytes: the raw forwarding path.

Lifecycle (`RawEgress.state`): pending (negotiating) -> waiting (for a packet a decoder
can start at: a keyframe's first packet; any audio packet) -> forwarding -> waiting
again when the publisher reconnects, the subscriber fell behind or its video was
paused -> ... -> closed, never reused. `configure()` (the subscriber's sender started
with its negotiated parameters) ends pending; `close()` ends everything.

What each packet gets, per subscriber (`forward`, called by the Forwarder for every
ingress packet after SRTP unprotect and RTX unwrapping):
- its own sequence space: `out = in + offset`, where the offset is re-chosen whenever the
  stream restarts (keyframe skip, pause, publisher reconnect) so the subscriber sees
  consecutive numbers; holes the publisher's own losses leave stay holes (the
  subscriber NACKs them and the publisher's retransmission fills them);
- the publication's timestamp (already continuous across reconnects) plus this
  subscription's random origin;
- the subscriber's payload type, SSRC, mid and extension ids from a header template;
  abs-send-time (computed once per ingress packet from the monotonic clock) and the
  publisher's audio level copied in;
- SRTP protection with the subscriber transport's session, then `sendto` on the
  selected ICE pair (`aiortc_hooks.outbound.DatagramPath`).
The plain packet is kept in a ring of `history` packets indexed by sequence number, so
a NACK is answered with the same bytes (wrapped in RTX when negotiated). Sender
reports take their counts from the counters driven here and map the last forwarded
RTP timestamp to NTP time (extrapolated to the report's time).

Hot path (`forward`): no logging, no JSON, no I/O but the one `sendto`, no task, no
RtpPacket or av.Packet built; one bytearray header copy, one join, one protect.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RtcpReceiverInfo

from media_server.aiortc_hooks import outbound, srtp
from media_server.rtp_bytes import HeaderTemplate, SendClock, header_template

_PENDING, _WAITING, _FORWARDING, _CLOSED = "pending", "waiting", "forwarding", "closed"
_pack_seq_ts = struct.Struct(">HI").pack_into
_pack_seq = struct.Struct(">H").pack_into
_pack_ssrc = struct.Struct(">I").pack_into
# An asyncio datagram transport buffers in user space once the socket would block; past
# this many bytes the subscriber cannot take the stream and restarts at a keyframe.
MAX_SOCKET_BACKLOG = 256 * 1024


# Video packets skipped while waiting for a start point before the keyframe is asked for again
# (about a second of a 1 Mbps camera).
_ASK_AGAIN_EVERY = 100
# How far (in packets) the start point may trail the newest packet before it moves up; a
# retransmission older than that is long past the history and every receiver's buffer.
_START_TRAILS_BY = 0x4000


class RawEgress:
    def __init__(
        self,
        kind: str,
        mime_type: str,
        clock_rate: int,
        history: int,
        request_keyframe: Callable[[], None],
    ) -> None:
        self.kind = kind
        self.mime_type = mime_type.lower()
        self.clock_rate = clock_rate
        self.state = _PENDING
        self.paused = False
        self._clock = SendClock()
        self._request_keyframe = request_keyframe
        size = 1
        while size < max(history, 1):
            size <<= 1
        self._mask = size - 1
        self._history: list[bytes | None] = [None] * size
        # Sequence numbers of packets sent late (a hole the publisher's retransmission filled),
        # by history slot: a subscriber's NACK for one crossed it in flight (not downlink loss).
        self._late: list[int] = [-1] * size
        # How late (in packets behind the newest) a packet may still be sent: within the history
        # (an older one would overwrite a newer packet's slot) and within the subscriber
        # transport's SRTP replay window (libsrtp refuses to protect an older index).
        self._late_limit = min(size, outbound.SRTP_TX_WINDOW)
        self._template: HeaderTemplate | None = None
        self._header = b""
        self._pt = 0
        self._abs_at = 0
        self._level_at = 0
        self._srtp: srtp.SrtpProtector | None = None
        self._path: outbound.DatagramPath | None = None
        self._counters: outbound.SenderCounters | None = None
        self._sender: RTCRtpSender | None = None
        self._rtx_pt: int | None = None
        self._rtx_ssrc = 0
        self._rtx_seq = random.getrandbits(16)
        self._next_seq = random.getrandbits(16)
        self._offset = 0
        self._start_in = 0
        self._ts_origin = random.getrandbits(32)
        self._last_ts = 0
        self._last_sent_at: float | None = None
        # Statistics (read by the subscription, the congestion rule and tests).
        self.packets = 0
        self.octets = 0  # payload bytes, as a sender report counts them
        self.frames = 0
        self.skipped = 0
        self.nacks = 0
        self.retransmitted = 0
        # The subscriber's downlink alone: its receiver reports less the holes the publisher's
        # uplink left (those are the publisher's to hear of, not this subscriber's).
        self.downlink_fraction = 0.0
        self.downlink_lost = 0
        self._report: tuple[int, int] | None = None  # (extended highest seq, cumulative lost)

    @property
    def closed(self) -> bool:
        """Ended for good (the source ended, a fallback to frames, or a failure): never reused."""
        return self.state is _CLOSED

    @property
    def active(self) -> bool:
        """Negotiated for the raw path (False while pending and after a fallback to frames)."""
        return self._template is not None and self.state is not _CLOSED

    # -- binding ---------------------------------------------------------------------------
    def compatible(self, parameters: RTCRtpSendParameters) -> bool:
        """Raw forwarding needs the subscriber to have negotiated the publisher's codec."""
        return bool(parameters.codecs) and parameters.codecs[0].mimeType.lower() == self.mime_type

    def configure(self, sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> None:
        """The subscriber's sender started with `parameters`: build the header, take over
        its NACK answers and sender reports, and start at the next keyframe."""
        primary = parameters.codecs[0]
        ssrc, self._rtx_ssrc = outbound.sender_ssrcs(sender)
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        template = header_template(primary.payloadType or 0, ssrc, parameters.muxId, ids)
        for codec in parameters.codecs:
            if codec.mimeType.lower().endswith("/rtx") and codec.parameters.get("apt") == primary.payloadType:
                self._rtx_pt = codec.payloadType
        self._header = template.data
        self._pt = template.payload_type
        self._abs_at = template.abs_send_time_at
        self._level_at = template.audio_level_at
        self._sender = sender
        self._release_counters()
        self._counters = outbound.SenderCounters(sender, self._sent)
        self._path = outbound.datagram_path(sender.transport)
        outbound.answer_nacks_with(sender, self.retransmit)
        # The old sender's report loop may still wake while its connection closes: only the
        # current sender's reports go out through the current path.
        outbound.fill_sender_reports(
            sender, self.report_mapping, lambda compound: self._sender is sender and self.send_rtcp(compound)
        )
        outbound.on_receiver_reports(sender, self.receiver_report)
        self._report = None
        self._template = template
        if self.state is _PENDING:
            self.state = _WAITING
        if self.kind == "video":
            self._request_keyframe()

    def unbind(self) -> None:
        """The subscriber's peer connection is being replaced: wait for the new sender
        (`configure` again); the sequence space carries on."""
        if self.state is _CLOSED:
            return
        self.state = _PENDING
        self._template = None
        self._srtp = None
        self._path = None
        self._sender = None
        self._history = [None] * (self._mask + 1)
        self._release_counters()

    def restart(self) -> None:
        """The publisher's stream restarts (a reconnect): the next start point re-bases."""
        if self.state is _FORWARDING:
            self.state = _WAITING
            if self.kind == "video":
                self._request_keyframe()

    def pause(self) -> None:
        """Stop sending video (congestion); audio subscriptions are never paused."""
        self.paused = True
        if self.state is _FORWARDING:
            self.state = _WAITING

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._request_keyframe()

    def close(self) -> None:
        self._release_counters()
        self.state = _CLOSED
        self._template = None
        self._history = [None] * (self._mask + 1)
        self._sender = None

    # -- per packet --------------------------------------------------------------------------
    def forward(
        self, seq: int, timestamp: int, marker: int, payload: bytes, key: bool, send_time: bytes, level: int
    ) -> None:
        state = self.state
        if state is not _FORWARDING:
            if state is not _WAITING:
                return
            if not key or self.paused:
                self.skipped += 1
                if not self.paused and self.kind == "video" and self.skipped % _ASK_AGAIN_EVERY == 0:
                    # Still no start point: the keyframe asked for was lost, or came before this
                    # subscriber's transport was up. Ask again (PLIs are throttled per publication).
                    self._request_keyframe()
                return
            if self._srtp is None:
                session = outbound.srtp_session(self._sender.transport) if self._sender else None
                self._srtp = srtp.SrtpProtector(session) if session is not None else None
                if self._srtp is None:
                    if self.kind == "video":
                        self._request_keyframe()  # too early for this subscriber: the next one starts it
                    return
            self._offset = (self._next_seq - seq) & 0xFFFF
            self._start_in = seq
            self.state = _FORWARDING
        elif (seq - self._start_in) & 0xFFFF >= 0x8000:
            return  # a retransmission from before this subscriber's start point
        out_seq = (seq + self._offset) & 0xFFFF
        out_ts = (timestamp + self._ts_origin) & 0xFFFFFFFF
        if (out_seq - self._next_seq) & 0xFFFF < 0x8000:
            # The newest packet so far (not a late retransmission): sender reports map from it.
            self._next_seq = (out_seq + 1) & 0xFFFF
            self._last_ts = out_ts
            self._last_sent_at = time.monotonic()
            if (seq - self._start_in) & 0xFFFF >= _START_TRAILS_BY:
                # Keep the start point within reach behind the newest packet: half the sequence
                # space after it, every packet would look older than it and be dropped.
                self._start_in = (seq - _START_TRAILS_BY // 2) & 0xFFFF
        elif (self._next_seq - out_seq) & 0xFFFF > self._late_limit:
            return  # past the history, every receiver's buffer and the SRTP replay window
        else:
            self._late[out_seq & self._mask] = out_seq
        header = bytearray(self._header)
        header[1] = self._pt | 0x80 if marker else self._pt
        _pack_seq_ts(header, 2, out_seq, out_ts)
        at = self._abs_at
        if at:
            header[at : at + 3] = send_time
        if self._level_at:
            header[self._level_at] = level
        plain = b"".join((header, payload))
        self._history[out_seq & self._mask] = plain
        assert self._path is not None and self._srtp is not None
        if self._path.send(self._srtp.protect(plain)) > MAX_SOCKET_BACKLOG and self.kind == "video":
            # The subscriber's socket cannot drain: restart it at the next keyframe.
            self.state = _WAITING
            self._request_keyframe()
        self.octets += len(payload)
        self.packets += 1
        if marker or self.kind == "audio":
            self.frames += 1

    # -- feedback ------------------------------------------------------------------------
    async def retransmit(self, seq: int) -> None:
        """A NACKed sequence number: the same packet again (as RTX when negotiated).

        Only NACKs for packets this subscription sent in order count (`nacks`, read as
        downlink loss): a hole the publisher's uplink left is NACKed by every subscriber, and
        its late repair may cross their NACKs; neither is their downlink's doing.
        """
        plain = self._history[seq & self._mask]
        if plain is None or int.from_bytes(plain[2:4], "big") != seq:
            return
        if self._late[seq & self._mask] != seq:
            self.nacks += 1
        if self._srtp is None or self._path is None:
            return
        if self._rtx_pt is not None:
            length = len(self._header)
            header = bytearray(plain[:length])
            header[1] = (plain[1] & 0x80) | self._rtx_pt
            _pack_seq(header, 2, self._rtx_seq)
            _pack_ssrc(header, 8, self._rtx_ssrc)
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            plain = b"".join((header, plain[2:4], plain[length:]))
        self.retransmitted += 1
        self._path.send(self._srtp.protect(plain))

    def receiver_report(self, report: RtcpReceiverInfo) -> None:
        """A subscriber's report on this stream: how much of the loss since its previous
        report happened on its downlink (not off the history)."""
        if self._counters is not None:  # aiortc derives remote-inbound-rtp's packetsReceived from them
            self._counters.sync()
        previous = self._report
        self._report = (report.highest_sequence, report.packets_lost)
        if previous is None:
            return
        expected = (report.highest_sequence - previous[0]) & 0xFFFFFFFF
        if expected == 0 or expected >= 0x80000000:
            self.downlink_fraction = 0.0
            return
        holes = self._holes_up_to(report.highest_sequence & 0xFFFF, expected)
        lost = max(report.packets_lost - previous[1] - holes, 0)
        self.downlink_lost += lost
        self.downlink_fraction = min(lost / max(expected - holes, 1), 1.0)

    def _holes_up_to(self, highest: int, count: int) -> int:
        """Of the `count` sequence numbers up to `highest`, how many this subscription never
        sent (read off the history; scaled up when the history no longer covers them all)."""
        newer = (self._next_seq - 1 - highest) & 0xFFFF
        span = min(count, self._mask + 1 - newer) if newer < 0x8000 else 0
        if span <= 0:
            return 0
        history, mask = self._history, self._mask
        holes = 0
        for seq in range(highest - span + 1, highest + 1):
            seq &= 0xFFFF
            plain = history[seq & mask]
            if plain is None or (plain[2] << 8 | plain[3]) != seq:
                holes += 1
        return holes * count // span

    def _sent(self) -> tuple[int, int]:
        return self.packets, self.octets

    def _release_counters(self) -> None:
        """The sender goes (another connection, or the end): it keeps the counts sent through it."""
        if self._counters is not None:
            self._counters.detach()
            self._counters = None

    def report_mapping(self) -> tuple[int, int] | None:
        """(NTP time now, the RTP timestamp that corresponds to it) for a sender report, whose
        counts are brought up to date first."""
        if self._counters is not None:
            self._counters.sync()
        sent_at = self._last_sent_at
        if sent_at is None:
            return None
        now = time.monotonic()
        rtp = (self._last_ts + int((now - sent_at) * self.clock_rate)) & 0xFFFFFFFF
        return self._clock.ntp64(now), rtp

    def send_rtcp(self, compound: bytes) -> bool:
        """Send a sender report now through the subscriber's path; False before DTLS is up."""
        path, sender = self._path, self._sender
        session = outbound.srtp_session(sender.transport) if sender is not None else None
        if path is None or session is None:
            return False
        path.send(session.protect_rtcp(compound))
        return True
