from media_server.quality.scoring import Sample, Smoothed, TrackWindow, level_for

Point = tuple[float, int, int, float, float | None, int, int]


def window(kind: str, direction: str, points: list[Point]) -> TrackWindow:
    w = TrackWindow(kind, direction, "camera" if kind == "video" else "microphone", 5.0)
    for p in points:
        w.add(Sample(*p))
    return w


def test_clean_upload_is_excellent() -> None:
    w = window("video", "upload", [(0, 0, 0, 0.002, None, 0, 0), (2, 600, 0, 0.002, None, 60, 60)])
    verdict = w.verdict(False, 0.01)
    assert verdict is not None and level_for(verdict.score) == "excellent" and verdict.reason == ""


def test_loss_on_upload_is_named_with_its_share() -> None:
    w = window("video", "upload", [(0, 0, 0, 0.0, None, 0, 0), (2, 880, 120, 0.0, None, 60, 60)])
    verdict = w.verdict(False, None)
    assert verdict is not None and verdict.reason == "12% packet loss on your upload"
    assert level_for(verdict.score) == "poor"


def test_no_frames_from_an_unmuted_source_is_lost_and_muted_is_not() -> None:
    w = window("video", "upload", [(0, 100, 0, 0.0, None, 10, 10), (3, 100, 0, 0.0, None, 10, 10)])
    lost = w.verdict(False, None)
    assert lost is not None and lost.score == 0 and "no video" in lost.reason
    muted = w.verdict(True, None)
    assert muted is not None and muted.score == 100


def test_subscriber_that_skips_frames_is_downgraded() -> None:
    w = window("video", "download", [(0, 0, 0, 0.0, 0.02, 0, 0), (2, 500, 0, 0.0, 0.02, 30, 60)])
    verdict = w.verdict(False, None)
    assert verdict is not None and verdict.score == 50 and "frames skipped on your download" in verdict.reason


def test_high_delay_counts() -> None:
    w = window("audio", "download", [(0, 0, 0, 0.1, 0.4, 0, 0), (2, 100, 0, 0.1, 0.4, 100, 100)])
    verdict = w.verdict(False, None)
    assert verdict is not None and "high delay (400 ms)" in verdict.reason and verdict.score < 90


def test_smoothing_falls_fast_and_rises_slowly() -> None:
    s = Smoothed()
    assert s.update(100) == 100
    assert s.update(30) == 30
    assert 30 < s.update(100) < 60
    for _ in range(10):
        value = s.update(100)
    assert value > 95
