"""Where each picture goes on the 1280x720 canvas: a grid of speakers, or a screen share large with the
cameras in a strip beside it. Every coordinate and size is even (the chroma planes are half size)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

WIDTH, HEIGHT = 1280, 720
STRIP_WIDTH = 320


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    w: int
    h: int
    participant_id: str
    source: str  # camera | screen


def _even(value: float) -> int:
    return int(value) // 2 * 2


def grid(participants: tuple[str, ...], x0: int = 0, y0: int = 0, width: int = WIDTH,
         height: int = HEIGHT) -> list[Tile]:
    n = len(participants)
    if n == 0:
        return []
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    # 16:9 cells fitted in the area, the whole grid centred.
    cell_w = min(width / columns, height / rows * 16 / 9)
    cell_h = cell_w * 9 / 16
    off_x = x0 + (width - cell_w * columns) / 2
    off_y = y0 + (height - cell_h * rows) / 2
    tiles = []
    for i, pid in enumerate(participants):
        row, col = divmod(i, columns)
        in_row = min(columns, n - row * columns)
        # The last row, if short, is centred too.
        shift = (columns - in_row) * cell_w / 2
        tiles.append(Tile(_even(off_x + shift + col * cell_w), _even(off_y + row * cell_h), _even(cell_w),
                          _even(cell_h), pid, "camera"))
    return tiles


@lru_cache(maxsize=256)
def layout(participants: tuple[str, ...], screen_of: str | None) -> tuple[Tile, ...]:
    """The tiles for who is shown (in order) and whose screen is shared (None: no share)."""
    if screen_of is None:
        return tuple(grid(participants))
    screen = Tile(0, 0, WIDTH - STRIP_WIDTH, HEIGHT, screen_of, "screen")
    count = max(1, len(participants))
    cell_h = min(HEIGHT / count, STRIP_WIDTH * 9 / 16)
    top = (HEIGHT - cell_h * count) / 2
    strip = [Tile(WIDTH - STRIP_WIDTH, _even(top + i * cell_h), STRIP_WIDTH, _even(cell_h), pid, "camera")
             for i, pid in enumerate(participants)]
    return (screen, *strip)
