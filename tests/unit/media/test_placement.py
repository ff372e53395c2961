"""The node selector: dead, draining and full nodes are out; the least loaded live node wins."""

from __future__ import annotations

import pytest

from media_server.placement import DRAINING, Limits, NodeReport, NoNodeAvailable, choose_node

NOW = 1_000_000.0
LIMITS = Limits(max_rooms=10, max_participants=50, dead_after=5.0)


def node(node_id: str, **fields: object) -> NodeReport:
    values: dict[str, object] = {"url": f"ws://{node_id}/rtc", "last_heartbeat": NOW - 1.0}
    values.update(fields)
    return NodeReport(id=node_id, **values)  # type: ignore[arg-type]


def test_least_forwarded_streams_wins_over_fewer_rooms() -> None:
    busy = node("a", streams=40, rooms=1)
    idle = node("b", streams=4, rooms=5)
    assert choose_node([busy, idle], NOW, LIMITS).id == "b"


def test_equal_streams_go_to_the_lower_cpu_then_fewer_rooms() -> None:
    assert choose_node([node("a", cpu=80.0), node("b", cpu=10.0)], NOW, LIMITS).id == "b"
    # CPU noise between idle nodes does not decide: rooms do, so a burst of rooms spreads.
    assert choose_node([node("a", cpu=3.0, rooms=2), node("b", cpu=1.0, rooms=3)], NOW, LIMITS).id == "a"


def test_a_node_silent_longer_than_the_timeout_is_dead() -> None:
    stale = node("a", last_heartbeat=NOW - 5.01)
    fresh = node("b", streams=100, last_heartbeat=NOW - 4.9)
    assert choose_node([stale, fresh], NOW, LIMITS).id == "b"
    assert stale.status(NOW, LIMITS.dead_after) == "dead"
    assert fresh.status(NOW, LIMITS.dead_after) == "serving"
    # The same node, judged a little later by the injected clock, is dead too.
    with pytest.raises(NoNodeAvailable):
        choose_node([fresh], NOW + 1.0, LIMITS)


def test_draining_nodes_are_never_chosen() -> None:
    assert choose_node([node("a", state=DRAINING), node("b", streams=30)], NOW, LIMITS).id == "b"
    with pytest.raises(NoNodeAvailable):
        choose_node([node("a", state=DRAINING)], NOW, LIMITS)


def test_full_nodes_are_skipped() -> None:
    rooms_full = node("a", rooms=10)
    people_full = node("b", participants=50)
    open_node = node("c", streams=99, rooms=9, participants=49)
    assert choose_node([rooms_full, people_full, open_node], NOW, LIMITS).id == "c"
    with pytest.raises(NoNodeAvailable):
        choose_node([rooms_full, people_full], NOW, LIMITS)


def test_zero_limits_mean_unlimited() -> None:
    assert choose_node([node("a", rooms=10_000, participants=10_000)], NOW, Limits()).id == "a"


def test_exclude_never_returns_that_node() -> None:
    assert choose_node([node("a"), node("b", streams=500)], NOW, LIMITS, exclude="a").id == "b"
    with pytest.raises(NoNodeAvailable):
        choose_node([node("a")], NOW, LIMITS, exclude="a")


def test_no_nodes_at_all() -> None:
    with pytest.raises(NoNodeAvailable):
        choose_node([], NOW, LIMITS)
