"""Uploaded pictures (session thumbnails, mentors' photos): judged by their content, resized on the server.

Neither the file name nor the declared content type is trusted: only what Pillow can decode as one of
the accepted formats becomes a picture. Whatever is accepted is re-encoded as JPEG, so no byte of the
upload is ever served back as it came. Each kind of picture names itself (`noun`, the form `field`) so
the errors read as the form's own.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from web.errors import bad_request

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
# Far above any real photo, far below what would exhaust memory while decoding.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class ImageRules:
    noun: str  # "thumbnail", "photo": how errors name the upload
    field: str  # the form field errors point at
    max_bytes: int
    size: int  # the longest side after resizing (both sides when square)
    directory: Path
    square: bool = False  # crop to the centre square (a face in a round frame)


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
                probe.verify()
            if kind not in ACCEPTED_FORMATS:
                raise bad_request(f"The {noun} must be a JPEG, PNG, WebP or GIF image.", field)
            if width * height > MAX_PIXELS:
                raise bad_request(f"The {noun} image has too many pixels.", field)
            # verify() leaves the image unusable, so decode a second time for real.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                picture = _flatten(upright)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bad_request(f"The {noun} is not an image we can read (JPEG, PNG, WebP or GIF).", field) from None
    except (OSError, SyntaxError, ValueError):
        raise bad_request(f"The {noun} image is damaged or incomplete.", field) from None
    if rules.square:
        picture = ImageOps.fit(picture, (rules.size, rules.size), Image.Resampling.LANCZOS)
    else:
        picture.thumbnail((rules.size, rules.size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent areas become white, as they look on the page, instead of JPEG's black."""
    if image.mode in ("RGBA", "LA", "P") and (image.mode != "P" or "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


async def prepare_image(data: bytes, rules: ImageRules) -> bytes:
    # Decoding a 5 MB image takes long enough to stall every other request on the loop.
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
