"""The scaled-out bus: history in one Redis Stream per channel, live fan-out over pub/sub.

Keys per channel (the `{...}` hash tag keeps a channel's keys in one cluster slot):

- `{prefix}{<channel>}:meta`: hash with `epoch` and `seq` (the last id handed out). Created
  with a fresh random epoch when missing, so a flushed or restarted Redis is a new epoch.
  It carries no TTL: a few bytes per channel that ever had a publication.
- `{prefix}{<channel>}:stream`: the history. Entry ids are `<id>-0`, so the stream id *is*
  the channel's integer id. Trimmed with `MAXLEN ~ history_size` and expired as a whole
  `history_ttl_seconds` after the last publication; the exact window is enforced by
  `decide_recovery`.
- `{prefix}live:<channel>`: the pub/sub channel carrying each envelope as JSON.

Assigning the id, appending to the stream and publishing happen in one Lua script, so the
pub/sub order of a channel is its id order. The reader fills any gap it sees (a message
lost while the pub/sub connection was down) from the stream before delivering, and tells
its listeners `on_lost` when the gap is no longer in history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from media_server.cancellation import raise_if_cancelling
from models.clock import Clock, SystemClock
from web.realtime.bus import BusUnavailable, HistoryPolicy, Listener, decide_recovery
from web.realtime.envelope import Envelope, Position, Recovery, millis

log = logging.getLogger(__name__)

_ENSURE = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
"""

_APPEND = """
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'j', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[5], '{"id":' .. seq .. ',"epoch":"' .. epoch .. '",' .. ARGV[4])
"""

_PUBLISH = _ENSURE + _APPEND + "return {epoch, seq}\n"

# With an idempotency key (KEYS[3]): a retry of a publication that already ran (its reply lost to a
# timeout) answers the first one's id instead of publishing a second copy.
_PUBLISH_ONCE = (
    _ENSURE
    + """
local done = redis.call('GET', KEYS[3])
if done then
  return {epoch, tonumber(done)}
end
"""
    + _APPEND
    + """
redis.call('SET', KEYS[3], seq, 'PX', ARGV[6])
return {epoch, seq}
"""
)
# How long a publication's idempotency key is remembered.
_KEY_TTL_MS = 10 * 60 * 1000

_READ = (
    _ENSURE
    + """
local seq = redis.call('HGET', KEYS[1], 'seq')
local entries = {}
if ARGV[2] ~= '' then
  entries = redis.call('XRANGE', KEYS[2], ARGV[2], '+', 'COUNT', ARGV[3])
end
return {epoch, seq, entries}
"""
)

_OUTAGE_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
# Short: while the reader is away, live events wait for it (replayed from the stream).
_MAX_RECONNECT_SECONDS = 5.0


@dataclass
class _Channel:
    listeners: list[Listener] = field(default_factory=list)
    # The last position delivered to the listeners; None until the subscription is confirmed.
    last: Position | None = None
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)


