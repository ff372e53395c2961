"""Forwarder, subscription queues and keyframe throttling without any network."""

import asyncio
from dataclasses import dataclass

import av

from media_server.codecs import codec_for, is_keyframe, vp8_size
from media_server.forwarder import Forwarder
from media_server.keyframes import KeyframeRequester
from media_server.subscription import Subscription

KEY = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + b"k" * 20  # 640x480 keyframe
DELTA = bytes([0x31, 0x00, 0x00]) + b"d" * 20


def test_vp8_headers_are_read() -> None:
    assert is_keyframe("VP8", KEY) and not is_keyframe("VP8", DELTA)
    assert vp8_size(KEY) == (640, 480) and vp8_size(DELTA) is None
    assert is_keyframe("H264", b"\x00\x00\x00\x01\x67abc") and not is_keyframe("H264", b"\x00\x00\x01\x41x")


@dataclass
class CameraSource:
    """The publication side of a subscription: counts the keyframes it is asked for."""

    asks: list[int]
    id: str = "pub"
    kind: str = "video"
    source: str = "camera"
    muted: bool = False
    clock_rate: int = 90000
    frames_in: int = 0
    mime_type: str = "video/VP8"

    def request_keyframe(self) -> None:
        self.asks.append(1)


def make_sub(capacity: int, asks: list[int]) -> Subscription:
    return Subscription(CameraSource(asks), "p", capacity)


def test_new_subscription_waits_for_a_keyframe() -> None:
    asks: list[int] = []
    forwarder = Forwarder(codec_for("camera"))
    sub = make_sub(10, asks)
    forwarder.add(sub)
    for data in (DELTA, DELTA, KEY, DELTA):
        forwarder.on_frame(data, 3000)
    assert [bytes(p) for p in sub.track.frames] == [KEY, DELTA]


def test_slow_subscriber_skips_to_next_keyframe_and_never_holds_back_others() -> None:
    asks: list[int] = []
    forwarder = Forwarder(codec_for("camera"))
    slow, fast = make_sub(5, asks), make_sub(1000, asks)
    forwarder.add(slow)
    forwarder.add(fast)
    frames = [KEY] + [DELTA] * 20 + [KEY] + [DELTA] * 2
    for i, data in enumerate(frames):
        forwarder.on_frame(data, i * 3000)
        while fast.track.frames:  # the fast one reads everything at once
            fast.track.frames.popleft()
    assert fast.forwarded == len(frames)
    assert asks, "falling behind asks the publisher for a keyframe"
    assert [bytes(p) for p in slow.track.frames] == [KEY, DELTA, DELTA]
    assert slow.skipped > 0


def test_timestamps_continue_across_a_publisher_reconnect() -> None:
    forwarder = Forwarder(codec_for("camera"))
    sub = make_sub(100, [])
    forwarder.add(sub)
    forwarder.on_frame(KEY, 0)
    forwarder.on_frame(DELTA, 3000)
    forwarder.new_source()
    forwarder.on_frame(KEY, 0)  # a new peer connection restarts its timestamps at 0
    pts = [p.pts for p in sub.track.frames]
    assert pts[0] == 0 and pts[1] == 3000 and pts[2] > 3000  # type: ignore[operator]  # muxed packets carry a pts
    assert all(isinstance(p, av.Packet) for p in sub.track.frames)


async def test_keyframe_requests_are_throttled_and_deferred_not_dropped() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()

    async def send() -> None:
        sent.append(loop.time())

    requester = KeyframeRequester(send, 0.1)
    for _ in range(5):
        requester.request()
    await asyncio.sleep(0.01)
    assert len(sent) == 1
    await asyncio.sleep(0.15)
    assert len(sent) == 2, "the requests inside the interval were answered once after it"
    assert sent[1] - sent[0] >= 0.09
    requester.close()


def test_after_a_skip_delta_frames_wait_for_the_next_keyframe() -> None:
    forwarder = Forwarder(codec_for("camera"))
    sub = make_sub(100, [])
    forwarder.add(sub)
    forwarder.on_frame(KEY, 0)
    forwarder.resync()
    for i, data in enumerate((DELTA, DELTA, KEY, DELTA), start=1):
        forwarder.on_frame(data, i * 3000)
    assert [bytes(p) for p in sub.track.frames] == [KEY, KEY, DELTA]
    assert forwarder.frames_dropped == 2


def test_a_subscriber_whose_raw_path_ended_gets_frames_on_its_next_connection() -> None:
    asks: list[int] = []
    forwarder = Forwarder(codec_for("camera"))
    sub = Subscription(CameraSource(asks), "p", 10, raw_history=64)
    forwarder.add(sub)
    assert sub.egress is not None and not sub.uses_frames
    sub.egress.close()  # what the forwarder does to a raw sink that failed
    sub.rebind()  # the subscriber's peer connection is replaced
    for data in (KEY, DELTA):
        forwarder.on_frame(data, 3000)
    assert [bytes(p) for p in sub.track.frames] == [KEY, DELTA], "the new connection is fed frames"
