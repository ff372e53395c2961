"""[media] ice_servers reaches every peer connection as configured; [media] event_loop picks the loop."""

from __future__ import annotations

import asyncio

import pytest

from media_server import peer
from media_server.event_loop import loop_kind, new_event_loop
from media_server.ice_servers import IceServer, parse_ice_servers, rtc_configuration
from web.config import load_config
from web.room.sfu import settings_from_config


def test_the_shipped_configuration_contacts_no_server() -> None:
    settings = settings_from_config(load_config(environ={}))
    assert settings.ice_servers == ()
    # None would make aiortc add stun.l.google.com; an empty list means host candidates only.
    assert rtc_configuration(settings.ice_servers).iceServers == []


async def test_a_peer_connection_gets_exactly_the_configured_servers() -> None:
    servers = parse_ice_servers(
        [
            "stun:stun.example.org:3478",
            {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "u", "credential": "p"},
        ]
    )
    pc = peer.new_peer_connection(servers)
    try:
        gatherer = pc.addTransceiver("audio", "recvonly").receiver.transport.transport.iceGatherer
        connection = gatherer._connection
        assert connection.stun_server == ("stun.example.org", 3478)
        assert connection.turn_server == ("turn.example.org", 3478)
    finally:
        await pc.close()
    default = peer.new_peer_connection()
    try:
        gatherer = default.addTransceiver("audio", "recvonly").receiver.transport.transport.iceGatherer
        assert gatherer._connection.stun_server is None and gatherer._connection.turn_server is None
    finally:
        await default.close()


def test_environment_json_sets_servers_with_credentials() -> None:
    config = load_config(
        environ={"MENTORLIVE_MEDIA_ICE_SERVERS": '[{"urls": "turn:10.0.0.1:3478", "username": "a", "credential": "b"}]'}
    )
    assert settings_from_config(config).ice_servers == (IceServer(("turn:10.0.0.1:3478",), "a", "b"),)


@pytest.mark.parametrize("entry", ["http://stun.example.org", {"username": "x"}, 3478, {"urls": []}])
def test_a_bad_entry_is_refused_by_name(entry: object) -> None:
    with pytest.raises(ValueError, match="ice_servers"):
        parse_ice_servers([entry])


def test_event_loop_choice() -> None:
    for choice in ("uvloop", "asyncio"):
        loop = new_event_loop(choice)
        try:
            assert loop_kind(loop) == choice
            assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
        finally:
            loop.close()
    with pytest.raises(ValueError, match="event_loop"):
        new_event_loop("trio")
