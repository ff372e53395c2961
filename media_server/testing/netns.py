"""A private network namespace for tests and benchmarks (root only), and an egress recorder.

The namespace has loopback and one veth pair (`v0` carrying 192.0.2.2/32, TEST-NET-1, and
its peer `v1`, both inside it); the default route leaves through `v0` toward 192.0.2.1, a
permanent neighbour entry with v1's MAC, so a packet for any non-local address (no address
is on-link: /32) goes out on `v0` with its real destination instead of waiting on ARP. Nothing outside answers:
192.0.2.0/24 is TEST-NET-1 and v1 has no address. The namespace's resolv.conf names
192.0.2.53, so a name lookup shows up on `v0` too. IPv6 is off inside it (no kernel
router solicitations or DAD to filter out).

`EgressRecorder`, run inside the namespace, records every IPv4 packet leaving on `v0`
(AF_PACKET, outgoing only): the destinations anything in the namespace tried to reach.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ADDRESS = "192.0.2.2"
GATEWAY = "192.0.2.1"
RESOLVER = "192.0.2.53"
INTERFACE = "v0"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
PROTOCOLS = {6: "tcp", 17: "udp", 1: "icmp"}


class NamespaceUnavailable(RuntimeError):
    pass


def run_checked(*command: str) -> str:
    """Runs a network set-up command (`ip`, `tc`); its output, or NamespaceUnavailable saying why not."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise NamespaceUnavailable(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def _ip(*args: str, namespace: str | None = None) -> str:
    return run_checked("ip", *(["netns", "exec", namespace, "ip"] if namespace else []), *args)


def check_available() -> None:
    if os.geteuid() != 0:
        raise NamespaceUnavailable("needs root (creates a network namespace)")
    if shutil.which("ip") is None:
        raise NamespaceUnavailable("needs iproute2's `ip` command")


@dataclass
class Namespace:
    name: str
    address: str = ADDRESS

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]


@contextmanager
def network_namespace(prefix: str = "mlt") -> Iterator[Namespace]:
    """Creates the namespace described above; deletes it (and its resolv.conf) on exit."""
    check_available()
    name = f"{prefix}-{secrets.token_hex(4)}"
    etc = Path("/etc/netns") / name
    _ip("netns", "add", name)
    try:
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(f"nameserver {RESOLVER}\n")
        for key in ("all", "default"):
            subprocess.run(
                ["ip", "netns", "exec", name, "sh", "-c", f"echo 1 > /proc/sys/net/ipv6/conf/{key}/disable_ipv6"],
                check=False,
            )
        _ip("link", "set", "lo", "up", namespace=name)
        _ip("link", "add", INTERFACE, "type", "veth", "peer", "name", "v1", namespace=name)
        _ip("addr", "add", f"{ADDRESS}/32", "dev", INTERFACE, namespace=name)
        _ip("link", "set", INTERFACE, "up", namespace=name)
        _ip("link", "set", "v1", "up", namespace=name)
        peer_mac = _ip("-brief", "link", "show", "v1", namespace=name).split()[2]
        _ip("neigh", "replace", GATEWAY, "lladdr", peer_mac, "dev", INTERFACE, "nud", "permanent", namespace=name)
        _ip("route", "add", "default", "via", GATEWAY, "dev", INTERFACE, "onlink", namespace=name)
        yield Namespace(name)
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        shutil.rmtree(etc, ignore_errors=True)


@dataclass(frozen=True)
class Egress:
    protocol: str
    destination: str
    port: int | None

    def __str__(self) -> str:
        return f"{self.protocol} {self.destination}" + (f":{self.port}" if self.port is not None else "")


def parse_ipv4(frame: bytes) -> Egress | None:
    """The destination of an Ethernet frame carrying IPv4 (None for anything else)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    header = (ip[0] & 0x0F) * 4
    protocol = PROTOCOLS.get(ip[9], str(ip[9]))
    destination = socket.inet_ntoa(ip[16:20])
    port = None
    if protocol in ("tcp", "udp") and len(ip) >= header + 4:
        port = struct.unpack("!H", ip[header + 2 : header + 4])[0]
    return Egress(protocol, destination, port)


@dataclass
class EgressRecorder:
    """Records IPv4 packets leaving on `interface` (run inside the namespace)."""

    interface: str = INTERFACE
    seen: list[Egress] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind((self.interface, 0))
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="egress-recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                frame, address = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] != PACKET_OUTGOING:
                continue
            egress = parse_ipv4(frame)
            if egress is not None:
                self.seen.append(egress)

    def stop(self) -> list[Egress]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
        return list(self.seen)
