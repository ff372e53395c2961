"""The finished parts joined into one MP4 by copying packets with shifted timestamps: no re-encoding.

Every part was encoded with the same settings, so one part's stream parameters serve them all. AAC
starts each part with its encoder delay; packets that would overlap the previous part are dropped.
"""

from __future__ import annotations

import os
import uuid
from fractions import Fraction
from pathlib import Path

import av


def join_parts(parts: list[Path], out: Path) -> float:
    """Write `out` (via a temporary name); returns its duration in seconds."""
    tmp = out.with_name(f"{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        duration = _join(parts, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return duration


def _join(parts: list[Path], path: Path) -> float:
    with av.open(str(parts[0])) as first:
        templates = [first.streams.video[0], first.streams.audio[0]]
        # Timestamps are kept in the parts' own time bases (the same in every part); mux rescales them.
        bases = [_time_base(t) for t in templates]
        output = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        streams = [output.add_stream_from_template(t) for t in templates]
    offsets = [0, 0]  # where the next part starts, per stream
    last_dts: list[int | None] = [None, None]
    end = 0
    with output:
        for part in parts:
            with av.open(str(part)) as source:
                inputs = [source.streams.video[0], source.streams.audio[0]]
                part_end = 0
                for packet in source.demux(inputs):
                    if packet.dts is None or packet.pts is None:
                        continue
                    i = 0 if packet.stream.type == "video" else 1
                    pts, dts = offsets[i] + packet.pts, offsets[i] + packet.dts
                    if i == 0:
                        part_end = max(part_end, packet.pts + (packet.duration or 0))
                    previous = last_dts[i]
                    if previous is not None and dts <= previous:
                        continue
                    packet.pts, packet.dts = pts, dts
                    packet.stream = streams[i]
                    packet.time_base = bases[i]
                    output.mux(packet)
                    last_dts[i] = dts
                    if i == 0:
                        end = max(end, pts + (packet.duration or 0))
                # The video's length decides where the next part starts; audio follows it so the two never drift.
                offsets[0] += part_end
                offsets[1] = round(offsets[0] * bases[0] / bases[1])
    return float(end * bases[0])


def _time_base(stream: av.stream.Stream) -> Fraction:
    if stream.time_base is None:
        raise ValueError(f"stream {stream.index} has no time base")
    return stream.time_base
