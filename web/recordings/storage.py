"""Where a recording's files live: under `[recordings] dir` (a relative setting resolves under the project's
folder), the media node's track files in `{room_code}/`, what is composed in `{room_code}/composed/`.
Rows keep paths relative to that folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from web.config import Config
from web.recordings.compose.part import ComposeSettings

COMPOSED = "composed"


def recordings_root(config: Config) -> Path:
    return config.data_path("recordings", "dir")


def relative(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def absolute(root: Path, stored: str) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else root / path


def composed_dir(root: Path, room_code: str) -> Path:
    return root / room_code / COMPOSED


def part_name(run: str, index: int) -> str:
    return f"part-{run}-{index:05d}.mp4"


def compose_settings(config: Config) -> ComposeSettings:
    return ComposeSettings(fps=config.int("recordings", "fps"), crf=config.int("recordings", "crf"),
                           preset=config.str("recordings", "preset"), threads=config.int("recordings", "threads"))


def disk_usage(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def remove_room_files(root: Path, room_code: str) -> None:
    """Every file of the room's recording: the track files and what was composed from them."""
    folder = root / room_code
    if folder.resolve().parent == root.resolve():
        shutil.rmtree(folder, ignore_errors=True)
