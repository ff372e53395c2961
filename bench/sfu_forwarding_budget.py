"""A CPU budget per SFU process (`--cpu-budget F`): each process under test runs in a cgroup of its
own capped at F of a core (CFS bandwidth control).

Why: on this 2-core machine the load clients share the cores with the SFUs, so "two media
processes carry twice what one carries" cannot be shown at a full core each: two busy SFU
processes would leave nothing for the clients, which then fall behind first. A quota makes each
process's capacity a known, smaller budget, so one process reaches its own limit with cores to
spare, and two processes with F each show whether capacity doubles (nothing they share, such as
Redis, the kernel's locks or the placement, holding them back) while the clients still run. A
throttled process stalls until the period ends; the period is 10 ms, under a frame's interval, so
a budget slows a keyframe burst as a slower core would (by 1/F) without stalls of 100 ms.

cgroup v1 (`/sys/fs/cgroup/cpu`, as on this machine) and v2 (`cpu.max`) are both handled. Needs
root; the groups are removed at the end.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PERIOD_US = 10_000
MIN_BUDGET = 0.1  # the kernel's smallest quota is 1 ms
V1 = Path("/sys/fs/cgroup/cpu")
V2 = Path("/sys/fs/cgroup")


def hierarchy() -> tuple[Path, str]:
    if (V1 / "cpu.cfs_quota_us").exists():
        return V1, "v1"
    controllers = V2 / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2, "v2"
    raise RuntimeError("--cpu-budget needs the cgroup cpu controller (v1 at /sys/fs/cgroup/cpu, or v2)")


def group_of(pid: int, kind: str) -> str:
    """The process's group in the cpu hierarchy (v1: the line naming cpu; v2: the unified line)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (kind == "v1" and "cpu" in controllers.split(",")) or (kind == "v2" and controllers == ""):
            return path
    return "/"


def check(budget: float) -> None:
    """Fail before any point runs: no controller, not root, or a budget outside (0, 1]."""
    if not MIN_BUDGET <= budget <= 1:
        raise SystemExit(f"--cpu-budget is a share of one core: at least {MIN_BUDGET:g} (a 1 ms quota), at most 1")
    if os.geteuid() != 0:
        raise SystemExit("--cpu-budget needs root (it creates cgroups)")
    hierarchy()


@contextlib.contextmanager
def limited(pids: list[int], budget: float | None) -> Iterator[None]:
    """Each of `pids` (with all its threads) capped at `budget` of a core until the block ends."""
    if budget is None or not pids:
        yield
        return
    root, kind = hierarchy()
    if kind == "v2":
        with contextlib.suppress(OSError):  # already on, or not allowed: the write below then says so
            (root / "cgroup.subtree_control").write_text("+cpu")
    groups: list[tuple[Path, Path]] = []  # (the budget's group, where its process came from)
    try:
        for pid in pids:
            group = root / f"mentorlive-bench-{os.getpid()}-{pid}"
            origin = root / group_of(pid, kind).lstrip("/")
            group.mkdir()
            groups.append((group, origin))
            quota = int(budget * PERIOD_US)
            if kind == "v1":
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            (group / "cgroup.procs").write_text(str(pid))
        yield
    finally:
        for group, origin in groups:
            # Anything still inside goes back where it came from, or the directory cannot go.
            with contextlib.suppress(OSError):
                for pid_text in (group / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        (origin / "cgroup.procs").write_text(pid_text)
            with contextlib.suppress(OSError):
                group.rmdir()


def label(budget: float | None) -> str:
    return "" if budget is None else f", ≤ {budget:g} core each"
