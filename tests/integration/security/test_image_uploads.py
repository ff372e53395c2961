"""Pictures an attacker uploads (anyone can sign up as a mentor): a small file declaring a huge image, many
decodes at once, and metadata that must not survive the re-encode (web/images.py)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.integration.sessions.helpers import session_fields
from tests.support.api import ApiClient, sign_up
from web import images
from web.config import PROJECT_ROOT
from web.errors import ApiError

MARKER = b"ATTACKER-METADATA-7f3a"


def _rules(tmp_path: Path, size: int = 640) -> images.ImageRules:
    return images.ImageRules(
        noun="thumbnail", field="thumbnail", max_bytes=5 * 1024 * 1024, size=size, directory=tmp_path
    )


def _encoded(image: Image.Image, kind: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=kind, **params)
    return out.getvalue()


def _gradient(width: int, height: int, mode: str) -> Image.Image:
    # Compresses to a small file whatever its declared size, as a decompression bomb does.
    return Image.linear_gradient("L").resize((width, height)).convert(mode)


def _bomb() -> bytes:
    return _encoded(_gradient(6000, 6000, "L"), "PNG")


def _measure(tmp_path: Path, concurrent: int, uploads: list[bytes]) -> dict[str, Any]:
    paths = []
    for index, data in enumerate(uploads):
        path = tmp_path / f"upload{index}"
        path.write_bytes(data)
        paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.image_memory", str(concurrent), *paths],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_small_png_declaring_6000x6000_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = _bomb()
    assert len(bomb) < 200 * 1024
    with pytest.raises(ApiError) as refused:
        images.render_image(bomb, _rules(tmp_path))
    assert refused.value.status == 400
    assert refused.value.field == "thumbnail"
    assert "6000x6000" in refused.value.message


def test_four_bombs_at_once_cost_almost_no_memory(tmp_path: Path) -> None:
    result = _measure(tmp_path, 2, [_bomb()] * 4)
    assert all(answer.startswith("400:") for answer in result["answers"]), result
    # Decoding one of them used to cost 582 MiB (the declared 36 MP, several copies).
    assert result["growth_mib"] < 40, result


def test_four_largest_accepted_pngs_at_once_stay_under_a_memory_bound(tmp_path: Path) -> None:
    upload = _encoded(_gradient(4000, 4000, "RGBA"), "PNG")  # 16 MP, exactly the cap
    result = _measure(tmp_path, 2, [upload] * 4)
    assert all(answer.startswith("jpeg:") for answer in result["answers"]), result
    # Two decodes at a time, each one RGBA copy of 64 MB plus small reduced copies; four at once with every
    # intermediate at full size peaked at several times this.
    assert result["growth_mib"] < 300, result


def test_a_large_jpeg_decodes_at_reduced_scale(tmp_path: Path) -> None:
    upload = _encoded(_gradient(4000, 4000, "RGB"), "JPEG", quality=90)
    result = _measure(tmp_path, 1, [upload])
    assert result["answers"][0].startswith("jpeg:"), result
    # libjpeg's draft mode decodes 1/4 scale (1000x1000); the full image alone would take 61 MiB.
    assert result["growth_mib"] < 30, result


async def test_at_most_the_configured_decodes_run_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def slow_render(data: bytes, rules: images.ImageRules) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with lock:
            running -= 1
        return data

    monkeypatch.setattr(images, "render_image", slow_render)
    app = web.Application()
    app[images.IMAGE_DECODES] = asyncio.Semaphore(2)
    await asyncio.gather(*(images.prepare_image(app, b"x", _rules(tmp_path)) for _ in range(6)))
    assert most == 2


def _with_metadata(kind: str) -> bytes:
    picture = _gradient(300, 200, "RGB")
    if kind == "JPEG":
        exif = Image.Exif()
        exif[0x010E] = MARKER.decode()  # ImageDescription
        return _encoded(picture, "JPEG", comment=MARKER, exif=exif.tobytes())
    if kind == "GIF":
        return _encoded(picture.convert("P"), "GIF", comment=MARKER)
    text = PngInfo()
    text.add_text("Comment", MARKER.decode())
    text.add_itxt("Description", MARKER.decode())
    return _encoded(picture, "PNG", pnginfo=text)


@pytest.mark.parametrize("kind", ["JPEG", "GIF", "PNG"])
def test_comments_and_metadata_do_not_survive_the_re_encode(tmp_path: Path, kind: str) -> None:
    upload = _with_metadata(kind)
    assert MARKER in upload
    out = images.render_image(upload, _rules(tmp_path))
    assert MARKER not in out
    with Image.open(io.BytesIO(out)) as result:
        assert result.format == "JPEG"
        assert result.size == (300, 200)
        assert not {"comment", "exif", "icc_profile"} & set(result.info)


def test_a_jpeg_is_still_turned_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    upload = _encoded(_gradient(2400, 1200, "RGB"), "JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(images.render_image(upload, _rules(tmp_path)))) as result:
        assert result.size == (320, 640)


async def test_a_mentor_uploading_a_bomb_as_thumbnail_gets_a_400_and_no_session(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    form = aiohttp.FormData()
    for key, value in session_fields(domain_tags="python").items():
        form.add_field(key, str(value))
    form.add_field("thumbnail", _bomb(), filename="cover.png", content_type="image/png")
    response = await api.post("/api/sessions", data=form)
    body = await response.json()
    assert response.status == 400, body
    assert body["field"] == "thumbnail"
    mine = await api.json("GET", "/api/sessions/mine", 200)
    assert not (mine["sessions"] if isinstance(mine, dict) else mine)
