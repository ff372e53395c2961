"""Codec facts the forwarder needs: which codecs we forward, keyframes, picture size."""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

SOURCES = {"camera": "video", "screen": "video", "microphone": "audio"}
VIDEO_CODECS = ("VP8", "H264")


@dataclass(frozen=True)
class CodecChoice:
    """The one codec a publication is negotiated with (and forwarded as)."""

    mime_type: str  # e.g. "video/VP8"
    clock_rate: int
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.mime_type.split("/")[1]

    @property
    def kind(self) -> str:
        return self.mime_type.split("/")[0]

    def preferences(self) -> list[RTCRtpCodecCapability]:
        """setCodecPreferences() list: this codec (plus RTX for video) and nothing else."""
        caps = RTCRtpSender.getCapabilities(self.kind).codecs
        params = dict(self.parameters)
        chosen = [
            c
            for c in caps
            if c.mimeType.lower() == self.mime_type.lower()
            and {k: str(v) for k, v in c.parameters.items()} == params
        ][:1]
        if not chosen:
            raise ValueError(f"codec {self.mime_type} {params} is not supported")
        if self.kind == "video":
            chosen += [c for c in caps if c.mimeType.lower() == "video/rtx"]
        return chosen


def codec_for(source: str, name: str | None = None) -> CodecChoice:
    kind = SOURCES[source]
    if kind == "audio":
        return CodecChoice("audio/opus", 48000)
    name = (name or "VP8").upper()
    if name == "VP8":
        return CodecChoice("video/VP8", 90000)
    if name == "H264":
        return CodecChoice(
            "video/H264",
            90000,
            (("level-asymmetry-allowed", "1"), ("packetization-mode", "1"), ("profile-level-id", "42e01f")),
        )
    raise ValueError(f"unsupported video codec {name!r}")


def is_keyframe(codec_name: str, data: bytes) -> bool:
    if not data:
        return False
    if codec_name == "VP8":
        # RFC 6386 9.1: bit 0 of the frame tag is 0 for a key frame, which also
        # carries the start code 9d 01 2a (so a truncated frame is never taken for one).
        return data[0] & 1 == 0 and data[3:6] == b"\x9d\x01\x2a"
    if codec_name == "H264":
        return _h264_has_idr(data)
    return True  # audio frames are all independent


def _h264_has_idr(data: bytes) -> bool:
    i = data.find(b"\x00\x00\x01")
    while i != -1 and i + 3 < len(data):
        nal_type = data[i + 3] & 0x1F
        if nal_type in (5, 7):  # IDR slice or SPS (sent right before an IDR)
            return True
        i = data.find(b"\x00\x00\x01", i + 3)
    return False


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame header (RFC 6386 9.1), else None."""
    if len(data) < 10 or data[0] & 1 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height
