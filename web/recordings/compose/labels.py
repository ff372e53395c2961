"""Names under each picture and the initials of a camera that is off, drawn once with Pillow and kept as
luma masks that are cheap to lay onto every frame."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_HEIGHT = 24
OFF_LUMA = 40  # the dark grey of a camera-off tile


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def initials(name: str) -> str:
    parts = [p for p in name.replace("-", " ").split() if p[:1].isalnum()]
    letters = "".join(p[0] for p in parts[:2]).upper()
    return letters or "?"


@lru_cache(maxsize=256)
def name_mask(name: str, width: int) -> np.ndarray:
    """(LABEL_HEIGHT, width) uint8: text luma where > 0."""
    height = min(LABEL_HEIGHT, max(12, width // 12))
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    font = _font(max(9, height - 8))
    text = name or "Guest"
    while len(text) > 1 and draw.textlength(text, font=font) > width - 12:
        text = text[:-2] + "…"
    draw.text((6, (height - font.size) // 2 if hasattr(font, "size") else 2), text, fill=235, font=font)
    return np.asarray(image, dtype=np.uint8)


@lru_cache(maxsize=256)
def initials_tile(name: str, width: int, height: int) -> np.ndarray:
    """(height, width) uint8 luma: a dark tile with the initials large in the middle."""
    image = Image.new("L", (width, height), OFF_LUMA)
    draw = ImageDraw.Draw(image)
    size = max(12, min(width, height) // 3)
    font = _font(size)
    text = initials(name)
    box = draw.textbbox((0, 0), text, font=font)
    x = (width - (box[2] - box[0])) // 2 - box[0]
    y = (height - (box[3] - box[1])) // 2 - box[1]
    draw.text((x, y), text, fill=200, font=font)
    return np.asarray(image, dtype=np.uint8)


def draw_label(y_plane: np.ndarray, u_plane: np.ndarray, v_plane: np.ndarray, x: int, y: int, w: int, h: int,
               name: str) -> None:
    """The name in a darkened bar along the bottom of the tile at (x, y, w, h)."""
    mask = name_mask(name, w)
    bar_h = mask.shape[0] // 2 * 2
    top = y + h - bar_h
    region = y_plane[top:top + bar_h, x:x + w]
    np.maximum(region >> 2, mask[:bar_h], out=region)
    u_plane[top // 2:(top + bar_h) // 2, x // 2:(x + w) // 2] = 128
    v_plane[top // 2:(top + bar_h) // 2, x // 2:(x + w) // 2] = 128
