"""Prometheus text for /metrics: rooms, participants, forwarding and quality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from media_server.room import Room

LEVELS = ("excellent", "good", "poor", "lost")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def render(node_id: str, rooms: Sequence[Room]) -> str:
    n = _label(node_id)
    participants = [p for r in rooms for p in r.participants.values()]
    publications = [pub for p in participants for pub in p.publications.values() if pub.live]
    subscriptions = [s for p in participants for s in p.subscriptions.values()]
    lines = [
        "# HELP mentorlive_sfu_rooms Rooms open on this media node.",
        "# TYPE mentorlive_sfu_rooms gauge",
        f'mentorlive_sfu_rooms{{node="{n}"}} {len(rooms)}',
        "# TYPE mentorlive_sfu_participants gauge",
        f'mentorlive_sfu_participants{{node="{n}"}} {len(participants)}',
        "# TYPE mentorlive_sfu_publications gauge",
        f'mentorlive_sfu_publications{{node="{n}"}} {len(publications)}',
        "# TYPE mentorlive_sfu_subscriptions gauge",
        f'mentorlive_sfu_subscriptions{{node="{n}"}} {len(subscriptions)}',
        "# TYPE mentorlive_sfu_live_frames_received gauge",
        f'mentorlive_sfu_live_frames_received{{node="{n}"}} {sum(p.forwarder.frames_in for p in publications)}',
        "# TYPE mentorlive_sfu_live_frames_skipped gauge",
        f'mentorlive_sfu_live_frames_skipped{{node="{n}"}} {sum(s.skipped for s in subscriptions)}',
        "# HELP mentorlive_sfu_quality_score Smoothed connection quality score (0-100) per participant.",
        "# TYPE mentorlive_sfu_quality_score gauge",
    ]
    for room in rooms:
        for p in room.participants.values():
            labels = f'node="{n}",room="{_label(room.code)}",participant="{p.id}",user="{_label(p.user_id)}"'
            lines.append(f"mentorlive_sfu_quality_score{{{labels}}} {p.quality['score']}")
    lines.append("# TYPE mentorlive_sfu_quality_level gauge")
    for room in rooms:
        for p in room.participants.values():
            labels = f'node="{n}",room="{_label(room.code)}",participant="{p.id}"'
            for level in LEVELS:
                value = 1 if p.quality["level"] == level else 0
                lines.append(f'mentorlive_sfu_quality_level{{{labels},level="{level}"}} {value}')
    return "\n".join(lines) + "\n"
