"""Nothing leaves for an address not in the configuration during a real join with media.

The SFU and its clients run in a fresh process inside a network namespace whose only way
out is a veth interface where every outgoing IPv4 packet is recorded (AF_PACKET), and
whose resolver is out there too, so a name lookup counts as well. aiortc's default public
STUN server (stun.l.google.com) shows as a DNS query; a configured STUN server as packets to
exactly that address, which also proves the recorder sees what leaves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from media_server.testing.netns import network_namespace

pytestmark = pytest.mark.media
ROOT = Path(__file__).resolve().parents[3]


def join_in_namespace(ice_servers: list[Any]) -> dict[str, Any]:
    with network_namespace() as namespace:
        done = subprocess.run(
            # [media] ice_hosts left empty, as config.toml ships it: aioice gathers on every
            # non-loopback address, the namespace's 192.0.2.2, where the clients are too.
            namespace.command(
                [
                    sys.executable,
                    "-m",
                    "tests.integration.sfu.join_probe",
                    "--record",
                    "--ice-servers",
                    json.dumps(ice_servers),
                    "--ice-hosts",
                    "[]",
                    "--client-host",
                    namespace.address,
                ]
            ),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_join_with_no_ice_servers_sends_nothing_off_the_machine() -> None:
    result = join_in_namespace([])
    assert result["video_frames"] >= 30 and result["audio_frames"] >= 25
    assert result["egress"] == []


def test_a_configured_stun_server_is_the_only_address_contacted() -> None:
    result = join_in_namespace(["stun:192.0.2.77:3478"])
    assert result["video_frames"] >= 30
    assert result["egress"], "the STUN server was never asked (configuration not passed to the peer connection)"
    assert {e for e in result["egress"]} == {"udp 192.0.2.77:3478"}
