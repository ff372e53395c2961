"""The event bus: what every implementation promises, and the recovery rule they share.

Callers publish *after* the database commit that caused an event, never before (services do it
through web.realtime.outbox, which waits for the commit): a
listener that reacts by reading the database must find the change already there, and
an event for a rolled-back change must never reach a browser. Typical use::

    async with db.session() as session:
        booking = ...
        await session.commit()
    await bus.publish(mentor_channel(mentor_id), "new_booking", {"booking_id": booking.id})

Delivery (Centrifugo's semantics): every publication on a channel gets the next integer
`id` within the channel's `epoch`; history keeps the last `history_size` publications for
`history_ttl_seconds`; a reconnecting client resumes from the last (id, epoch) it saw and
either gets every missed publication in order or `recovered=False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from web.realtime.envelope import Envelope, Position, Recovery


class BusError(RuntimeError):
    """Base of the bus's own errors."""


class BusUnavailable(BusError):
    """The shared broker (Redis) cannot be reached; in-process parts keep working."""


class Listener(Protocol):
    """Receives a channel's publications in id order, in the process that subscribed.

    Both methods run on the event loop and must not block: the hub only queues.
    """

    def on_event(self, envelope: Envelope) -> None: ...

    def on_lost(self, channel: str, position: Position) -> None:
        """Publications before `position` were missed and cannot be replayed (a broker outage
        longer than the history, or a flushed broker); delivery goes on after `position`."""
        ...


@dataclass(frozen=True)
class HistoryPolicy:
    history_size: int = 500
    history_ttl_seconds: float = 3600.0
    # More missed publications than this are not replayed: reloading from the API is cheaper.
    max_replay: int = 500

    @property
    def ttl_ms(self) -> int:
        return int(self.history_ttl_seconds * 1000)


class EventBus(Protocol):
    policy: HistoryPolicy

    async def start(self) -> None:
        """Open connections and background readers (called once from the app's cleanup_ctx)."""
        ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, event: str, data: dict[str, Any], *, key: str | None = None) -> Envelope:
        """Store the publication in the channel's history and fan it out to every process.

        `key` makes a retry safe: a publication whose reply was lost (a timeout) may have happened,
        and publishing again with the same key answers the first one's id instead of a second copy.
        Raises BusUnavailable when the broker is unreachable.
        """
        ...

    async def subscribe(self, channel: str, listener: Listener) -> None:
        """Deliver this channel's publications to `listener` from now on."""
        ...

    async def unsubscribe(self, channel: str, listener: Listener) -> None: ...

    async def position(self, channel: str) -> Position: ...

    async def recover(self, channel: str, since_id: int, epoch: str) -> Recovery: ...

    async def new_epoch(self, channel: str) -> None:
        """Publications of `channel` were lost before they got an id (dropped while the broker
        was away): start a new epoch, so every resume from before answers `recovered=False`,
        and tell this process's listeners `on_lost`."""
        ...

    async def ping(self) -> None:
        """Readiness: raises BusUnavailable when the broker cannot be reached."""
        ...


def decide_recovery(
    since_id: int,
    since_epoch: str,
    position: Position,
    after_since: list[Envelope],
    policy: HistoryPolicy,
    now_ms: int,
) -> Recovery:
    """The one recovery rule both buses apply.

    `after_since` holds what the store still has with id > since_id, oldest first, at least
    `policy.max_replay + 1` of them when that many exist.
    """
    refused = Recovery(False, [])
    if since_epoch != position.epoch or since_id < 0 or since_id > position.id:
        return refused
    missed = position.id - since_id
    if missed == 0:
        return Recovery(True, [])
    if missed > policy.max_replay:
        return refused
    # Checked against the counter too, so Redis's approximate MAXLEN trimming (which keeps
    # extra entries) cannot make the window larger than configured.
    if since_id < position.id - policy.history_size:
        return refused
    replay = after_since[:missed]
    if len(replay) < missed or replay[0].id != since_id + 1:
        return refused
    if replay[0].ts < now_ms - policy.ttl_ms:
        return refused
    return Recovery(True, replay)
