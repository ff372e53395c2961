"""Counts every aiortc decoder/encoder created or used while active: proof of no transcoding.

Wraps the factories where aiortc looks them up and the decode/encode methods of
every codec class, and restores them on exit. Tests and the benchmark's SFU
process use it; the server never needs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiortc.codecs as codecs_module
import aiortc.rtcrtpreceiver as receiver_module
import aiortc.rtcrtpsender as sender_module
from aiortc.codecs import base


@dataclass
class CodecCounter:
    decoders_created: int = 0
    encoders_created: int = 0
    decode_calls: int = 0
    encode_calls: int = 0
    by_class: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.decoders_created + self.encoders_created + self.decode_calls + self.encode_calls

    def as_dict(self) -> dict[str, int]:
        return {
            "decoders_created": self.decoders_created,
            "encoders_created": self.encoders_created,
            "decode_calls": self.decode_calls,
            "encode_calls": self.encode_calls,
        }


def _codec_classes() -> list[type]:
    found: list[type] = []
    pending: list[type] = [base.Decoder, base.Encoder]
    while pending:
        cls = pending.pop()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            if sub not in found:
                found.append(sub)
                pending.append(sub)
    return found


@contextlib.contextmanager
def count_codec_use() -> Iterator[CodecCounter]:
    counter = CodecCounter()
    restore: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        restore.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, value)

    original_get_decoder = codecs_module.get_decoder
    original_get_encoder = codecs_module.get_encoder

    def get_decoder(codec: Any) -> Any:
        counter.decoders_created += 1
        return original_get_decoder(codec)

    def get_encoder(codec: Any) -> Any:
        counter.encoders_created += 1
        return original_get_encoder(codec)

    for module in (codecs_module, receiver_module):
        patch(module, "get_decoder", get_decoder)
    for module in (codecs_module, sender_module):
        patch(module, "get_encoder", get_encoder)

    for cls in _codec_classes():
        for method, attr in (("decode", "decode_calls"), ("encode", "encode_calls")):
            if method not in cls.__dict__:
                continue
            original = cls.__dict__[method]

            def wrapped(
                self: Any, *args: Any, _o: Any = original, _a: str = attr, _c: str = cls.__name__, **kw: Any
            ) -> Any:
                setattr(counter, _a, getattr(counter, _a) + 1)
                counter.by_class[_c] = counter.by_class.get(_c, 0) + 1
                return _o(self, *args, **kw)

            patch(cls, method, wrapped)
    try:
        yield counter
    finally:
        for owner, name, value in reversed(restore):
            setattr(owner, name, value)
