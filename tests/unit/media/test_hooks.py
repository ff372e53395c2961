"""Fails loudly when an aiortc upgrade moves a private name the SFU relies on."""

import importlib.metadata

from media_server.aiortc_hooks.checks import check_hooks


async def test_every_private_aiortc_name_is_still_there() -> None:
    assert check_hooks() == []


def test_aiortc_is_the_pinned_version() -> None:
    # The hooks were read against this exact version; re-read them before bumping the pin.
    assert importlib.metadata.version("aiortc") == "1.16.0"


def test_pylibsrtp_is_the_pinned_version() -> None:
    # SrtpProtector uses the session's private handle and buffer, read against this version.
    assert importlib.metadata.version("pylibsrtp") == "1.0.0"
