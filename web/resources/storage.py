"""Where resource files live: resources/ under the data folder (`[paths] data_dir`), each under a random name.

Uploads stream into resources/.incoming/ first and are moved into place only once accepted,
so a refused or interrupted upload never leaves a file that a row could point at.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from web.config import Config

INCOMING = ".incoming"


@dataclass(frozen=True)
class ResourceStore:
    directory: Path

    def incoming_path(self) -> Path:
        """A fresh path for an upload still arriving."""
        folder = self.directory / INCOMING
        folder.mkdir(parents=True, exist_ok=True)
        return folder / secrets.token_urlsafe(16)

    def keep(self, incoming: Path) -> str:
        """Move an accepted upload into place; returns the stored name a Resource row records."""
        name = secrets.token_urlsafe(24)
        os.replace(incoming, self.directory / name)
        return name

    def path_of(self, name: str) -> Path | None:
        # Names are ours (token_urlsafe), but a row is data: never let one step outside the folder.
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return None
        return self.directory / name

    def delete(self, name: str) -> None:
        path = self.path_of(name)
        if path is not None:
            path.unlink(missing_ok=True)


def resource_store(config: Config) -> ResourceStore:
    directory = config.data_dir / "resources"
    directory.mkdir(parents=True, exist_ok=True)
    return ResourceStore(directory)


def max_upload_bytes(config: Config) -> int:
    return config.int("resources", "max_bytes")
