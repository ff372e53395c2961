"""The forwarding benchmark's CPU budget really caps an SFU process (needs root, like the
network-namespace tests)."""

from __future__ import annotations

import subprocess
import sys
import time

from bench import sfu_forwarding_budget as budget
from bench.sfu_forwarding_proc import cpu_seconds

SPIN = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass\n"


def cpu_group(pid: int) -> str:
    return budget.group_of(pid, budget.hierarchy()[1])


def test_a_process_under_a_fifth_of_a_core_gets_no_more_and_goes_back_afterwards() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        outside = cpu_group(spinner.pid)
        with budget.limited([spinner.pid], 0.2):
            assert cpu_group(spinner.pid).startswith("/mentorlive-bench-")
            before, start = cpu_seconds(spinner.pid), time.monotonic()
            time.sleep(1.0)
            used = (cpu_seconds(spinner.pid) - before) / (time.monotonic() - start)
            group = cpu_group(spinner.pid)
        # Unbounded, a spinning process takes a whole core; capped, a fifth (plus the clock's tick).
        assert used < 0.35, f"the spinner used {used:.0%} of a core"
        assert cpu_group(spinner.pid) == outside
        root, _ = budget.hierarchy()
        assert not (root / group.lstrip("/")).exists(), "the group is removed"
    finally:
        spinner.kill()
        spinner.wait()
