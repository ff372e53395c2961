"""The forwarder's raw fan-out without a network: what every raw sink is handed per packet."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
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


def test_a_late_repair_of_an_old_keyframe_is_no_start_point() -> None:
    """A subscriber waiting for a keyframe must not start at a retransmitted old one: the packets
    after it were never sent to that subscriber, so its picture would be broken until the next."""
    forwarder = Forwarder(codec_for("camera"))
    sink = Sink()
    forwarder.add_raw(sink)
    forwarder.on_packet(packet(10, 1000, KEY_START, marker=1))
    forwarder.on_packet(packet(11, 4000, DELTA_START, marker=1))
    forwarder.on_packet(packet(10, 1000, KEY_START, marker=1))  # NACK repair, after the newer frame
    forwarder.on_packet(packet(12, 7000, KEY_START, marker=1))
    assert [(seq, key) for seq, _, _, key, _ in sink.got] == [(10, True), (11, False), (10, False), (12, True)]
    assert sink.got[2][1] == 1000, "the repaired packet keeps its own timestamp"


def test_a_keyframe_after_a_long_spell_without_subscribers_is_a_start_point() -> None:
    """The mentor publishes alone for minutes (half the sequence space), then a learner joins."""
    forwarder = Forwarder(codec_for("camera"))
    first = Sink()
    forwarder.add_raw(first)
    forwarder.on_packet(packet(10, 1000, KEY_START, marker=1))
    forwarder.remove_raw(first)
    for seq in range(1010, 40011, 1000):
        forwarder.on_packet(packet(seq, seq * 30, DELTA_START, marker=1))
    late = Sink()
    forwarder.add_raw(late)
    forwarder.on_packet(packet(40011, 40011 * 30, KEY_START, marker=1))
    assert [key for _, _, _, key, _ in late.got] == [True]


def test_audio_level_is_handed_on_and_a_failing_sink_is_dropped_alone() -> None:
    forwarder = Forwarder(codec_for("microphone"))
    good, bad = Sink(), Sink(explode=True)
    forwarder.add_raw(bad)
    forwarder.add_raw(good)
    forwarder.on_packet(packet(1, 960, b"\x01", level=(True, 30)))
    forwarder.on_packet(packet(2, 1920, b"\x01"))
    assert [(g[3], g[4]) for g in good.got] == [(True, 0x80 | 30), (True, 127)]
    assert bad.closed and forwarder.raw_sinks == (good,) and forwarder.raw_failures == 1


def test_a_failing_sink_is_logged_with_its_error(caplog: pytest.LogCaptureFixture) -> None:
    """The operator sees why a subscription stopped (the error and its traceback), not 'NoneType: None'."""
    forwarder = Forwarder(codec_for("microphone"))
    forwarder.add_raw(Sink(explode=True))
    with caplog.at_level(logging.ERROR, logger="media_server.forwarder"):
        forwarder.on_packet(packet(1, 960, b"\x01"))
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert "broken subscriber" in caplog.text
