"""Run as a script: decode the given image files at once through web.images.prepare_image and print, as JSON,
how far the process's peak RSS grew and how each upload was answered.

A subprocess of its own, so the peak belongs to these decodes alone (Pillow allocates outside Python's
allocator, which tracemalloc cannot see). Usage: python -m tests.support.image_memory CONCURRENT FILE...
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

from aiohttp import web

from web import images
from web.errors import ApiError


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


async def _one(app: web.Application, data: bytes, rules: images.ImageRules) -> str:
    try:
        return f"jpeg:{len(await images.prepare_image(app, data, rules))}"
    except ApiError as exc:
        return f"{exc.status}:{exc.message}"


async def main(concurrent: int, paths: list[Path]) -> None:
    datas = [path.read_bytes() for path in paths]
    rules = images.ImageRules(
        noun="thumbnail", field="thumbnail", max_bytes=5 * 1024 * 1024, size=640, directory=Path(".")
    )
    app = web.Application()
    app[images.IMAGE_DECODES] = asyncio.Semaphore(concurrent)
    before = _peak_mib()
    answers = await asyncio.gather(*(_one(app, data, rules) for data in datas))
    print(json.dumps({"growth_mib": _peak_mib() - before, "answers": answers}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), [Path(p) for p in sys.argv[2:]]))
