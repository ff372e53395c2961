"""The raw RTP path with real aiortc peers: sequence space, NACK, sender reports, recording, congestion."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc.rtp import RtcpSrPacket, RtpPacket

from media_server import MediaSettings, RoomEnded
from media_server.aiortc_hooks.outbound import datagram_path
from media_server.aiortc_hooks.srtp import SrtpProtector, SrtpUnprotector
from media_server.raw_egress import RawEgress
from media_server.subscription import Subscription
from media_server.testing.codec_audit import CodecCounter
from media_server.testing.loss import drop_outgoing_rtp

pytestmark = pytest.mark.media


@pytest.fixture
def sfu_settings(tmp_path: Path, request: pytest.FixtureRequest) -> MediaSettings:
    return MediaSettings(
        ice_hosts=("127.0.0.1",),
        recordings_dir=tmp_path / "recordings",
        quality_interval=0.25,
        quality_window=1.0,
        resume_grace=1.5,
        forwarding=getattr(request, "param", "raw"),
        congestion_pause_after=0.75,
        congestion_resume_after=1.0,
    )


def server_subscriptions(sfu: Any, user: str) -> dict[str, Subscription]:
    participant = next(p for p in sfu.node.rooms["room1"].participants.values() if p.user_id == user)
    return {s.kind: s for s in participant.subscriptions.values()}


def egress_of(subscription: Subscription) -> RawEgress:
    assert subscription.egress is not None and subscription.raw_active
    return subscription.egress


def steps(packets: list[tuple[int, int, int]]) -> set[int]:
    return {(b[0] - a[0]) & 0xFFFF for a, b in itertools.pairwise(packets)}


async def test_sequence_numbers_continue_across_a_keyframe_skip_and_a_publisher_reconnect(
    sfu, clips, codec_counter: CodecCounter
) -> None:
    camera = clips.camera()
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": camera})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count > 20 for r in learner.received.values()))
    video = next(iter(learner.received.values()))
    subscription = server_subscriptions(sfu, "learner")["video"]
    egress = egress_of(subscription)

    # A skip: the subscription stops mid-stream and restarts at the next keyframe.
    skipped_before = egress.skipped
    subscription.pause_video()
    await asyncio.sleep(0.4)
    subscription.resume_video()
    count = video.count
    await learner.wait_until(lambda: video.count > count + 20)
    assert egress.skipped > skipped_before, "packets were left out while paused"
    resumed_at = count
    assert video.frames[resumed_at] == clips.vp8[0], "the stream restarted on a keyframe"

    # A publisher reconnect: new SSRC, new sequence and timestamp spaces upstream.
    assert mentor.pc is not None
    await mentor.pc.close()
    await mentor.wait_for("offer", lambda m: m["restart"], within=5)
    count = video.count
    await learner.wait_until(lambda: video.count > count + 30, within=6)

    packets = video.packets
    assert len({ssrc for _, _, ssrc in packets}) == 1, "one stream for the subscriber throughout"
    assert steps(packets) == {1}, "every packet the subscriber got follows the previous one"
    stamps = [ts for _, ts, _ in packets]
    assert all(0 <= (b - a) & 0xFFFFFFFF < 0x80000000 for a, b in itertools.pairwise(stamps))
    assert codec_counter.total == 0, codec_counter.as_dict()
    assert egress.packets >= len(packets)


async def test_nack_is_answered_with_the_lost_packet_from_history(sfu, clips) -> None:
    camera = clips.camera(limit=150)
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": camera})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count > 5 for r in learner.received.values()))
    video = next(iter(learner.received.values()))
    egress = egress_of(server_subscriptions(sfu, "learner")["video"])
    server_side = next(p for p in sfu.node.rooms["room1"].participants.values() if p.user_id == "learner")
    # 10% loss would pause this subscriber's video (congestion response); here NACK alone repairs it.
    server_side.congestion.policy = dataclasses.replace(server_side.congestion.policy, pause_loss=2.0)
    state = {"n": 0, "on": True, "dropped": 0}

    def every_10th(_data: bytes) -> bool:
        state["n"] += 1
        if state["on"] and state["n"] % 10 == 0:
            state["dropped"] += 1
            return True
        return False

    drop_outgoing_rtp(server_side.pc, every_10th)
    await mentor.wait_until(lambda: len(camera.sent) >= 140, within=10)
    state["on"] = False
    await mentor.wait_until(lambda: len(camera.sent) == 150, within=5)
    await asyncio.sleep(0.8)
    assert state["dropped"] > 10
    assert egress.nacks >= state["dropped"] and egress.retransmitted >= state["dropped"]
    sent = [camera.clip[i] for i, _ in camera.sent]
    # The clip restarts at its keyframe on each request, so match the whole tail, not a first index.
    assert any(sent[s:] == video.frames for s in range(len(sent))), "every frame intact: NACKs got the right packets"


async def test_sender_reports_map_rtp_time_to_ntp_and_count_what_was_sent(sfu, clips) -> None:
    camera = clips.camera()
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": camera})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count > 5 for r in learner.received.values()))
    assert learner.pc is not None
    receiver = next(t.receiver for t in learner.pc.getTransceivers() if t.kind == "video")
    arrivals: list[tuple[float, int]] = []
    reports: list[tuple[float, Any]] = []
    original_rtp = receiver._handle_rtp_packet
    original_rtcp = receiver._handle_rtcp_packet

    def on_rtp(packet: Any, arrival_time_ms: int) -> Any:
        arrivals.append((time.time(), packet.timestamp))
        return original_rtp(packet, arrival_time_ms=arrival_time_ms)

    def on_rtcp(packet: Any) -> Any:
        if isinstance(packet, RtcpSrPacket):
            reports.append((time.time(), packet.sender_info))
        return original_rtcp(packet)

    receiver._handle_rtp_packet = on_rtp  # type: ignore[method-assign]
    receiver._handle_rtcp_packet = on_rtcp  # type: ignore[method-assign]
    await learner.wait_until(lambda: len(reports) >= 3, within=8)
    egress = egress_of(server_subscriptions(sfu, "learner")["video"])
    for received_at, info in reports[1:]:
        # NTP in the report is the server's wall clock (same machine): close to arrival.
        ntp_seconds = info.ntp_timestamp / 2**32 - 2208988800
        assert abs(ntp_seconds - received_at) < 0.05
        # The RTP timestamp is the media clock at the report's time (at 90 kHz): the last packet's
        # timestamp plus the time since it arrived, within the few ms forwarding takes.
        last_at, last_ts = max((a for a in arrivals if a[0] <= received_at), default=arrivals[0])
        elapsed_rtp = ((info.rtp_timestamp - last_ts) & 0xFFFFFFFF) / 90000
        assert -0.02 < elapsed_rtp - (ntp_seconds - last_at) < 0.1
        assert 0 < info.packet_count <= egress.packets and info.octet_count > info.packet_count * 100
    report = await server_subscriptions(sfu, "learner")["video"].transceiver.sender.getStats()  # type: ignore[union-attr]
    outbound = next(s for s in report.values() if s.type == "outbound-rtp")
    assert outbound.packetsSent == egress.packets
    remote = [s for s in report.values() if s.type == "remote-inbound-rtp"]
    assert remote and remote[0].roundTripTime is not None and 0 <= remote[0].roundTripTime < 0.2, "RTT from our SRs"


async def test_audio_sender_reports_go_at_a_browsers_pace_and_still_give_the_round_trip(sfu, clips) -> None:
    # libwebrtc reports on audio every 5 s (0.5-1.5 times that) and on video every second; the SFU's
    # audio reports, one per subscriber, follow the browser's pace, and the first comes at once.
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    learner = sfu.client("learner")
    joined_at = time.monotonic()
    await learner.connect()
    await learner.wait_until(
        lambda: learner.pc is not None and {t.kind for t in learner.pc.getTransceivers()} == {"audio", "video"}
    )
    assert learner.pc is not None
    reports: dict[str, list[float]] = {"audio": [], "video": []}
    for transceiver in learner.pc.getTransceivers():
        receiver, kind = transceiver.receiver, transceiver.kind
        original = receiver._handle_rtcp_packet

        def on_rtcp(packet: Any, _original: Any = original, _kind: str = kind) -> Any:
            if isinstance(packet, RtcpSrPacket):
                reports[_kind].append(time.monotonic())
            return _original(packet)

        receiver._handle_rtcp_packet = on_rtcp  # type: ignore[method-assign]
    await learner.wait_until(lambda: len(reports["audio"]) >= 2, within=12)
    audio, video = reports["audio"], reports["video"]
    assert audio[0] - joined_at < 4, "the first audio report is not held back"
    # The next report goes at aiortc's first wake-up (every 0.5-1.5 s) past a deadline 2.5-7.5 s on.
    assert 2.4 < audio[1] - audio[0] < 9.1
    assert len([t for t in video if audio[0] <= t <= audio[1]]) >= 2, "video keeps its one-second pace"
    # The learner's receiver reports between the two answered the first one: a skipped report's
    # wake-up must not have moved the send time aiortc measures the round trip from.
    sender = server_subscriptions(sfu, "learner")["audio"].transceiver.sender  # type: ignore[union-attr]
    remote = [s for s in (await sender.getStats()).values() if s.type == "remote-inbound-rtp"]
    assert remote and remote[0].roundTripTime is not None and 0 <= remote[0].roundTripTime < 0.2, "RTT from our SRs"


async def test_every_sfu_transport_unprotects_and_protects_through_the_raw_paths_srtp_calls(sfu, clips) -> None:
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: all(r.count > 5 for r in learner.received.values()) and len(learner.received) == 2)
    for participant in sfu.node.rooms["room1"].participants.values():
        assert participant.pc is not None
        transports = {t.receiver.transport for t in participant.pc.getTransceivers()}
        assert transports and all(isinstance(t._rx_srtp, SrtpUnprotector) for t in transports)
    for subscription in server_subscriptions(sfu, "learner").values():
        assert isinstance(egress_of(subscription)._srtp, SrtpProtector)


def recorded_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams[0]) if p.size]


@pytest.mark.parametrize("sfu_settings", ["raw", "frames"], indirect=True)
async def test_recording_is_the_same_whichever_path_forwards(sfu, clips, sfu_settings: MediaSettings) -> None:
    ended: list[RoomEnded] = []
    sfu.node.add_listener(lambda e: ended.append(e) if isinstance(e, RoomEnded) else None)
    camera, mic = clips.camera(limit=60), clips.microphone(limit=100)
    mentor = sfu.client("mentor", role="mentor", record=True)
    await mentor.connect({"camera": camera, "microphone": mic})
    learner = sfu.client("learner")
    await learner.connect()
    await mentor.wait_until(lambda: len(camera.sent) == 60 and len(mic.sent) == 100, within=8)
    await asyncio.sleep(0.3)
    subscriptions = server_subscriptions(sfu, "learner")
    assert subscriptions["video"].raw_active == (sfu_settings.forwarding == "raw")
    await mentor.send({"type": "end"})
    await mentor.wait_until(lambda: bool(ended), within=5)
    files = {f.source: f for f in ended[0].recordings}
    # The recording is the publisher's frames, byte for byte, on either path.
    assert recorded_packets(files["camera"].path) == [camera.clip[i] for i, _ in camera.sent]
    assert recorded_packets(files["microphone"].path) == [mic.clip[i] for i, _ in mic.sent]


async def test_a_subscriber_with_20_percent_loss_gets_video_paused_then_resumed_audio_continues(sfu, clips) -> None:
    camera, mic = clips.camera(), clips.microphone()
    _, learner = await sfu.mentor_and_learner(camera, mic)
    video = next(r for r in learner.received.values() if r.kind == "video")
    audio = next(r for r in learner.received.values() if r.kind == "audio")
    before = len(learner.messages)
    learner.set_downlink_loss(0.2)
    paused = await learner.wait_for("video_paused", within=10, since=before)
    assert paused["reason"] == "poor_connection" and paused["message"] == "Video paused: poor connection"
    assert paused["loss"] >= 0.1
    await asyncio.sleep(0.5)  # what was in flight has landed
    video_count, audio_count = video.count, audio.count
    await asyncio.sleep(1.0)
    assert video.count == video_count, "no video while paused"
    assert audio.count > audio_count + 20, "audio keeps flowing while video is paused"
    learner.set_downlink_loss(0.0)
    resumed = await learner.wait_for("video_resumed", within=10, since=before)
    assert resumed["reason"] == "poor_connection"
    await learner.wait_until(lambda: video.count > video_count + 10, within=5)
    # Video restarts at a keyframe (frames the loss had left incomplete before the pause may be
    # completed by NACK from our history just ahead of it) and runs on from there.
    await learner.wait_until(lambda: clips.vp8[0] in video.frames[video_count:], within=5)
    restart = video.frames.index(clips.vp8[0], video_count)
    await learner.wait_until(lambda: len(video.frames) > restart + 10, within=5)
    # From the keyframe on, the clip's frames in order (one the jitter buffer gave up on under load may be missing).
    positions = [clips.vp8.index(frame) for frame in video.frames[restart : restart + 10] if frame in clips.vp8]
    # The clip starts over at every keyframe the SFU asks for; up to the next one, frames run in order.
    run = positions[:1] + list(itertools.takewhile(lambda p: p != 0, positions[1:]))
    assert positions[0] == 0 and run == sorted(run) and len(positions) >= 8, "video resumes at a keyframe"


@pytest.mark.parametrize("sfu_settings", ["frames"], indirect=True)
async def test_frame_path_stays_available_by_configuration(sfu, clips, sfu_settings: MediaSettings) -> None:
    camera = clips.camera(limit=45)
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": camera})
    learner = sfu.client("learner")
    await learner.connect()
    await mentor.wait_until(lambda: len(camera.sent) == 45, within=6)
    await asyncio.sleep(0.4)
    subscription = server_subscriptions(sfu, "learner")["video"]
    assert subscription.egress is None and subscription.forwarded > 0
    video = next(iter(learner.received.values()))
    sent = [camera.clip[i] for i, _ in camera.sent]
    assert any(sent[s:] == video.frames for s in range(len(sent)))
    assert dataclasses.replace(sfu_settings, forwarding="raw").forwarding == "raw"
    with pytest.raises(ValueError, match="forwarding"):
        dataclasses.replace(sfu_settings, forwarding="bogus")


def server_participant(sfu: Any, user: str) -> Any:
    return next(p for p in sfu.node.rooms["room1"].participants.values() if p.user_id == user)


async def quiet_audio_subscription(sfu: Any, clips: Any) -> tuple[Any, Subscription, Any]:
    """A learner's raw audio subscription to a mentor's microphone whose short clip is over:
    (publication, subscription, the subscription's datagram path)."""
    mic = clips.microphone(limit=30)
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"microphone": mic})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count > 5 for r in learner.received.values()))
    await mentor.wait_until(lambda: len(mic.sent) == 30, within=5)
    await asyncio.sleep(0.3)  # the real stream is over: only what the test feeds follows
    subscription = server_subscriptions(sfu, "learner")["audio"]
    egress_of(subscription)
    publication = sfu.node.rooms["room1"].find_publication(subscription.publication_id)
    assert publication is not None and subscription.transceiver is not None
    return publication, subscription, datagram_path(subscription.transceiver.sender.transport)


