"""Encoded frames through the SFU, byte for byte, with no decode and no encode."""

from __future__ import annotations

import asyncio

import pytest

from media_server.testing.codec_audit import CodecCounter

pytestmark = pytest.mark.media


def contiguous_run(sent: list[bytes], received: list[bytes]) -> bool:
    """`received` is exactly a stretch of `sent`, in order, nothing missing or altered."""
    n = len(received)
    return any(sent[s : s + n] == received for s in range(len(sent) - n + 1))


async def test_two_subscribers_receive_every_frame_intact(sfu, clips, codec_counter: CodecCounter) -> None:
    camera, mic = clips.camera(limit=75), clips.microphone(limit=125)
    publisher = sfu.client("mentor", role="mentor")
    await publisher.connect({"camera": camera, "microphone": mic})
    subscribers = [sfu.client(f"learner{i}") for i in range(2)]
    for sub in subscribers:
        await sub.connect()
    for sub in subscribers:
        await sub.wait_until(lambda s=sub: len(s.received) == 2 and all(r.count > 0 for r in s.received.values()))
    await asyncio.sleep(2.6)  # the clip limit runs out: everything sent has had time to arrive
    sent_video = [camera.clip[i] for i, _ in camera.sent]
    sent_audio = [mic.clip[i] for i, _ in mic.sent]
    for sub in subscribers:
        video = next(r for r in sub.received.values() if r.kind == "video")
        audio = next(r for r in sub.received.values() if r.kind == "audio")
        assert video.frames[0] == clips.vp8[0], "a subscription starts on a keyframe"
        assert contiguous_run(sent_video, video.frames)
        # Frames leave the jitter buffers on their marker packet, so even the last one arrives.
        assert video.frames[-1] == sent_video[-1], "every frame arrived, up to the last one sent"
        assert contiguous_run(sent_audio, audio.frames)
        assert audio.frames[-1] == sent_audio[-1]
        # The raw path starts audio once the subscriber's transport is up (it replays no
        # backlog of stale audio, the frame path did): at most half a second is missed.
        assert len(audio.frames) >= len(sent_audio) - 25
    assert codec_counter.total == 0, codec_counter.as_dict()


async def test_eight_subscribers_receive_every_frame_intact(sfu, clips, codec_counter: CodecCounter) -> None:
    camera, mic = clips.camera(limit=60), clips.microphone(limit=100)
    subscribers = [sfu.client(f"learner{i}") for i in range(8)]
    await asyncio.gather(*(s.connect() for s in subscribers))
    publisher = sfu.client("mentor", role="mentor")
    await publisher.connect({"camera": camera, "microphone": mic})
    for sub in subscribers:
        await sub.wait_until(lambda s=sub: len(s.received) == 2)
    await publisher.wait_until(lambda: len(camera.sent) == 60 and len(mic.sent) == 100)
    await asyncio.sleep(0.5)
    sent_video = [camera.clip[i] for i, _ in camera.sent]
    sent_audio = [mic.clip[i] for i, _ in mic.sent]
    for sub in subscribers:
        video = next(r for r in sub.received.values() if r.kind == "video")
        audio = next(r for r in sub.received.values() if r.kind == "audio")
        assert video.frames[0] == clips.vp8[0]
        assert contiguous_run(sent_video, video.frames) and video.frames[-1] == sent_video[-1]
        assert len(video.frames) >= 50, "subscribers joined before the publisher: nearly all frames arrive"
        assert contiguous_run(sent_audio, audio.frames) and audio.frames[-1] == sent_audio[-1]
    assert codec_counter.total == 0, codec_counter.as_dict()


async def test_late_joiner_sees_a_picture_within_300_ms(sfu, clips) -> None:
    camera = clips.camera()
    publisher = sfu.client("mentor", role="mentor")
    await publisher.connect({"camera": camera})
    early = sfu.client("early")
    await early.connect()
    await early.wait_until(lambda: sum(r.count for r in early.received.values()) > 45)
    requests_before = camera.keyframe_requests
    late = sfu.client("late")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await late.connect()
    await late.wait_until(lambda: any(r.count for r in late.received.values()), within=3)
    elapsed = loop.time() - started
    video = next(iter(late.received.values()))
    assert video.frames[0] == clips.vp8[0], "the first picture is a keyframe the SFU asked for"
    assert camera.keyframe_requests > requests_before
    assert elapsed < 0.3, f"first picture after {elapsed:.3f}s"