class RedisBus:
    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "mentorlive:bus:",
        policy: HistoryPolicy | None = None,
        clock: Clock | None = None,
        reconnect_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.policy = policy or HistoryPolicy()
        self.clock: Clock = clock or SystemClock()
        self._reconnect_seconds = reconnect_seconds
        self._publish_script = client.register_script(_PUBLISH)
        self._publish_once_script = client.register_script(_PUBLISH_ONCE)
        self._read_script = client.register_script(_READ)
        self._channels: dict[str, _Channel] = {}
        self._pubsub: PubSub = client.pubsub()
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        client_name: str = "mentorlive-bus",
        connect_timeout: float = 2.0,
        socket_timeout: float = 5.0,
        **kwargs: Any,
    ) -> RedisBus:
        # Named so operators can tell the bus's connections apart in CLIENT LIST.
        client = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            client_name=client_name,
        )
        return cls(client, **kwargs)

    # keys

    def _meta_key(self, channel: str) -> str:
        return f"{self.prefix}{{{channel}}}:meta"

    def _stream_key(self, channel: str) -> str:
        return f"{self.prefix}{{{channel}}}:stream"

    def _live_name(self, channel: str) -> str:
        return f"{self.prefix}live:{channel}"

    def _channel_of(self, live_name: str) -> str:
        return live_name[len(self.prefix) + len("live:") :]

    # lifecycle

    async def start(self) -> None:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_loop(), name="redis-bus-reader")

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        with contextlib.suppress(*_OUTAGE_ERRORS):
            await self._pubsub.aclose()
        await self.client.aclose()
        self._channels.clear()

    async def ping(self) -> None:
        try:
            await self.client.ping()
        except _OUTAGE_ERRORS as exc:
            raise BusUnavailable(f"Redis unreachable: {exc}") from exc

    # publishing and history

    async def publish(self, channel: str, event: str, data: dict[str, Any], *, key: str | None = None) -> Envelope:
        ts = millis(self.clock.now())
        # The envelope minus its first brace: the script prepends id and epoch.
        rest = json.dumps({"channel": channel, "event": event, "data": data, "ts": ts}, separators=(",", ":"))
        keys = [self._meta_key(channel), self._stream_key(channel)]
        args: list[Any] = [
            secrets.token_hex(6),
            self.policy.history_size,
            self.policy.ttl_ms,
            rest[1:],
            self._live_name(channel),
        ]
        script = self._publish_script
        if key is not None:
            script = self._publish_once_script
            keys.append(f"{self.prefix}{{{channel}}}:once:{key}")
            args.append(_KEY_TTL_MS)
        try:
            epoch, seq = await script(keys=keys, args=args)
        except _OUTAGE_ERRORS as exc:
            raise BusUnavailable(f"cannot publish {event} on {channel}: Redis unreachable ({exc})") from exc
        return Envelope(channel, event, data, int(seq), ts, str(epoch))

    async def _read(self, channel: str, after_id: int | None) -> tuple[Position, list[Envelope]]:
        try:
            epoch, seq, entries = await self._read_script(
                keys=[self._meta_key(channel), self._stream_key(channel)],
                args=[
                    secrets.token_hex(6),
                    "" if after_id is None else f"{after_id + 1}-0",
                    self.policy.max_replay + 1,
                ],
            )
        except _OUTAGE_ERRORS as exc:
            raise BusUnavailable(f"cannot read {channel}: Redis unreachable ({exc})") from exc
        position = Position(str(epoch), int(seq))
        envelopes = []
        for entry_id, fields in entries:
            body = json.loads("{" + dict(zip(fields[::2], fields[1::2], strict=True))["j"])
            body.update(id=int(entry_id.split("-", 1)[0]), epoch=position.epoch)
            envelopes.append(Envelope.from_dict(body))
        return position, envelopes

    async def position(self, channel: str) -> Position:
        position, _ = await self._read(channel, None)
        return position

    async def new_epoch(self, channel: str) -> None:
        try:
            await self.client.delete(self._meta_key(channel), self._stream_key(channel))
        except _OUTAGE_ERRORS as exc:
            raise BusUnavailable(f"cannot renew {channel}: Redis unreachable ({exc})") from exc
        # Other processes see the new epoch on the channel's next publication (`_handle`).
        position = await self.position(channel)
        state = self._channels.get(channel)
        if state is not None and state.last is not None:
            self._lost(channel, state, position)

    async def recover(self, channel: str, since_id: int, epoch: str) -> Recovery:
        position, after = await self._read(channel, max(since_id, 0))
        return decide_recovery(since_id, epoch, position, after, self.policy, millis(self.clock.now()))

    # live fan-out

    async def subscribe(self, channel: str, listener: Listener) -> None:
        state = self._channels.get(channel)
        if state is not None:
            state.listeners.append(listener)
            return
        state = _Channel(listeners=[listener])
        self._channels[channel] = state
        try:
            await self._pubsub.subscribe(self._live_name(channel))
            # Only once Redis confirms the subscription is every later publication sure to arrive.
            await asyncio.wait_for(state.confirmed.wait(), timeout=5)
            position = await self.position(channel)
        except (*_OUTAGE_ERRORS, TimeoutError, BusUnavailable) as exc:
            self._channels.pop(channel, None)
            raise BusUnavailable(f"cannot subscribe to {channel}: {exc}") from exc
        except BaseException:
            # Cancelled (a caller's timeout): leave no half-made channel behind.
            if self._channels.get(channel) is state:
                del self._channels[channel]
            raise
        if state.last is None:
            state.last = position

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        state = self._channels.get(channel)
        if state is None:
            return
        if listener in state.listeners:
            state.listeners.remove(listener)
        if not state.listeners:
            del self._channels[channel]
            # While Redis is away the reader resubscribes from _channels, so this can wait.
            with contextlib.suppress(*_OUTAGE_ERRORS):
                await self._pubsub.unsubscribe(self._live_name(channel))

    async def _read_loop(self) -> None:
        delay = self._reconnect_seconds
        resubscribe = False
        while not self._closed:
            raise_if_cancelling()
            try:
                if resubscribe and self._channels:
                    await self._pubsub.subscribe(*(self._live_name(c) for c in self._channels))
                resubscribe = False
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                delay = self._reconnect_seconds
                if message is not None:
                    await self._handle(message)
            except (*_OUTAGE_ERRORS, BusUnavailable) as exc:
                log.warning("Redis bus reader lost its connection (%s); retrying in %.1fs", exc, delay)
                with contextlib.suppress(*_OUTAGE_ERRORS):
                    await self._pubsub.aclose()
                self._pubsub = self.client.pubsub()
                resubscribe = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_RECONNECT_SECONDS)
            except Exception:
                # A malformed message or a listener bug must not end fan-out for everyone.
                log.exception("Redis bus reader failed on a message")

    async def _handle(self, message: dict[str, Any]) -> None:
        channel = self._channel_of(str(message["channel"]))
        state = self._channels.get(channel)
        if state is None:
            return
        if message["type"] == "subscribe":
            state.confirmed.set()
            if state.last is not None:
                # A resubscription after an outage: replay what was published meanwhile.
                await self._catch_up(channel, state)
            return
        if message["type"] != "message":
            return
        envelope = Envelope.from_dict(json.loads(message["data"]))
        last = state.last
        if last is not None and envelope.epoch == last.epoch:
            if envelope.id <= last.id:
                return
            if envelope.id > last.id + 1:
                await self._catch_up(channel, state)
                if state.last is not None and envelope.id <= state.last.id:
                    return
        elif last is not None:
            # Redis lost the channel's history (flushed or restarted): nothing can be replayed.
            self._lost(channel, state, Position(envelope.epoch, envelope.id - 1))
        self._deliver(state, envelope)

    async def _catch_up(self, channel: str, state: _Channel) -> None:
        last = state.last
        assert last is not None
        position, after = await self._read(channel, last.id)
        recovery = decide_recovery(last.id, last.epoch, position, after, self.policy, millis(self.clock.now()))
        if not recovery.recovered:
            self._lost(channel, state, position)
            return
        for envelope in recovery.publications:
            self._deliver(state, envelope)

    def _deliver(self, state: _Channel, envelope: Envelope) -> None:
        state.last = Position(envelope.epoch, envelope.id)
        for listener in list(state.listeners):
            try:
                listener.on_event(envelope)
            except Exception:
                log.exception("listener failed on %s", envelope.channel)

    def _lost(self, channel: str, state: _Channel, position: Position) -> None:
        state.last = position
        for listener in list(state.listeners):
            try:
                listener.on_lost(channel, position)
            except Exception:
                log.exception("listener failed on loss of %s", channel)
