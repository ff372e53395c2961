"""Where a track is recorded: each publication to its own WebM (VP8/Opus) or MKV (H.264) file.

Each recorded publication gets a `TrackRecording`, one more sink on its forwarder:
on the event loop it only enqueues the shared av.Packet with its timestamp; the
writer thread copies and muxes it (`writer`). A publication that is rebound after a
reconnect keeps writing to the same file.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from pathlib import Path
from typing import Any

import av

from media_server.events import RecordedFile
from media_server.publication import Publication
from media_server.recording.writer import TrackFile, run_writer


class TrackRecording:
    """The forwarder sink of one recorded publication."""

    def __init__(self, inbox: queue.Queue[tuple[Any, ...]], publication_id: str) -> None:
        self._inbox = inbox
        self._id = publication_id

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        self._inbox.put(("frame", self._id, packet, packet.pts, keyframe, time.monotonic()))

    def close(self) -> None:
        self._inbox.put(("close", self._id))


class Recorder:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.start = time.monotonic()
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._files: dict[str, TrackFile] = {}
        self._known: dict[str, tuple[Publication, TrackRecording]] = {}
        self._thread = threading.Thread(
            target=run_writer, args=(self._inbox, self.start, self._files), name="recorder", daemon=True
        )
        self._thread.start()
        self._finished = False

    def add(self, publication: Publication) -> None:
        """Record `publication` from its next frame on (again after a remove: same file)."""
        if self._finished:
            return
        pub_id = publication.id
        known = self._known.get(pub_id)
        if known is None:
            codec = publication.codec.name if publication.kind == "video" else "opus"
            ext = "mkv" if codec == "H264" else "webm"
            name = f"{publication.user_id}-{publication.source}-{pub_id}.{ext}"
            meta = {"user_id": publication.user_id, "participant_id": publication.participant_id,
                    "source": publication.source, "kind": publication.kind, "codec": codec}
            track = TrackFile(self.directory / name, codec, publication.codec.clock_rate, meta)
            self._inbox.put(("open", pub_id, track))
            known = self._known[pub_id] = (publication, TrackRecording(self._inbox, pub_id))
        publication.forwarder.add(known[1])

    def remove(self, publication: Publication) -> None:
        known = self._known.get(publication.id)
        if known is not None:
            publication.forwarder.remove(known[1])
        self._inbox.put(("close", publication.id))

    async def finish(self) -> list[RecordedFile]:
        if not self._finished:
            self._finished = True
            for publication, sink in self._known.values():
                publication.forwarder.remove(sink)
            self._inbox.put(("stop",))
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        files = []
        for track in self._files.values():
            if track.frames == 0 or track.first_pts is None:
                continue
            meta = track.meta
            files.append(
                RecordedFile(
                    path=track.path,
                    user_id=meta["user_id"],
                    participant_id=meta["participant_id"],
                    source=meta["source"],
                    kind=meta["kind"],
                    codec=meta["codec"],
                    frames=track.frames,
                    start_offset=track.first_pts / track.clock_rate,
                    duration=(track.last_pts - track.first_pts) / track.clock_rate,
                )
            )
        return files
