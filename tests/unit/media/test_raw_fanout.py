"""The forwarder's raw fan-out without a network: what every raw sink is handed per packet."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc.rtp import RtpPacket

from media_server.codecs import codec_for
from media_server.forwarder import Forwarder

KEY_START = bytes([0x10, 0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02])
DELTA_START = bytes([0x10, 0x31, 0x00, 0x00, 0x00])


@dataclass(eq=False)
class Sink:
    got: list[tuple[int, int, int, bool, int]] = field(default_factory=list)
    restarts: int = 0
    closed: bool = False
    explode: bool = False

    def forward(
        self, seq: int, timestamp: int, marker: int, payload: bytes, key: bool, send_time: bytes, level: int
    ) -> None:
        if self.explode:
            raise ValueError("broken subscriber")
        assert len(send_time) == 3
        self.got.append((seq, timestamp, marker, key, level))

    def restart(self) -> None:
        self.restarts += 1

    def close(self) -> None:
        self.closed = True


def packet(seq: int, ts: int, payload: bytes, marker: int = 0, level: tuple[bool, int] | None = None) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, marker=marker)
    p.payload = payload
    p.extensions.audio_level = level
    return p


def test_keyframe_starts_and_timestamps_continue_across_a_new_source() -> None:
    forwarder = Forwarder(codec_for("camera"))
    sink = Sink()
    forwarder.add_raw(sink)
    forwarder.on_packet(packet(10, 1000, KEY_START, marker=1))
    forwarder.on_packet(packet(11, 4000, DELTA_START, marker=1))
    forwarder.new_source()
    assert sink.restarts == 1
    forwarder.on_packet(packet(500, 7, KEY_START, marker=1))  # the reconnected publisher starts over
    (_, _, _, k1, _), (_, t2, _, k2, _), (s3, t3, _, k3, _) = sink.got
    assert (k1, k2, k3) == (True, False, True)
    assert t2 == 4000 and t3 > t2, "the timestamp goes on from where it was, never back"
    assert s3 == 500, "sequence numbers are each subscriber's business (RawEgress)"


def test_audio_level_is_handed_on_and_a_failing_sink_is_dropped_alone() -> None:
    forwarder = Forwarder(codec_for("microphone"))
    good, bad = Sink(), Sink(explode=True)
    forwarder.add_raw(bad)
    forwarder.add_raw(good)
    forwarder.on_packet(packet(1, 960, b"\x01", level=(True, 30)))
    forwarder.on_packet(packet(2, 1920, b"\x01"))
    assert [(g[3], g[4]) for g in good.got] == [(True, 0x80 | 30), (True, 127)]
    assert bad.closed and forwarder.raw_sinks == (good,) and forwarder.raw_failures == 1
