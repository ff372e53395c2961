"""The composition of a recording, without aiohttp or a database: one window of per-track files to an
MP4 part (`part.py`, from `timeline`, `layout`, `pictures`, `audio`, `labels`), and the parts joined
without re-encoding (`join.py`). Everything here is synchronous and runs off the event loop."""
