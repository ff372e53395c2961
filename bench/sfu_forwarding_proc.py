"""What the benchmark reads of a process from /proc: CPU time and UDP packets its sockets dropped.

A socket's `drops` (the last column of /proc/<pid>/net/udp, read in the process's own network
namespace) counts datagrams the kernel discarded because the socket's receive buffer was full: the
process did not read in time. Summed over the SFU's processes and, separately, the load clients',
it says which side fell behind when subscribers miss frames.
"""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system time of a live process (0 once it is gone: it did no more work)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def drops_by_inode(table: str) -> dict[int, int]:
    """inode -> drops, from the text of /proc/net/udp or udp6."""
    found: dict[int, int] = {}
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 13:
            found[int(fields[9])] = int(fields[-1])
    return found


def udp_drops(pid: int) -> dict[int, int]:
    """Datagrams dropped so far on each UDP socket this process holds open (by inode)."""
    mine = socket_inodes(pid)
    found: dict[int, int] = {}
    for name in ("udp", "udp6"):
        try:
            table = Path(f"/proc/{pid}/net/{name}").read_text()
        except OSError:
            continue
        found.update((inode, drops) for inode, drops in drops_by_inode(table).items() if inode in mine)
    return found


def drops_between(before: dict[int, int], after: dict[int, int]) -> int:
    """Drops in a window, socket by socket: a socket closed in the window takes its count with it
    (a sum over the open sockets would go down), one opened in it counts from zero."""
    return sum(max(0, count - before.get(inode, 0)) for inode, count in after.items())
