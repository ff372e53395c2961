"""Versioned model artifacts in the data folder, and the web process's copy of the newest one.

`train` writes `model-<version>.pkl` beside a `CURRENT` file naming it (written by rename, so readers see
the old name or the new one, never half of either). A web process looks at CURRENT's mtime at most every
`[recommend] check_seconds`, loads a changed model off the event loop and swaps one reference: requests
in flight keep the model they started with, and nobody restarts anything.

The pickles are written by this process's own `mentorlive recommend train` into the data folder, never
taken from users.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import time
from pathlib import Path

from web.recommend.ranking.model import Model

log = logging.getLogger(__name__)
POINTER = "CURRENT"
KEEP = 3


class ModelStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, model: Model) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"model-{model.version}.pkl"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
        pointer = self.directory / f"{POINTER}.tmp"
        pointer.write_text(path.name)
        os.replace(pointer, self.directory / POINTER)
        self._prune(keep=path.name)
        return path

    def pointer_mtime(self) -> int | None:
        try:
            return (self.directory / POINTER).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def load_current(self) -> Model | None:
        try:
            name = (self.directory / POINTER).read_text().strip()
            model = pickle.loads((self.directory / name).read_bytes())
        except FileNotFoundError:
            return None
        return model if isinstance(model, Model) else None

    def _prune(self, keep: str) -> None:
        models = sorted(self.directory.glob("model-*.pkl"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in models[KEEP:]:
            if old.name != keep:
                old.unlink(missing_ok=True)


class ModelCache:
    """The model this process serves; refreshed from the store when CURRENT changes."""

    def __init__(self, store: ModelStore, *, check_seconds: float) -> None:
        self.store = store
        self.check_seconds = check_seconds
        self.model: Model | None = None
        self._seen: int | None = None
        self._checked = -float("inf")
        self._lock = asyncio.Lock()

    async def current(self) -> Model | None:
        now = time.monotonic()
        if now - self._checked < self.check_seconds:
            return self.model
        async with self._lock:
            if time.monotonic() - self._checked < self.check_seconds:
                return self.model
            self._checked = time.monotonic()
            mtime = self.store.pointer_mtime()
            if mtime is not None and mtime != self._seen:
                try:
                    model = await asyncio.to_thread(self.store.load_current)
                except Exception:
                    log.exception("loading the recommendation model failed; keeping the one loaded")
                else:
                    if model is not None:
                        self.model, self._seen = model, mtime
                        log.info("recommendation model %s loaded", model.version)
        return self.model
