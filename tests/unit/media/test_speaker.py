"""The active speaker: levels read at ingress, a decision that does not flicker."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.rtp import RtpPacket

from media_server.aiortc_hooks.inbound import RECEIVER_HANDLE_RTP, watch_audio_level
from media_server.codecs import codec_for
from media_server.publication import SILENT, Publication
from media_server.speaker import ActiveSpeaker

TICK = 0.25
LOUD, QUIET = 15, 127  # about -15 dBov (a voice close to the microphone), silence


def run(speaker: ActiveSpeaker, start: float, seconds: float, levels: dict[str, int]) -> tuple[float, list]:
    """Tick for `seconds` with the same levels; returns the end time and every change seen."""
    changes, now = [], start
    while now < start + seconds - 1e-9:
        now += TICK
        if speaker.update(now, levels):
            changes.append(speaker.current)
    return now, changes


def test_the_loudest_voice_becomes_the_speaker_within_a_second() -> None:
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    _, changes = run(speaker, 0.0, 1.0, {"p1": LOUD, "p2": QUIET})
    assert changes == ["p1"]


def test_one_click_does_not_take_the_floor() -> None:
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    now, _ = run(speaker, 0.0, 2.0, {"p1": QUIET, "p2": QUIET})
    assert not speaker.update(now + TICK, {"p1": LOUD, "p2": QUIET})
    now, changes = run(speaker, now + TICK, 2.0, {"p1": QUIET, "p2": QUIET})
    assert changes == [] and speaker.current is None


def test_background_noise_below_the_threshold_is_nobody_speaking() -> None:
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    _, changes = run(speaker, 0.0, 3.0, {"p1": 55, "p2": 70})
    assert changes == [] and speaker.current is None


def test_a_pause_between_words_keeps_the_speaker_and_silence_releases_it() -> None:
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    now, _ = run(speaker, 0.0, 2.0, {"p1": LOUD, "p2": QUIET})
    now, changes = run(speaker, now, 0.5, {"p1": QUIET, "p2": QUIET})
    assert changes == [] and speaker.current == "p1"
    now, changes = run(speaker, now, 3.0, {"p1": QUIET, "p2": QUIET})
    assert changes == [None]


def test_another_voice_takes_over_only_when_clearly_louder_and_after_the_hold() -> None:
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    now, _ = run(speaker, 0.0, 2.0, {"p1": 30, "p2": QUIET})
    # Both talk about as loud: the floor stays with p1.
    now, changes = run(speaker, now, 3.0, {"p1": 30, "p2": 29})
    assert changes == []
    # p1 stops, p2 carries on: one change, to p2.
    now, changes = run(speaker, now, 3.0, {"p1": QUIET, "p2": 20})
    assert changes == ["p2"]


def test_a_muted_speaker_loses_the_floor_at_once() -> None:
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    now, _ = run(speaker, 0.0, 2.0, {"p1": LOUD, "p2": 25})
    assert speaker.current == "p1"
    # Muted microphones are left out of the levels, however loud.
    assert speaker.update(now + TICK, {"p2": 25})
    assert speaker.current == "p2"


def test_reset_forgets_the_speaker() -> None:
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    run(speaker, 0.0, 2.0, {"p1": LOUD, "p2": QUIET})
    assert speaker.reset() and speaker.current is None
    assert not speaker.reset()


def packet_with_level(level: int | None) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=1, timestamp=960, ssrc=1234, payload=b"\xf8\xff\xfe")
    if level is not None:
        packet.extensions.audio_level = (True, level)
    return packet


async def test_the_receiver_hook_reads_each_packets_level_and_still_handles_it() -> None:
    pc = RTCPeerConnection()
    receiver = pc.addTransceiver("audio", "recvonly").receiver
    handled: list[RtpPacket] = []
    original = getattr(receiver, RECEIVER_HANDLE_RTP)

    async def spy(packet: RtpPacket, arrival_time_ms: int) -> None:
        handled.append(packet)
        await original(packet, arrival_time_ms=arrival_time_ms)

    setattr(receiver, RECEIVER_HANDLE_RTP, spy)
    levels: list[int] = []
    watch_audio_level(receiver, levels.append)
    # The transport calls it exactly so, and awaits what it returns.
    for level in (40, None, 12):
        await receiver._handle_rtp_packet(packet_with_level(level), arrival_time_ms=0)
    assert levels == [40, 12]
    assert len(handled) == 3
    await pc.close()


def test_a_publication_keeps_the_loudest_level_until_read() -> None:
    publication = Publication("p1", "u1", "microphone", codec_for("microphone"), 0.3, lambda p: None)
    for level in (60, 18, 90):
        publication._heard(level)
    heard = publication.audio_heard_at
    assert publication.take_audio_level(heard, max_age=0.5) == 18
    assert publication.take_audio_level(heard, max_age=0.5) == SILENT  # read once, then silence
    publication._heard(30)
    # Nothing heard for longer than max_age counts as silence, whatever was stored.
    assert publication.take_audio_level(publication.audio_heard_at + 1.0, max_age=0.5) == SILENT


def test_short_beeps_every_half_second_make_a_speaker() -> None:
    # What Chromium's fake microphone sends: a 20 ms beep at about -8 dBov every 500 ms.
    speaker = ActiveSpeaker(threshold=50, hold=1.0)
    now, changes = 0.0, []
    for tick in range(12):
        now += TICK
        if speaker.update(now, {"p1": 8 if tick % 2 == 0 else 60, "p2": QUIET}):
            changes.append(speaker.current)
    assert changes == ["p1"]