async def test_loss_is_repaired_by_rtx_with_camera_and_screen_in_one_bundle(sfu, clips) -> None:
    # Unlimited until the subscriber sees both tracks: on a loaded machine negotiation can outlast a short
    # clip, and a clip that ran out before the subscription started would prove nothing about repair.
    camera = clips.camera()
    screen = clips.camera()
    subscriber = sfu.client("learner")
    await subscriber.connect()
    publisher = sfu.client("mentor", role="mentor")
    publisher.set_uplink_loss(0.05)
    await publisher.connect({"camera": camera, "screen": screen})
    await subscriber.wait_until(
        lambda: len(subscriber.received) == 2 and all(r.count for r in subscriber.received.values()), within=20
    )
    for track in (camera, screen):
        track.limit = len(track.sent) + 75
    # Lose packets on the way down as well: the subscriber's RTX must be routed too.
    server_side = next(p for p in sfu.node.rooms["room1"].participants.values() if p.user_id == "learner")
    assert server_side.pc is not None
    from media_server.testing.loss import drop_outgoing_rtp

    counter = {"n": 0, "on": 1}

    def every_20th(_data: bytes) -> bool:
        counter["n"] += 1
        return bool(counter["on"]) and counter["n"] % 20 == 0

    drop_outgoing_rtp(server_side.pc, every_20th)
    await publisher.wait_until(lambda: all(len(t.sent) >= (t.limit or 0) - 15 for t in (camera, screen)))
    # A lost packet is noticed when a later one arrives: let the stream's tail go through clean.
    publisher.set_uplink_loss(0.0)
    counter["on"] = 0
    await publisher.wait_until(lambda: all(len(t.sent) == t.limit for t in (camera, screen)))
    await asyncio.sleep(1.0)
    assert counter["n"] > 100
    for track in (camera, screen):
        source = "camera" if track is camera else "screen"
        got = next(r for r in subscriber.received.values() if r.source == source)
        sent = [track.clip[i] for i, _ in track.sent]
        assert contiguous_run(sent, got.frames), source
        assert got.frames[-1] == sent[-1], f"{source}: frames lost for good"
        assert len(got.frames) >= 65


async def test_h264_is_forwarded_without_transcoding(sfu, codec_counter: CodecCounter) -> None:
    from media_server.testing.synthetic import ClipTrack, encode_h264_clip, nal_units

    clip = encode_h264_clip(45)
    camera = ClipTrack("video", clip, fps=30, clock_rate=90000, limit=45)
    subscriber = sfu.client("learner")
    await subscriber.connect()
    publisher = sfu.client("mentor", role="mentor")
    await publisher.connect({"camera": camera}, codec="H264")
    await subscriber.wait_until(lambda: any(r.count for r in subscriber.received.values()))
    await publisher.wait_until(lambda: len(camera.sent) == 45)
    await asyncio.sleep(0.4)
    [video] = subscriber.received.values()
    assert video.kind == "video"
    room = sfu.node.rooms["room1"]
    [publication] = [p for x in room.participants.values() for p in x.publications.values()]
    assert publication.codec.name == "H264"
    sent = [nal_units(clip[i]) for i, _ in camera.sent]
    got = [nal_units(frame) for frame in video.frames]
    assert got[0] == nal_units(clip[0]), "starts on the IDR"
    assert any(sent[s : s + len(got)] == got for s in range(len(sent) - len(got) + 1))
    assert len(got) >= 40
    assert codec_counter.total == 0, codec_counter.as_dict()


async def test_subscriber_keyframe_requests_reach_the_publisher_throttled(sfu, clips) -> None:
    from media_server import peer
    from media_server.aiortc_hooks import inbound

    camera = clips.camera()
    publisher = sfu.client("mentor", role="mentor")
    await publisher.connect({"camera": camera})
    subscriber = sfu.client("learner")
    await subscriber.connect()
    await subscriber.wait_until(lambda: any(r.count > 10 for r in subscriber.received.values()))
    await asyncio.sleep(0.4)  # past the throttle window of the join's own request
    [transceiver] = [t for t in subscriber.pc.getTransceivers() if t.kind == "video"]
    ssrc = peer.remote_ssrc(subscriber.pc, transceiver.mid)
    assert ssrc is not None
    before = camera.keyframe_requests
    [video] = subscriber.received.values()
    count = video.count
    for _ in range(6):  # a burst, as after a loss burst or from many subscribers
        await inbound.send_pli(transceiver.receiver, ssrc)
    await asyncio.sleep(0.1)
    assert camera.keyframe_requests == before + 1, "the first request goes upstream at once"
    await asyncio.sleep(0.35)
    assert camera.keyframe_requests == before + 2, "the rest are folded into one, sent after the throttle"
    await subscriber.wait_until(lambda: video.count > count + 20)
    assert video.frames[count:].count(clips.vp8[0]) == 2, "both keyframes reached the subscriber"
