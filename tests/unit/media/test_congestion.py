"""The congestion rule: when a subscriber's video is paused and resumed (pure, with a fake clock)."""

from __future__ import annotations

from media_server.congestion import (
    PAUSED,
    RESUMED,
    CongestionPolicy,
    CongestionRule,
    Downlink,
    DownlinkMeter,
)

POLICY = CongestionPolicy(pause_loss=0.1, resume_loss=0.03, pause_rtt=1.0, pause_after=2.0, resume_after=4.0)
BAD = Downlink(loss=0.2, rtt=0.05)
EDGE = Downlink(loss=0.05, rtt=0.05)  # between the thresholds
GOOD = Downlink(loss=0.0, rtt=0.05)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(rule: CongestionRule, clock: Clock, reading: Downlink, seconds: float, step: float = 0.5) -> list[str]:
    events = []
    end = clock.now + seconds
    while clock.now < end - 1e-9:
        clock.now += step
        if (event := rule.observe(reading)) is not None:
            events.append(event)
    return events


def test_a_short_loss_burst_does_not_pause() -> None:
    clock = Clock()
    rule = CongestionRule(POLICY, clock)
    assert run(rule, clock, BAD, 1.5) == []
    assert run(rule, clock, GOOD, 1.0) == []
    assert run(rule, clock, BAD, 1.5) == [], "the bad time restarts after a good reading"
    assert not rule.paused


def test_sustained_loss_pauses_and_recovery_resumes_after_the_hold() -> None:
    clock = Clock()
    rule = CongestionRule(POLICY, clock)
    assert run(rule, clock, BAD, 2.5) == [PAUSED]
    assert run(rule, clock, EDGE, 10) == [], "between the thresholds: stays paused (hysteresis)"
    assert run(rule, clock, GOOD, 3.5) == []
    assert run(rule, clock, GOOD, 1.0) == [RESUMED]
    assert run(rule, clock, EDGE, 10) == [], "between the thresholds: stays resumed"


def test_high_round_trip_or_nacks_count_as_congestion() -> None:
    clock = Clock()
    rule = CongestionRule(POLICY, clock)
    assert run(rule, clock, Downlink(loss=0.0, rtt=1.5), 2.5) == [PAUSED]
    clock2 = Clock()
    rule2 = CongestionRule(POLICY, clock2)
    assert run(rule2, clock2, Downlink(loss=0.0, rtt=0.05, nack_rate=0.25), 2.5) == [PAUSED]


def test_a_relapse_doubles_the_resume_hold() -> None:
    clock = Clock()
    rule = CongestionRule(POLICY, clock)
    run(rule, clock, BAD, 2.5)
    assert run(rule, clock, GOOD, 4.5) == [RESUMED]
    assert run(rule, clock, BAD, 2.5) == [PAUSED]
    assert rule.resume_after == 8.0
    assert run(rule, clock, GOOD, 7.5) == []
    assert run(rule, clock, GOOD, 1.0) == [RESUMED]
    # Long after the last resume, a new pause starts from the configured hold again.
    clock.now += 60
    run(rule, clock, BAD, 2.5)
    assert rule.resume_after == 4.0


def test_meter_reads_the_worst_loss_and_nack_share() -> None:
    meter = DownlinkMeter()
    assert meter.measure([]) is None
    first = meter.measure([("a", 0.0, 0.04, 100, 0), ("v", 0.02, 0.06, 1000, 0)])
    assert first == Downlink(0.02, 0.06, 0.0)
    second = meter.measure([("a", 0.19, 0.05, 150, 0), ("v", 0.0, 0.05, 1100, 30)])
    assert second is not None
    assert second.loss == 0.19 and second.rtt == 0.05
    assert abs(second.nack_rate - 30 / 150) < 1e-9


def test_a_pause_with_nothing_left_to_measure_by_ends_after_the_hold() -> None:
    """A viewer of a camera without a microphone: once its video is paused nothing flows, so
    no reading comes; the pause must not last for ever."""
    clock = Clock()
    rule = CongestionRule(POLICY, clock)
    assert run(rule, clock, BAD, 2.5) == [PAUSED]
    events = []
    for _ in range(20):
        clock.now += 0.5
        if (event := rule.observe(None)) is not None:
            events.append(event)
    assert events == [RESUMED]
    assert rule.observe(None) is None and not rule.paused, "nothing measured is no reason to pause"
