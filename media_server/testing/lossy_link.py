"""A lossy or narrow network link to a private network namespace (root only), for tests that need a bad network.

This kernel has no netem qdisc, so the loss is made in user space. The namespace and this one are
joined by two point-to-point TUN devices, one on each side (this side 198.51.100.(4k+1), the
namespace's side 198.51.100.(4k+2), TEST-NET-2, a /30 chosen at random so two links can coexist),
and a relay thread moves every IP packet from one device to the other. Packets toward the
namespace that carry UDP (WebRTC media with its ICE and DTLS) are dropped with the link's
`loss` fraction; everything else (TCP: pages, /ws, /rtc) always passes, and nothing is dropped on
the way out of the namespace. A program run inside the namespace (`command`, or Chromium through
the wrapper `chromium_wrapper` writes) therefore has a lossy downlink and a clean uplink: what a
viewer on a bad Wi-Fi or mobile connection has, while its receiver reports and NACKs still reach
the server. `set_rate` narrows the same direction instead (a token bucket in the kernel).

The namespace has no other interface and no route but the link, so nothing it runs can reach
beyond this machine.
"""

from __future__ import annotations

import fcntl
import os
import random
import secrets
import select
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from media_server.testing.netns import NamespaceUnavailable, check_available, run_checked

_TUNSETIFF = 0x400454CA
_IFF_TUN, _IFF_NO_PI = 0x0001, 0x1000
_UDP = 17
_MTU = 1500


def _open_tun(name: str) -> int:
    if not os.path.exists("/dev/net/tun"):
        raise NamespaceUnavailable("needs /dev/net/tun")
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
    return fd


@dataclass
class LossyLink:
    namespace: str
    host_address: str
    address: str
    host_interface: str
    seed: int = 1
    loss: float = 0.0
    # Counters for the test's own checks: UDP packets carried toward the namespace, and dropped.
    udp_in: int = 0
    udp_dropped: int = 0

    def set_loss(self, fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("loss is a fraction between 0 and 1")
        self.loss = fraction

    def set_rate(self, kbit: int | None, *, latency_ms: int = 250) -> None:
        """Caps the link toward the namespace at `kbit` kbit/s (None: no cap).

        A token-bucket qdisc (tbf) on this side's device: packets wait up to `latency_ms` in its
        queue (the bufferbloat of a mobile or DSL link), then are dropped."""
        if kbit is None:
            subprocess.run(["tc", "qdisc", "del", "dev", self.host_interface, "root"], capture_output=True)
            return
        run_checked("tc", "qdisc", "replace", "dev", self.host_interface, "root", "tbf", "rate", f"{kbit}kbit",
             "burst", "16kb", "latency", f"{latency_ms}ms")

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def chromium_wrapper(self, folder: Path, chromium: str) -> Path:
        """An executable that starts `chromium` inside the namespace (for Playwright's executable_path)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "chromium-in-namespace"
        quoted = " ".join(f"'{part}'" for part in self.command([chromium]))
        path.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n')
        path.chmod(0o755)
        return path

    def relay(self, host_fd: int, namespace_fd: int, wake_fd: int) -> None:
        """Moves packets both ways until `wake_fd` is readable; drops UDP toward the namespace at `loss`."""
        draw = random.Random(self.seed).random
        while True:
            ready, _, _ = select.select([host_fd, namespace_fd, wake_fd], [], [])
            if wake_fd in ready:
                return
            if host_fd in ready:
                packet = os.read(host_fd, _MTU + 64)
                if len(packet) > 9 and packet[9] == _UDP:
                    self.udp_in += 1
                    if draw() < self.loss:
                        self.udp_dropped += 1
                        continue
                os.write(namespace_fd, packet)
            if namespace_fd in ready:
                os.write(host_fd, os.read(namespace_fd, _MTU + 64))


@contextmanager
def lossy_link(prefix: str = "mll") -> Iterator[LossyLink]:
    """Creates the namespace and the relayed link described above; removes both on exit."""
    check_available()
    suffix = secrets.token_hex(3)
    name, host_if, namespace_if = f"{prefix}-{suffix}", f"{prefix}h{suffix}", f"{prefix}n{suffix}"
    base = 4 * secrets.randbelow(64)
    host_address, address = f"198.51.100.{base + 1}", f"198.51.100.{base + 2}"
    run_checked("ip", "netns", "add", name)
    wake_r, wake_w = os.pipe()
    fds: list[int] = []
    thread: threading.Thread | None = None
    link = LossyLink(name, host_address, address, host_if, seed=secrets.randbits(32))
    etc = Path("/etc/netns") / name
    try:
        # No resolver in there: a name lookup fails at once instead of leaving the machine.
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text("")
        fds = [_open_tun(host_if), _open_tun(namespace_if)]
        run_checked("ip", "link", "set", namespace_if, "netns", name)
        run_checked("ip", "addr", "add", host_address, "peer", address, "dev", host_if)
        run_checked("ip", "link", "set", host_if, "up")
        run_checked("ip", "-n", name, "link", "set", "lo", "up")
        run_checked("ip", "-n", name, "addr", "add", address, "peer", host_address, "dev", namespace_if)
        run_checked("ip", "-n", name, "link", "set", namespace_if, "up")
        run_checked("ip", "-n", name, "route", "add", "default", "dev", namespace_if)
        thread = threading.Thread(target=link.relay, args=(fds[0], fds[1], wake_r), name="lossy-link", daemon=True)
        thread.start()
        yield link
    finally:
        os.write(wake_w, b"x")
        if thread is not None:
            thread.join(timeout=5)
        for fd in (*fds, wake_r, wake_w):
            os.close(fd)  # closing a TUN descriptor removes its device
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        shutil.rmtree(etc, ignore_errors=True)
