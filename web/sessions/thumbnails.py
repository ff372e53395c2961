"""Session thumbnails: judged by their content, resized on the server, stored under var/thumbnails.

Neither the file name nor the declared content type is trusted: only what Pillow can decode
as one of the accepted formats becomes a thumbnail. Whatever is accepted is re-encoded, so
no byte of the upload is ever served back as it came.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from web.config import Config
from web.errors import bad_request

URL_PREFIX = "/media/thumbnails"
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
# Far above any real photo, far below what would exhaust memory while decoding.
MAX_PIXELS = 40_000_000
FIELD = "thumbnail"


@dataclass(frozen=True)
class ThumbnailSettings:
    max_bytes: int
    size: int
    directory: Path


def thumbnails_dir(config: Config) -> Path:
    directory = config.var_dir / "thumbnails"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def thumbnail_settings(config: Config) -> ThumbnailSettings:
    return ThumbnailSettings(
        max_bytes=config.int("sessions", "thumbnail_max_bytes"),
        size=config.int("sessions", "thumbnail_size"),
        directory=thumbnails_dir(config),
    )


def too_large_message(max_bytes: int) -> str:
    return f"The thumbnail must be at most {max_bytes / (1024 * 1024):g} MB."


def render_thumbnail(data: bytes, settings: ThumbnailSettings) -> bytes:
    """The upload as a JPEG no larger than `size` on its longest side, or a 400 saying why not."""
    if len(data) > settings.max_bytes:
        raise bad_request(too_large_message(settings.max_bytes), FIELD)
    if not data:
        raise bad_request("The thumbnail file is empty.", FIELD)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
                probe.verify()
            if kind not in ACCEPTED_FORMATS:
                raise bad_request("The thumbnail must be a JPEG, PNG, WebP or GIF image.", FIELD)
            if width * height > MAX_PIXELS:
                raise bad_request("The thumbnail image has too many pixels.", FIELD)
            # verify() leaves the image unusable, so decode a second time for real.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                picture = _flatten(upright)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bad_request("The thumbnail is not an image we can read (JPEG, PNG, WebP or GIF).", FIELD) from None
    except (OSError, SyntaxError, ValueError):
        raise bad_request("The thumbnail image is damaged or incomplete.", FIELD) from None
    picture.thumbnail((settings.size, settings.size), Image.Resampling.LANCZOS)
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


async def prepare_thumbnail(data: bytes, settings: ThumbnailSettings) -> bytes:
    # Decoding a 5 MB image takes long enough to stall every other request on the loop.
    return await asyncio.to_thread(render_thumbnail, data, settings)


def store_thumbnail(jpeg: bytes, settings: ThumbnailSettings) -> str:
    """Write the rendered JPEG under a fresh random name and return that name."""
    name = f"{secrets.token_urlsafe(16)}.jpg"
    (settings.directory / name).write_bytes(jpeg)
    return name


def delete_thumbnail(name: str | None, settings: ThumbnailSettings) -> None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return
    (settings.directory / name).unlink(missing_ok=True)


def thumbnail_url(name: str | None) -> str | None:
    return f"{URL_PREFIX}/{name}" if name else None
