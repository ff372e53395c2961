"""Durable jobs: due only when the clock says so, run once even with racing claimers, retried on failure."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import select

from models.clock import ManualClock
from models.db import Database
from models.tables import ScheduledJob
from workers.dispatcher import Dispatcher
from workers.embedded import EmbeddedRunner
from workers.registry import JobRegistry
from workers.scheduler import cancel_jobs, schedule_job


async def add_job(db: Database, clock: ManualClock, kind: str, due_in: timedelta, **args: Any) -> int:
    async with db.session() as s:
        job = schedule_job(s, kind=kind, args=args, due_at=clock.now() + due_in, now=clock.now())
        await s.commit()
        assert job.id is not None
        return job.id


def recording_registry(seen: list[tuple[str, dict[str, Any]]], *, fail_times: int = 0) -> JobRegistry:
    registry = JobRegistry()
    failures = {"left": fail_times}

    async def remember(args: dict[str, Any]) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("payment provider timed out")
        seen.append(("remember", args))

    registry.register("remember", remember)
    return registry


async def test_a_job_runs_only_once_it_is_due(database: Database, clock: ManualClock) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    runner = EmbeddedRunner(Dispatcher(database, clock), recording_registry(seen), poll_seconds=1)
    await add_job(database, clock, "remember", timedelta(minutes=15), booking_id=7)
    assert await runner.run_due() == 0
    clock.advance(timedelta(minutes=14, seconds=59))
    assert await runner.run_due() == 0
    clock.advance(timedelta(seconds=1))
    assert await runner.run_due() == 1
    assert seen == [("remember", {"booking_id": 7})]
    assert await runner.run_due() == 0
    async with database.session() as s:
        job = (await s.exec(select(ScheduledJob))).one()
        assert job.done_at is not None and job.attempts == 1


async def test_racing_dispatchers_run_each_job_exactly_once(database: Database, clock: ManualClock) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    registry = recording_registry(seen)
    for i in range(30):
        await add_job(database, clock, "remember", timedelta(0), n=i)
    runners = [EmbeddedRunner(Dispatcher(database, clock), registry, poll_seconds=1) for _ in range(4)]
    counts = await asyncio.gather(*(r.run_due() for r in runners))
    assert sum(counts) == 30
    assert sorted(args["n"] for _, args in seen) == list(range(30))


async def test_a_failing_job_is_retried_with_backoff_and_keeps_its_error(database: Database,
                                                                        clock: ManualClock) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    runner = EmbeddedRunner(Dispatcher(database, clock), recording_registry(seen, fail_times=2), poll_seconds=1)
    job_id = await add_job(database, clock, "remember", timedelta(0), x=1)
    assert await runner.run_due() == 1
    async with database.session() as s:
        job = await s.get(ScheduledJob, job_id)
        assert job is not None and job.done_at is None
        assert "payment provider timed out" in (job.last_error or "")
    assert await runner.run_due() == 0  # backing off, not hammering
    clock.advance(timedelta(seconds=10))
    assert await runner.run_due() == 1  # second failure
    clock.advance(timedelta(seconds=20))
    assert await runner.run_due() == 1
    assert seen == [("remember", {"x": 1})]


async def test_a_claim_whose_runner_died_is_taken_again_after_the_lease(database: Database,
                                                                       clock: ManualClock) -> None:
    await add_job(database, clock, "remember", timedelta(0))
    dead = Dispatcher(database, clock, lease_seconds=60)
    assert len(await dead.claim_due()) == 1  # claimed, then the process "dies"
    alive = Dispatcher(database, clock, lease_seconds=60)
    assert await alive.claim_due() == []
    clock.advance(timedelta(seconds=61))
    assert len(await alive.claim_due()) == 1


async def test_cancelled_jobs_never_run(database: Database, clock: ManualClock) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    runner = EmbeddedRunner(Dispatcher(database, clock), recording_registry(seen), poll_seconds=1)
    await add_job(database, clock, "remember", timedelta(minutes=5), booking_id=1)
    await add_job(database, clock, "remember", timedelta(minutes=5), booking_id=2)
    async with database.session() as s:
        await cancel_jobs(s, kind="remember", match={"booking_id": 1}, now=clock.now())
        await s.commit()
    clock.advance(timedelta(minutes=5))
    await runner.run_due()
    assert seen == [("remember", {"booking_id": 2})]


async def test_the_background_loop_runs_jobs_without_being_asked(database: Database, clock: ManualClock) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    runner = EmbeddedRunner(Dispatcher(database, clock), recording_registry(seen), poll_seconds=0.05)
    runner.start()
    try:
        await add_job(database, clock, "remember", timedelta(0), y=2)
        runner.poke()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    assert seen == [("remember", {"y": 2})]


async def test_in_process_kinds_stay_here_when_a_broker_takes_the_rest(database: Database, clock: ManualClock) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    registry = recording_registry(seen)

    async def look_at_rooms(args: dict[str, Any]) -> None:
        seen.append(("rooms", args))

    registry.register("rooms", look_at_rooms, in_process=True)
    handed: list[str] = []

    async def hand_off(job: Any) -> None:
        handed.append(job.kind)

    runner = EmbeddedRunner(Dispatcher(database, clock), registry, poll_seconds=1, hand_off=hand_off)
    await add_job(database, clock, "remember", timedelta(0), booking_id=1)
    await add_job(database, clock, "rooms", timedelta(0), session_id=2)
    assert await runner.run_due() == 2
    assert handed == ["remember"]
    assert seen == [("rooms", {"session_id": 2})]
