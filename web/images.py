"""Uploaded pictures (session thumbnails, mentors' photos): judged by their content, resized on the server.

Neither the file name nor the declared content type is trusted: only what Pillow can decode as one of
the accepted formats becomes a picture. Whatever is accepted is re-encoded as JPEG, so no byte of the
upload is ever served back as it came. Each kind of picture names itself (`noun`, the form `field`) so
the errors read as the form's own.

Decoding is what costs memory, so it is bounded three ways: the declared size is checked against
`[images] max_pixels` before a pixel is decoded (a 136 KiB PNG can declare 6000x6000); a JPEG is decoded
at the smallest 1/2, 1/4 or 1/8 scale that still covers the output (libjpeg's draft mode) and any other
format is shrunk by an integer factor (`Image.reduce`) before anything else copies it; and at most
`[images] concurrent_decodes` decodes run at once per process, in a thread off the event loop. The
re-encoded JPEG carries no metadata: EXIF, ICC profiles, JPEG COM and GIF comments and PNG text chunks
all stay behind.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from PIL import Image, ImageOps, UnidentifiedImageError

from web.config import Config
from web.errors import bad_request
from web.keys import CONFIG

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
# The default of `[images] max_pixels`: 16 MP, about 64 MB decoded as RGBA.
MAX_PIXELS = 16_000_000
# Resampled down with LANCZOS from at most this many times the output size: reduce() does the rest.
REDUCE_HEADROOM = 2

# The decodes that may run at once in this process (`[images] concurrent_decodes`).
IMAGE_DECODES: web.AppKey[asyncio.Semaphore] = web.AppKey("image_decodes", asyncio.Semaphore)


def setup_images(app: web.Application) -> None:
    app[IMAGE_DECODES] = asyncio.Semaphore(max(1, app[CONFIG].int("images", "concurrent_decodes")))


@dataclass(frozen=True)
class ImageRules:
    noun: str  # "thumbnail", "photo": how errors name the upload
    field: str  # the form field errors point at
    max_bytes: int
    size: int  # the longest side after resizing (both sides when square)
    directory: Path
    square: bool = False  # crop to the centre square (a face in a round frame)
    max_pixels: int = MAX_PIXELS  # width x height as declared, checked before decoding


def max_pixels(config: Config) -> int:
    """`[images] max_pixels`: what each kind of picture passes as ImageRules.max_pixels."""
    return config.int("images", "max_pixels")


def too_large_message(noun: str, max_bytes: int) -> str:
    return f"The {noun} must be at most {max_bytes / (1024 * 1024):g} MB."


def render_image(data: bytes, rules: ImageRules) -> bytes:
    """The upload as a JPEG within `size`, or a 400 naming the field and saying why not."""
    noun, field = rules.noun, rules.field
    if len(data) > rules.max_bytes:
        raise bad_request(too_large_message(noun, rules.max_bytes), field)
    if not data:
        raise bad_request(f"The {noun} file is empty.", field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
                # Judged from the header, before verify() or load() reads any pixel data.
                if kind not in ACCEPTED_FORMATS:
                    raise bad_request(f"The {noun} must be a JPEG, PNG, WebP or GIF image.", field)
                if width * height > rules.max_pixels:
                    raise bad_request(
                        f"The {noun} image is too large ({width}x{height} pixels); "
                        f"use one of at most {rules.max_pixels // 1_000_000} megapixels.",
                        field,
                    )
                probe.verify()
            # verify() leaves the image unusable, so decode a second time for real.
            with Image.open(io.BytesIO(data)) as image:
                picture = _decode_small(image, rules.size)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bad_request(f"The {noun} is not an image we can read (JPEG, PNG, WebP or GIF).", field) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise bad_request(f"The {noun} image is damaged or incomplete.", field) from None
    if rules.square:
        picture = ImageOps.fit(picture, (rules.size, rules.size), Image.Resampling.LANCZOS)
    else:
        picture.thumbnail((rules.size, rules.size), Image.Resampling.LANCZOS)
    # Nothing of the upload's metadata is written: Pillow's JPEG writer would copy a `comment` from info.
    picture.info = {}
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _decode_small(image: Image.Image, size: int) -> Image.Image:
    """The image decoded at no more than about REDUCE_HEADROOM x `size` a side, upright and flattened to RGB."""
    # A JPEG decodes at 1/2, 1/4 or 1/8 scale in libjpeg itself: the full-size pixels never exist.
    # draft() keeps both sides at least `size`, so a centre crop to a square still has its full size.
    image.draft("RGB", (size, size))
    image.load()
    factor = min(image.size) // (size * REDUCE_HEADROOM)
    reduced = image.reduce(factor) if factor >= 2 else image
    upright = ImageOps.exif_transpose(reduced) or reduced
    return _flatten(upright)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent areas become white, as they look on the page, instead of JPEG's black."""
    if image.mode in ("RGBA", "LA", "P") and (image.mode != "P" or "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


async def prepare_image(app: web.Application, data: bytes, rules: ImageRules) -> bytes:
    """render_image in a thread (a 5 MB image takes long enough to stall the loop), one of a bounded few."""
    async with app[IMAGE_DECODES]:
        return await asyncio.to_thread(render_image, data, rules)


def store_image(jpeg: bytes, directory: Path) -> str:
    """Write the rendered JPEG under a fresh random name and return that name."""
    name = f"{secrets.token_urlsafe(16)}.jpg"
    (directory / name).write_bytes(jpeg)
    return name


def delete_image(name: str | None, directory: Path) -> None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return
    (directory / name).unlink(missing_ok=True)
