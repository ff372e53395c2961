"""Recordings: a recorded session's media composed into one MP4 while the session runs, its download and
what sits beside it (raw tracks, chat transcript, whiteboard), who may fetch it, and how long it is kept.

`service.py` (rows from the node's reports, the end of a session, share/retry/delete), `pipeline.py`
(the compose job: parts, then the join and what goes with it), `artifacts.py` (transcript, whiteboard
PNG, raw zip), `queries.py` (reads and who may download), `schemas.py`, `storage.py` (paths under
`[recordings] dir`), `tasks.py` (job bodies), `endpoints.py` (routes); `compose/` holds the
composition itself (no aiohttp, no database). Imports room, sessions, realtime and the shell.
"""
