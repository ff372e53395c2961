"""The media node on uvloop: a real join with media in a process whose loop is uvloop.

The rest of the suite runs on asyncio's loop; this keeps the production loop covered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.media
ROOT = Path(__file__).resolve().parents[3]


def test_a_join_with_media_on_uvloop() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.sfu.join_probe", "--event-loop", "uvloop", "--settle", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loop"] == "uvloop"
    assert result["video_frames"] >= 30 and result["audio_frames"] >= 25
