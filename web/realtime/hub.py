"""`/ws`: one WebSocket per browser tab, many channel subscriptions on it.

Client → server (JSON text frames)::

    {"type": "subscribe", "channel": "sessions:abc", "since": {"id": 41, "epoch": "9f2c..."}}
    {"type": "subscribe", "channel": "sessions:abc", "presence": true}
    {"type": "unsubscribe", "channel": "sessions:abc"}
    {"type": "ping"}

Server → client::

    {"type": "subscribed", "channel", "recovered", "epoch", "id"}   then the missed events in order
    {"type": "event", "channel", "event", "data", "id", "ts", "epoch"}
    {"type": "error", "error": "...", "channel": "..."}
    {"type": "pong"}

`recovered` is true only when `since` was sent and every missed event follows; otherwise the
client reloads its state from the API and continues from (`epoch`, `id`). The same
`subscribed` message with `recovered: false` is sent again if the bus loses events while a
subscription is open (a Redis outage longer than the history).

`presence` (optional, default false) also announces this socket's user on the channel for as
long as the subscription lasts: the app's presence hook (`web.realtime.keys.PRESENCE`, see
web.realtime.presence) hears of the arrival once the subscription is granted, and of the
departure on unsubscribe, revoked access or socket close. On `sessions:{room_code}` that is
the room's lobby: a learner's presence publishes `learner.join` / `learner.leave`. Without a
registered hook the field is accepted and has no effect.

A signed-out socket is accepted and every subscribe gets `{"type": "error", "error":
"unauthenticated"}`: a browser cannot read an HTTP 401 at upgrade and would reconnect
forever, while an explicit error lets the page stop. The identity is read once, at upgrade.
At most `[hub] max_anonymous_per_address` signed-out sockets are open per client address;
one more is refused before the upgrade with HTTP 429 and `{"error": "too many signed-out
connections from this address"}`.

Channel names are accepted in canonical form only (web.realtime.channels: `notifications:05`
is an unknown channel, not another name for `notifications:5`). Nothing a client sent is
echoed back longer than 200 characters: an error's `channel` is at most the name's first 200.

Each socket has a send queue bounded in messages (`send_queue_size`) and in bytes
(`send_queue_bytes`), and all sockets of the process together in bytes
(`total_queue_bytes`). The publisher only ever enqueues; a socket whose queue would pass
its bound (a client too slow to read) is closed with code 4008 and forgotten at once, so it
never holds memory or slows the publisher and the other sockets. When the process-wide bound
would be passed, the socket holding the most queued bytes is closed the same way. One socket
holds at most `max_subscriptions` channels (one more gets the error "too many subscriptions").

A signed-in socket is re-checked with its subscriptions (`reauthorize`, every
`reauthorize_seconds`): once the sign-in it was opened with has ended (logout, a password
change, "sign out everywhere"), it gets `{"type": "error", "error": "signed_out"}` and is
closed with code 4401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy.exc import SQLAlchemyError

from media_server.cancellation import raise_if_cancelling
from models.db import Database
from web.http.body import client_address
from web.http.identity import Identity, current_identity, current_session_token, still_signed_in
from web.middlewares import refuse_cross_site
from web.realtime.authz import can_subscribe
from web.realtime.bus import BusUnavailable, EventBus
from web.realtime.channels import SESSIONS, parse_channel
from web.realtime.envelope import Envelope, Position
from web.realtime.keys import PRESENCE
from web.realtime.presence import PresenceHook

log = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 4008
# The sign-in the socket was opened with ended (logout, password change, sign out everywhere).
CLOSE_SIGNED_OUT = 4401
CLOSE_GOING_AWAY = 1001
_CLOSE_TIMEOUT = 2.0
_MAX_CHANNEL_LENGTH = 200
# The longest piece of client input quoted back in a reply.
ECHO_LIMIT = 200


@dataclass(frozen=True)
class HubSettings:
    send_queue_size: int = 256
    send_queue_bytes: int = 1 << 20
    total_queue_bytes: int = 64 << 20
    max_anonymous_per_address: int = 8
    max_subscriptions: int = 1000
    heartbeat_seconds: float = 20.0
    max_message_bytes: int = 65536
    # How often open `sessions:` subscriptions are checked again against their bookings.
    reauthorize_seconds: float = 60.0


@dataclass
class _Subscription:
    # Until the replay is sent, live events wait here so none is lost or sent twice.
    live: bool = False
    pending: list[Envelope] = field(default_factory=list)


@dataclass(eq=False)
class Connection:
    """One socket: created at upgrade, closed once, never reused."""

    ws: web.WebSocketResponse
    identity: Identity | None
    queue: asyncio.Queue[str]
    # Bytes of the frames in `queue` (JSON is ASCII, so characters are bytes).
    queued_bytes: int = 0
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    writer: asyncio.Task[None] | None = None
    closed: bool = False
    presence: PresenceHook | None = None
    # The server-side sign-in the upgrade carried; re-checked with the subscriptions.
    session_token: str | None = None
    # Channels whose presence hook heard `arrived` and not yet `departed`.
    present: set[str] = field(default_factory=set)


def _dumps(message: dict[str, Any]) -> str:
    # ensure_ascii (the default) keeps len(text) equal to the frame's size in bytes.
    return json.dumps(message, separators=(",", ":"))


def _echo(value: str) -> str:
    """What a reply may quote of a client's string: its first ECHO_LIMIT characters."""
    return value[:ECHO_LIMIT]


