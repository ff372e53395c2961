"""The circuit breaker around the bus: open after failures in a row, one trial after the pause."""

from __future__ import annotations

from web.realtime.breaker import BreakerState, CircuitBreaker


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_refuses_until_the_pause_ends() -> None:
    ticks = Ticks()
    breaker = CircuitBreaker(failures=3, open_seconds=5.0, now=ticks)
    breaker.failed()
    breaker.succeeded()  # a success in between starts the count again
    breaker.failed()
    breaker.failed()
    assert breaker.allow()
    breaker.failed()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_in() == 5.0
    ticks.now += 4.9
    assert not breaker.allow()


def test_half_open_lets_one_trial_through_and_its_verdict_decides() -> None:
    ticks = Ticks()
    breaker = CircuitBreaker(failures=1, open_seconds=2.0, now=ticks)
    breaker.failed()
    ticks.now += 2.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow(), "only one trial at a time"
    breaker.failed()
    assert breaker.state is BreakerState.OPEN and breaker.retry_in() == 2.0
    ticks.now += 2.0
    assert breaker.allow()
    breaker.abandoned()  # a cancelled trial frees the slot
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()
    assert breaker.opened_total == 1
