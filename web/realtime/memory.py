"""The default bus: one process, history in bounded per-channel buffers."""

from __future__ import annotations

import logging
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from models.clock import Clock, SystemClock
from web.realtime.bus import HistoryPolicy, Listener, decide_recovery
from web.realtime.envelope import Envelope, Position, Recovery, millis

log = logging.getLogger(__name__)

# Every this many publications, expired history is dropped from every channel, so idle
# channels do not keep their last `history_size` events for the life of the process.
_SWEEP_EVERY = 1024


@dataclass
class _Stream:
    history: deque[Envelope]
    epoch: str
    last_id: int = 0
    listeners: list[Listener] = field(default_factory=list)


class InProcessBus:
    """History lives as long as this object: a new instance is a new epoch for every channel."""

    def __init__(self, policy: HistoryPolicy | None = None, clock: Clock | None = None) -> None:
        self.policy = policy or HistoryPolicy()
        self.clock: Clock = clock or SystemClock()
        self.epoch = secrets.token_hex(6)
        self._streams: dict[str, _Stream] = {}
        self._publishes = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._streams.clear()

    async def ping(self) -> None:
        return None

    def _stream(self, channel: str) -> _Stream:
        stream = self._streams.get(channel)
        if stream is None:
            stream = _Stream(history=deque(maxlen=self.policy.history_size), epoch=self.epoch)
            self._streams[channel] = stream
        return stream

    def _expire(self, stream: _Stream, now_ms: int) -> None:
        oldest_allowed = now_ms - self.policy.ttl_ms
        while stream.history and stream.history[0].ts < oldest_allowed:
            stream.history.popleft()

    async def publish(self, channel: str, event: str, data: dict[str, Any], *, key: str | None = None) -> Envelope:
        # `key` needs no bookkeeping here: a publication in this process either happened or raised.
        stream = self._stream(channel)
        now_ms = millis(self.clock.now())
        self._expire(stream, now_ms)
        self._publishes += 1
        if self._publishes % _SWEEP_EVERY == 0:
            # Only envelopes go: each channel keeps its last id, so ids never repeat in an epoch.
            for other in self._streams.values():
                self._expire(other, now_ms)
        stream.last_id += 1
        envelope = Envelope(channel, event, data, stream.last_id, now_ms, stream.epoch)
        stream.history.append(envelope)
        for listener in list(stream.listeners):
            try:
                listener.on_event(envelope)
            except Exception:
                # One broken listener must not stop the publisher or the other listeners.
                log.exception("listener failed on %s", channel)
        return envelope

    async def subscribe(self, channel: str, listener: Listener) -> None:
        self._stream(channel).listeners.append(listener)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        stream = self._streams.get(channel)
        if stream is None:
            return
        if listener in stream.listeners:
            stream.listeners.remove(listener)
        if not stream.listeners and not stream.history and stream.last_id == 0 and stream.epoch == self.epoch:
            del self._streams[channel]

    async def position(self, channel: str) -> Position:
        stream = self._streams.get(channel)
        return Position(stream.epoch, stream.last_id) if stream else Position(self.epoch, 0)

    async def new_epoch(self, channel: str) -> None:
        stream = self._stream(channel)
        stream.epoch = secrets.token_hex(6)
        stream.history.clear()
        position = Position(stream.epoch, stream.last_id)
        for listener in list(stream.listeners):
            try:
                listener.on_lost(channel, position)
            except Exception:
                log.exception("listener failed on loss of %s", channel)

    async def recover(self, channel: str, since_id: int, epoch: str) -> Recovery:
        stream = self._streams.get(channel)
        now_ms = millis(self.clock.now())
        if stream is None:
            return decide_recovery(since_id, epoch, Position(self.epoch, 0), [], self.policy, now_ms)
        self._expire(stream, now_ms)
        after = [env for env in stream.history if env.id > since_id][: self.policy.max_replay + 1]
        return decide_recovery(since_id, epoch, Position(stream.epoch, stream.last_id), after, self.policy, now_ms)