class Hub:
    """The process's only bus listener: fans each channel's events out to its sockets."""

    def __init__(self, bus: EventBus, db: Database, settings: HubSettings | None = None) -> None:
        self.bus = bus
        self.db = db
        self.settings = settings or HubSettings()
        self._sockets: dict[str, set[Connection]] = {}
        self._bus_subscriptions: dict[str, asyncio.Task[None]] = {}
        self._connections: set[Connection] = set()
        self._background: set[asyncio.Task[Any]] = set()
        # Signed-out sockets open per client address.
        self._anonymous: dict[str, int] = {}
        self.queued_bytes = 0
        self.slow_disconnects = 0
        self.anonymous_refusals = 0

    # introspection (tests, /metrics)

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def subscriber_count(self, channel: str) -> int:
        return len(self._sockets.get(channel, ()))

    def metrics(self) -> str:
        return (
            "# TYPE mentorlive_ws_connections gauge\n"
            f"mentorlive_ws_connections {self.connection_count}\n"
            "# TYPE mentorlive_ws_channels gauge\n"
            f"mentorlive_ws_channels {len(self._sockets)}\n"
            "# TYPE mentorlive_ws_slow_disconnects_total counter\n"
            f"mentorlive_ws_slow_disconnects_total {self.slow_disconnects}\n"
            "# TYPE mentorlive_ws_queued_bytes gauge\n"
            f"mentorlive_ws_queued_bytes {self.queued_bytes}\n"
            "# TYPE mentorlive_ws_anonymous_refusals_total counter\n"
            f"mentorlive_ws_anonymous_refusals_total {self.anonymous_refusals}\n"
        )

    # the endpoint

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # The cookie rides along on a cross-site handshake too: refuse other sites' pages first.
        refuse_cross_site(request)
        identity = await current_identity(request)
        address = client_address(request) if identity is None else None
        if address is not None:
            if self._anonymous.get(address, 0) >= self.settings.max_anonymous_per_address:
                self.anonymous_refusals += 1
                raise web.HTTPTooManyRequests(
                    text=_dumps({"error": "too many signed-out connections from this address"}),
                    content_type="application/json",
                )
            self._anonymous[address] = self._anonymous.get(address, 0) + 1
        try:
            return await self._serve(request, identity)
        finally:
            if address is not None:
                left = self._anonymous.pop(address, 1) - 1
                if left > 0:
                    self._anonymous[address] = left

    async def _serve(self, request: web.Request, identity: Identity | None) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            heartbeat=self.settings.heartbeat_seconds, max_msg_size=self.settings.max_message_bytes
        )
        await ws.prepare(request)
        conn = Connection(ws=ws, identity=identity, queue=asyncio.Queue(), presence=request.app.get(PRESENCE),
                          session_token=await current_session_token(request) if identity is not None else None)
        conn.writer = asyncio.create_task(self._write(conn))
        self._connections.add(conn)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_message(conn, message.data)
                elif message.type is WSMsgType.BINARY:
                    self._send(conn, {"type": "error", "error": "send JSON text frames"})
        finally:
            await self._forget(conn)
        return ws

    async def close(self) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=CLOSE_GOING_AWAY, message=b"server shutdown"), _CLOSE_TIMEOUT)
            await self._forget(conn)
        for task in list(self._background):
            task.cancel()

    # client messages

    async def _on_message(self, conn: Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._send(conn, {"type": "error", "error": "messages are JSON objects"})
            return
        kind = message.get("type")
        if kind == "ping":
            self._send(conn, {"type": "pong"})
            return
        channel = message.get("channel")
        if kind not in ("subscribe", "unsubscribe") or not isinstance(channel, str):
            self._send(conn, {"type": "error", "error": "unknown message"})
            return
        if kind == "unsubscribe":
            await self._unsubscribe(conn, channel)
            return
        since = message.get("since")
        presence = message.get("presence", False)
        if not isinstance(presence, bool):
            self._send(conn, {"type": "error", "error": "presence must be true or false", "channel": _echo(channel)})
            return
        error = await self._subscribe(conn, channel, since)
        if error is not None:
            self._send(conn, {"type": "error", "error": error, "channel": _echo(channel)})
        elif presence:
            await self._arrive(conn, channel)

    async def _subscribe(self, conn: Connection, channel: str, since: Any) -> str | None:
        """Subscribe `conn`, replay what it missed; the error to report, or None."""
        if conn.identity is None:
            return "unauthenticated"
        if len(channel) > _MAX_CHANNEL_LENGTH or parse_channel(channel) is None:
            return "unknown channel"
        resume = _parse_since(since)
        if since is not None and resume is None:
            return "since must be {id: integer >= 0, epoch: string}"
        if channel in conn.subscriptions:
            return "already subscribed"
        if len(conn.subscriptions) >= self.settings.max_subscriptions:
            return "too many subscriptions"
        try:
            allowed = await can_subscribe(self.db, conn.identity, channel)
        except SQLAlchemyError:
            log.exception("authorizing %s failed", channel)
            return "cannot check access now, retry later"
        if not allowed:
            return "forbidden"
        if conn.closed:
            return None
        subscription = _Subscription()
        conn.subscriptions[channel] = subscription
        self._sockets.setdefault(channel, set()).add(conn)
        try:
            await self._ensure_bus_subscription(channel)
            if resume is not None:
                recovered, replay = await self.bus.recover(channel, resume.id, resume.epoch)
            else:
                recovered, replay = False, []
            if recovered and resume is not None:
                position = Position(resume.epoch, replay[-1].id if replay else resume.id)
            else:
                position = await self.bus.position(channel)
                first = subscription.pending[0] if subscription.pending else None
                if first is not None and first.epoch == position.epoch:
                    # Published after this socket asked, though before the position was
                    # read: still news to the client, so start the stream just before it.
                    position = Position(position.epoch, min(position.id, first.id - 1))
        except BusUnavailable as exc:
            log.warning("subscribe to %s failed: %s", channel, exc)
            await self._unsubscribe(conn, channel)
            return "realtime unavailable, retry later"
        self._send(conn, _subscribed(channel, recovered, position))
        for envelope in replay:
            self._send(conn, envelope.event_message())
        last_id = position.id
        for envelope in subscription.pending:
            if envelope.epoch != position.epoch or envelope.id > last_id:
                self._send(conn, envelope.event_message())
                last_id = envelope.id
        subscription.pending = []
        subscription.live = True
        return None

    async def reauthorize(self) -> int:
        """Check every open `sessions:` subscription again; returns how many were revoked.

        Access to a session's channels follows a booking, which can end while the socket stays open
        (a cancelled booking, a refund). Other channels name their owner and cannot change hands.
        """
        revoked = 0
        for conn in list(self._connections):
            if conn.closed or conn.identity is None:
                continue
            if conn.session_token is not None and not await self._still_signed_in(conn):
                # A copied cookie dies at logout: the socket it opened goes too.
                revoked += len(conn.subscriptions)
                emptied = self._detach(conn)
                farewell = {"type": "error", "error": "signed_out"}
                self._spawn(self._close(conn, emptied, CLOSE_SIGNED_OUT, b"signed out", farewell))
                continue
            for channel in [c for c in conn.subscriptions if _is_session_channel(c)]:
                try:
                    allowed = await can_subscribe(self.db, conn.identity, channel)
                except SQLAlchemyError:
                    log.warning("re-checking %s failed; kept until the next round", channel)
                    continue
                if not allowed and channel in conn.subscriptions:
                    await self._unsubscribe(conn, channel)
                    self._send(conn, {"type": "error", "error": "forbidden", "channel": channel, "revoked": True})
                    revoked += 1
        return revoked

    async def reauthorize_forever(self, interval: float) -> None:
        while True:
            raise_if_cancelling()
            await asyncio.sleep(interval)
            try:
                await self.reauthorize()
            except Exception:
                log.exception("re-authorizing subscriptions failed")

    async def _ensure_bus_subscription(self, channel: str) -> None:
        # Sockets subscribing to the same channel at once share one bus subscription.
        task = self._bus_subscriptions.get(channel)
        if task is None:
            task = asyncio.create_task(self.bus.subscribe(channel, self))
            self._bus_subscriptions[channel] = task
        try:
            await asyncio.shield(task)
        except BaseException:
            if self._bus_subscriptions.get(channel) is task:
                del self._bus_subscriptions[channel]
            raise

    async def _unsubscribe(self, conn: Connection, channel: str) -> None:
        conn.subscriptions.pop(channel, None)
        if self._leave(conn, channel):
            await self._release(channel)
        if channel in conn.present:
            await self._depart(conn, channel)

    # presence

    async def _arrive(self, conn: Connection, channel: str) -> None:
        hook, identity = conn.presence, conn.identity
        if hook is None or identity is None or channel in conn.present or channel not in conn.subscriptions:
            return
        try:
            await hook.arrived(conn, identity, channel)
        except Exception:
            log.exception("presence hook failed on arrival at %s", channel)
            return
        conn.present.add(channel)
        if conn.closed or channel not in conn.subscriptions:
            # Gone while the hook ran: the departure that was skipped is owed now.
            await self._depart(conn, channel)

    async def _depart(self, conn: Connection, channel: str) -> None:
        conn.present.discard(channel)
        if conn.presence is None or conn.identity is None:
            return
        try:
            await conn.presence.departed(conn, conn.identity, channel)
        except Exception:
            log.exception("presence hook failed on departure from %s", channel)

    async def _depart_all(self, conn: Connection) -> None:
        for channel in list(conn.present):
            await self._depart(conn, channel)

    def _leave(self, conn: Connection, channel: str) -> bool:
        """Take `conn` off `channel`; True when no socket of this process follows it any more."""
        sockets = self._sockets.get(channel)
        if sockets is None:
            return False
        sockets.discard(conn)
        if sockets:
            return False
        del self._sockets[channel]
        return True

    async def _release(self, channel: str) -> None:
        # A socket may have subscribed again while this one was leaving: keep the bus listener.
        if channel in self._sockets:
            return
        task = self._bus_subscriptions.pop(channel, None)
        if task is not None and task.done() and not task.cancelled() and task.exception() is None:
            with contextlib.suppress(BusUnavailable):
                await self.bus.unsubscribe(channel, self)

    # bus listener

    def on_event(self, envelope: Envelope) -> None:
        for conn in list(self._sockets.get(envelope.channel, ())):
            subscription = conn.subscriptions.get(envelope.channel)
            if subscription is None:
                continue
            if subscription.live:
                self._send(conn, envelope.event_message())
            elif len(subscription.pending) < self.settings.send_queue_size:
                subscription.pending.append(envelope)
            else:
                self._drop_slow(conn)

    def on_lost(self, channel: str, position: Position) -> None:
        for conn in list(self._sockets.get(channel, ())):
            subscription = conn.subscriptions.get(channel)
            if subscription is not None and subscription.live:
                self._send(conn, _subscribed(channel, False, position))

    # sending

    def _send(self, conn: Connection, message: dict[str, Any] | str) -> None:
        if conn.closed:
            return
        text = message if isinstance(message, str) else _dumps(message)
        size = len(text)
        settings = self.settings
        if conn.queue.qsize() >= settings.send_queue_size or conn.queued_bytes + size > settings.send_queue_bytes:
            self._drop_slow(conn)
            return
        while self.queued_bytes + size > settings.total_queue_bytes:
            # The process-wide bound: the socket furthest behind goes first (O(sockets), rare).
            heaviest = max(self._connections, key=lambda c: c.queued_bytes, default=conn)
            if heaviest is conn or heaviest.queued_bytes == 0:
                self._drop_slow(conn)
                return
            self._drop_slow(heaviest)
        conn.queue.put_nowait(text)
        conn.queued_bytes += size
        self.queued_bytes += size

    async def _write(self, conn: Connection) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                text = await conn.queue.get()
                conn.queued_bytes -= len(text)
                self.queued_bytes -= len(text)
                # aiohttp waits here for the transport to drain past its small high-water
                # mark: a client that does not read leaves the rest in the bounded queue.
                await conn.ws.send_str(text)

    def _drop_slow(self, conn: Connection) -> None:
        if conn.closed:
            return
        self.slow_disconnects += 1
        log.info(
            "closing a WebSocket too slow to read (%d frames, %d bytes queued)", conn.queue.qsize(), conn.queued_bytes
        )
        # Detached at once, not in the task: the events still being fanned out skip it.
        emptied = self._detach(conn)
        self._spawn(self._close_slow(conn, emptied))

    async def _still_signed_in(self, conn: Connection) -> bool:
        assert conn.session_token is not None and conn.identity is not None
        try:
            return await still_signed_in(self.db, conn.session_token, conn.identity.user_id)
        except SQLAlchemyError:
            return True  # checked again next round

    async def _close_slow(self, conn: Connection, emptied: list[str]) -> None:
        await self._close(conn, emptied, CLOSE_SLOW_CONSUMER, b"too slow to read")

    async def _close(
        self, conn: Connection, emptied: list[str], code: int, reason: bytes, farewell: dict[str, Any] | None = None
    ) -> None:
        for channel in emptied:
            await self._release(channel)
        await self._depart_all(conn)
        # The close frame may never drain to a client that does not read: wait_for's
        # cancellation makes aiohttp drop the transport instead.
        with contextlib.suppress(Exception):
            if farewell is not None:
                await asyncio.wait_for(conn.ws.send_str(_dumps(farewell)), _CLOSE_TIMEOUT)
            await asyncio.wait_for(conn.ws.close(code=code, message=reason), _CLOSE_TIMEOUT)

    async def _forget(self, conn: Connection) -> None:
        """Release everything the socket holds; safe to call more than once."""
        for channel in self._detach(conn):
            await self._release(channel)
        await self._depart_all(conn)

    def _detach(self, conn: Connection) -> list[str]:
        """Stop all delivery to `conn` and free its queue now; returns the channels it left empty."""
        if conn.writer is not None:
            conn.writer.cancel()
        if conn.closed:
            return []
        conn.closed = True
        self._connections.discard(conn)
        # Queued frames can be large: free them now, not when the socket object goes.
        while not conn.queue.empty():
            conn.queue.get_nowait()
        self.queued_bytes -= conn.queued_bytes
        conn.queued_bytes = 0
        emptied = [channel for channel in conn.subscriptions if self._leave(conn, channel)]
        conn.subscriptions.clear()
        return emptied

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


@dataclass(frozen=True)
class _Since:
    id: int
    epoch: str


def _parse_since(raw: Any) -> _Since | None:
    if not isinstance(raw, dict):
        return None
    offset, epoch = raw.get("id"), raw.get("epoch")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0 or not isinstance(epoch, str):
        return None
    return _Since(offset, epoch)


def _subscribed(channel: str, recovered: bool, position: Position) -> dict[str, Any]:
    return {
        "type": "subscribed",
        "channel": channel,
        "recovered": recovered,
        "epoch": position.epoch,
        "id": position.id,
    }


def _is_session_channel(channel: str) -> bool:
    name = parse_channel(channel)
    return name is not None and name.kind == SESSIONS