def burst(publication: Any, path: Any, sequence_numbers: list[int]) -> list[int]:
    """Feed these packets to the publication's forwarder as a reconnected publisher's stream (so
    its start point is known); returns the sequence numbers that left for the subscriber, read
    off its datagram path and kept off the loopback socket."""
    left: list[int] = []

    def capture(data: bytes) -> bool:
        left.append(int.from_bytes(data[2:4], "big"))
        return True

    path.drop = capture
    try:
        publication.forwarder.new_source()
        for seq in sequence_numbers:
            packet = RtpPacket(payload_type=111, sequence_number=seq & 0xFFFF, timestamp=960 * seq)
            packet.payload = b"\xfc\xff\xfe"
            publication.forwarder.on_packet(packet)
    finally:
        path.drop = None
    return left


async def test_a_long_stream_still_reaches_the_subscriber_past_half_the_sequence_space(sfu, clips) -> None:
    """An hour-long lesson is ~360,000 video packets: the subscriber's stream must not go dark
    32,768 packets after its start point (the long stream compressed into a burst)."""
    publication, _, path = await quiet_audio_subscription(sfu, clips)
    left = burst(publication, path, list(range(1000, 41000)))
    assert len(left) == 40000, f"only {len(left)} of 40000 packets left for the subscriber"
    assert steps([(seq, 0, 0) for seq in left]) == {1}


