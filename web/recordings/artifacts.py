"""What sits beside a recording: the chat transcript (text with times), the final whiteboard as a PNG
(strokes drawn as the room page draws them), and the raw tracks zip for editing elsewhere."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

# The room page's whiteboard canvas (web/static/room/whiteboard.js): points are 0..1 of its size.
BOARD_WIDTH, BOARD_HEIGHT = 1600, 900
DEFAULT_PEN = "#1f2937"
PEN_WIDTH = 0.004


@dataclass(frozen=True)
class ChatLine:
    at: datetime
    name: str
    text: str


def transcript_text(title: str, started: datetime | None, lines: list[ChatLine]) -> str:
    head = [f"Chat transcript: {title}"]
    if started is not None:
        head.append(f"Session started {started.strftime('%Y-%m-%d %H:%M UTC')}")
    out = [*head, ""]
    for line in lines:
        offset = ""
        if started is not None:
            seconds = max(0, int((line.at - started).total_seconds()))
            offset = f"[{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}] "
        out.append(f"{offset}{line.at.strftime('%H:%M:%S')} {line.name}: {line.text}")
    if not lines:
        out.append("(nothing was said in the chat)")
    return "\n".join(out) + "\n"


def _color(value: Any) -> str:
    text = str(value or DEFAULT_PEN)
    return text if text.startswith("#") and len(text) in (4, 7) else DEFAULT_PEN


def whiteboard_png(strokes: list[dict[str, Any]], path: Path) -> None:
    """Strokes as whiteboard.js sends them: `p` points (fractions of the board), `c` colour, `w` width
    (a fraction of the board's width), `e` eraser; `{"clear": true}` wipes the board."""
    image = Image.new("RGB", (BOARD_WIDTH, BOARD_HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        if stroke.get("clear"):
            draw.rectangle((0, 0, BOARD_WIDTH, BOARD_HEIGHT), fill="white")
            continue
        points = [(float(p[0]) * BOARD_WIDTH, float(p[1]) * BOARD_HEIGHT)
                  for p in stroke.get("p") or [] if isinstance(p, list | tuple) and len(p) >= 2]
        if not points:
            continue
        color = "white" if stroke.get("e") else _color(stroke.get("c"))
        width = max(1, round(float(stroke.get("w") or PEN_WIDTH) * BOARD_WIDTH))
        if len(points) > 1:
            draw.line(points, fill=color, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            # Round caps, as the page draws them.
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=color)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    image.save(tmp, format="PNG")
    tmp.replace(path)


def raw_zip(tracks: list[Path], extras: list[Path], path: Path) -> int:
    """The per-track originals (already compressed: stored as they are) and the extras; its size."""
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for track in tracks:
            if track.is_file():
                archive.write(track, f"tracks/{track.name}")
        for extra in extras:
            if extra.is_file():
                archive.write(extra, extra.name, compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(path)
    return path.stat().st_size
