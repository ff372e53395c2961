"""The SFU's receive buffers: video frames leave on their marker packet, audio at once."""

from aiortc.rtp import RtpPacket

from media_server.aiortc_hooks.inbound import ImmediateAudioBuffer, MarkerJitterBuffer


def packet(seq: int, ts: int, data: bytes, marker: int = 0) -> RtpPacket:
    p = RtpPacket(payload_type=97, sequence_number=seq, timestamp=ts, marker=marker)
    p._data = data  # type: ignore[attr-defined]
    return p


def test_video_frame_leaves_on_its_marker_packet_even_after_a_gap_is_repaired() -> None:
    buffer = MarkerJitterBuffer()
    assert buffer.add(packet(10, 0, b"a"))[1] is None
    frame = buffer.add(packet(11, 0, b"b", marker=1))[1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"ab", 0)
    # Next frame: its middle packet is late (a NACK/RTX repair); nothing leaves until it comes.
    assert buffer.add(packet(12, 3000, b"c"))[1] is None
    assert buffer.add(packet(14, 3000, b"e", marker=1))[1] is None
    frame = buffer.add(packet(13, 3000, b"d"))[1]
    assert frame is not None and frame.data == b"cde"


def test_video_frame_without_marker_still_leaves_when_the_next_begins() -> None:
    buffer = MarkerJitterBuffer()
    buffer.add(packet(1, 0, b"x"))
    frame = buffer.add(packet(2, 3000, b"y"))[1]
    assert frame is not None and frame.data == b"x"


def test_audio_leaves_immediately_and_late_packets_are_dropped() -> None:
    buffer = ImmediateAudioBuffer()
    assert buffer.add(packet(5, 960, b"1"))[1].data == b"1"  # type: ignore[union-attr]
    assert buffer.add(packet(7, 2880, b"3"))[1].data == b"3"  # type: ignore[union-attr]
    assert buffer.add(packet(6, 1920, b"2"))[1] is None


def test_a_frame_never_repaired_is_skipped_with_a_keyframe_request() -> None:
    import time

    skips: list[int] = []
    buffer = MarkerJitterBuffer(on_skip=lambda: skips.append(1), stall_after=0.05)
    buffer.add(packet(1, 0, b"a"))
    # packet 2 (the end of frame 0) is lost for good; frame 1 arrives whole.
    assert buffer.add(packet(3, 3000, b"b", marker=1)) == (False, None)
    buffer.add(packet(4, 6000, b"c"))
    time.sleep(0.06)
    pli, frame = buffer.add(packet(5, 6000, b"d", marker=1))
    assert pli and skips == [1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"cd", 6000)