async def test_a_packet_arriving_far_too_late_is_dropped_and_the_subscriber_carries_on(sfu, clips) -> None:
    """A packet held up in the network for seconds (or a very late retransmission) is past every
    receiver's buffer, our history and the subscriber's SRTP replay window: it must not stop the
    subscription."""
    publication, subscription, path = await quiet_audio_subscription(sfu, clips)
    left = burst(publication, path, [*range(1000, 3000), 1100, *range(3000, 3010)])
    assert len(left) == 2010, f"{len(left)} packets left: the subscription stopped at the late one"
    assert steps([(seq, 0, 0) for seq in left]) == {1}
    assert publication.forwarder.raw_failures == 0 and subscription.raw_active


async def test_a_paused_viewer_with_no_audio_to_measure_the_link_by_gets_video_back(sfu, clips) -> None:
    """A camera without a microphone: once paused, no flowing track measures the downlink."""
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera()})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count > 10 for r in learner.received.values()))
    video = next(iter(learner.received.values()))
    before = len(learner.messages)
    learner.set_downlink_loss(0.2)
    await learner.wait_for("video_paused", within=10, since=before)
    learner.set_downlink_loss(0.0)
    await learner.wait_for("video_resumed", within=10, since=before)
    count = video.count
    await learner.wait_until(lambda: video.count > count + 10, within=5)


async def test_a_publishers_lossy_uplink_pauses_no_viewer_and_is_the_publishers_own_reason(sfu, clips) -> None:
    """Holes the publisher's uplink leaves reach every viewer (and their NACKs come back): that is
    not the viewers' downlink, so no viewer's video is paused; the publisher is told instead."""
    mentor, learner = await sfu.mentor_and_learner(clips.camera(), clips.microphone())
    before = len(learner.messages)
    mentor.set_uplink_loss(0.15)
    message = await mentor.wait_for(
        "quality", lambda m: m["participant_id"] == mentor.participant_id and m["level"] != "excellent", within=6
    )
    assert "packet loss on your upload" in message["reason"]
    await asyncio.sleep(3.0)  # four times the pause delay configured here
    assert not [m for m in learner.messages[before:] if m["type"] == "video_paused"]
    assert not server_participant(sfu, "learner").congestion.paused
