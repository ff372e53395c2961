"""Session thumbnails: judged by their content and resized on the server (web/images.py), stored under
<data_dir>/thumbnails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from web import images
from web.config import Config
from web.images import ImageRules

URL_PREFIX = "/media/thumbnails"
FIELD = "thumbnail"


@dataclass(frozen=True)
class ThumbnailSettings:
    max_bytes: int
    size: int
    directory: Path
    max_pixels: int = images.MAX_PIXELS


def thumbnails_dir(config: Config) -> Path:
    directory = config.data_dir / "thumbnails"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def thumbnail_settings(config: Config) -> ThumbnailSettings:
    return ThumbnailSettings(
        max_bytes=config.int("sessions", "thumbnail_max_bytes"),
        size=config.int("sessions", "thumbnail_size"),
        directory=thumbnails_dir(config),
        max_pixels=images.max_pixels(config),
    )


def _rules(settings: ThumbnailSettings) -> ImageRules:
    return ImageRules(noun="thumbnail", field=FIELD, max_bytes=settings.max_bytes, size=settings.size,
                      directory=settings.directory, max_pixels=settings.max_pixels)


def too_large_message(max_bytes: int) -> str:
    return images.too_large_message("thumbnail", max_bytes)


def render_thumbnail(data: bytes, settings: ThumbnailSettings) -> bytes:
    """The upload as a JPEG no larger than `size` on its longest side, or a 400 saying why not."""
    return images.render_image(data, _rules(settings))


async def prepare_thumbnail(app: web.Application, data: bytes, settings: ThumbnailSettings) -> bytes:
    return await images.prepare_image(app, data, _rules(settings))


def store_thumbnail(jpeg: bytes, settings: ThumbnailSettings) -> str:
    """Write the rendered JPEG under a fresh random name and return that name."""
    return images.store_image(jpeg, settings.directory)


def delete_thumbnail(name: str | None, settings: ThumbnailSettings) -> None:
    images.delete_image(name, settings.directory)


def thumbnail_url(name: str | None) -> str | None:
    return f"{URL_PREFIX}/{name}" if name else None
