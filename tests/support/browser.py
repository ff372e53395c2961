"""Launching Debian's Chromium for page tests (facts: shared/notes/browser-testing.md)."""

from __future__ import annotations

import os
import shutil

# Playwright passes its own --disable-features list and Chromium honours only the last one, so ours
# repeats Playwright's list (playwright/_impl/_browser_type.py, re-check on upgrade) plus the mDNS switch.
_PLAYWRIGHT_DISABLED = ",".join((
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
))
DISABLED_FEATURES = _PLAYWRIGHT_DISABLED + ",WebRtcHideLocalIpsWithMdns"


def chromium_executable() -> str:
    for candidate in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.path.exists(candidate):
            return candidate
    found = shutil.which("chromium")
    if not found:
        raise RuntimeError("Chromium is not installed: run scripts/test.sh, which installs Debian's chromium")
    return found


def chromium_args(*, fake_ui: bool = True) -> list[str]:
    args = [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
        "--allow-loopback-in-peer-connection", f"--disable-features={DISABLED_FEATURES}",
    ]
    if fake_ui:
        args.append("--use-fake-ui-for-media-stream")
    return args
