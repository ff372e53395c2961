// One WebSocket per tab to /ws (ARCHITECTURE §6): subscriptions, resume after a drop, resets.
//
//   import { tabRealtime } from "/static/realtime.js";
//   const rt = tabRealtime();                 // the tab's one socket, opened on first use
//   rt.onStatus((status) => {});              // "connected" | "reconnecting" (see reconnect-toast.js)
//
// or, for a socket of one's own (tests, Node):
//   const rt = connectRealtime({
//     onEvent: (envelope) => {},              // every event on every channel
//     onStatus: (status) => {},               // "connected" | "reconnecting"
//     onError: (error, channel) => {},        // refused subscriptions and bad messages
//   });
//   rt.subscribe("sessions:abc", {
//     onEvent: (envelope) => {},              // this channel's events, in id order
//     onReset: (channel) => reloadFromApi(),  // missed events cannot be replayed
//   });
//   rt.unsubscribe("sessions:abc");
//   rt.close();
//
// The last (id, epoch) seen per channel is kept in sessionStorage, so a reconnect (or a reload
// of the tab) resumes with `since` and receives what it missed in order. When the server says
// `recovered: false` for a channel the page had a position for, `onReset(channel)` runs and the
// page reloads that state from the API instead of trusting the stream.

const STORAGE_PREFIX = "mentorlive.realtime.";
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
const UNAVAILABLE_RETRY_MS = 5000;
// Refusals that retrying cannot fix; anything else is retried.
const FINAL_ERRORS = new Set(["unauthenticated", "forbidden", "unknown channel", "too many subscriptions"]);

function defaultUrl() {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/ws`;
}

function positionStore(storage) {
  return {
    get(channel) {
      try {
        const raw = storage.getItem(STORAGE_PREFIX + channel);
        const value = raw ? JSON.parse(raw) : null;
        return value && Number.isInteger(value.id) && typeof value.epoch === "string" ? value : null;
      } catch {
        return null;
      }
    },
    set(channel, id, epoch) {
      try {
        storage.setItem(STORAGE_PREFIX + channel, JSON.stringify({ id, epoch }));
      } catch {
        // Storage full or blocked: resume still works within this page"s lifetime.
      }
    },
  };
}

export function backoffDelay(attempt, random = Math.random) {
  // Full jitter: reconnecting tabs spread out instead of returning all at once.
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(random() * ceiling);
}

export function connectRealtime({
  url = defaultUrl(),
  onEvent = () => {},
  onStatus = () => {},
  onError = () => {},
  storage = window.sessionStorage,
  // Tests outside a browser pass their own (e.g. to send a cookie header).
  socketFactory = (socketUrl) => new WebSocket(socketUrl),
} = {}) {
  const positions = positionStore(storage);
  const statusListeners = [onStatus];
  const reportStatus = (status) => statusListeners.forEach((listener) => listener(status));
  // channel -> { onEvent, onReset, position: {id, epoch} | null }
  const channels = new Map();
  let socket = null;
  let attempt = 0;
  let closedByUser = false;
  let reconnectTimer = null;
  let pingTimer = null;
  let pongTimer = null;
  let everConnected = false;

  function send(message) {
    if (socket && socket.readyState === socket.OPEN) {
      socket.send(JSON.stringify(message));
    }
  }

  function sendSubscribe(channel) {
    const entry = channels.get(channel);
    if (!entry) return;
    const message = { type: "subscribe", channel };
    // Presence (the room's lobby) is re-announced on every (re)subscription of this socket.
    if (entry.presence) message.presence = true;
    if (entry.position) message.since = { id: entry.position.id, epoch: entry.position.epoch };
    send(message);
  }

  function remember(channel, id, epoch) {
    const entry = channels.get(channel);
    if (!entry) return;
    entry.position = { id, epoch };
    positions.set(channel, id, epoch);
  }

  function handle(message) {
    const entry = message.channel ? channels.get(message.channel) : null;
    switch (message.type) {
      case "event":
        if (!entry) return;
        remember(message.channel, message.id, message.epoch);
        entry.onEvent(message);
        onEvent(message);
        break;
      case "subscribed": {
        if (!entry) return;
        const hadPosition = entry.position !== null;
        remember(message.channel, message.id, message.epoch);
        if (!message.recovered && hadPosition) entry.onReset(message.channel);
        break;
      }
      case "error":
        onError(message.error, message.channel);
        if (message.error === "signed_out") {
          // This sign-in ended (logout elsewhere, password change, sign out everywhere): no reconnecting.
          closedByUser = true;
          if (typeof window !== "undefined") window.location.assign("/login");
          break;
        }
        if (entry && FINAL_ERRORS.has(message.error)) {
          channels.delete(message.channel);
        } else if (entry && message.error !== "already subscribed") {
          setTimeout(() => sendSubscribe(message.channel), UNAVAILABLE_RETRY_MS);
        }
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
      default:
        break;
    }
  }

  function startPinging() {
    // The server pings too; this catches a socket the browser still thinks is open.
    pingTimer = setInterval(() => {
      send({ type: "ping" });
      clearTimeout(pongTimer);
      pongTimer = setTimeout(() => socket && socket.close(4000, "no pong"), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  function stopTimers() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    clearTimeout(reconnectTimer);
  }

  function open() {
    socket = socketFactory(url);
    socket.addEventListener("open", () => {
      attempt = 0;
      everConnected = true;
      reportStatus("connected");
      for (const channel of channels.keys()) sendSubscribe(channel);
      startPinging();
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      handle(message);
    });
    socket.addEventListener("close", () => {
      stopTimers();
      socket = null;
      if (closedByUser) return;
      if (everConnected) reportStatus("reconnecting");
      reconnectTimer = setTimeout(open, backoffDelay(attempt));
      attempt += 1;
    });
  }

  open();

  return {
    subscribe(channel, { onEvent: channelEvent = () => {}, onReset = () => {}, presence = false } = {}) {
      if (channels.has(channel)) return;
      channels.set(channel, { onEvent: channelEvent, onReset, presence, position: positions.get(channel) });
      sendSubscribe(channel);
    },
    unsubscribe(channel) {
      if (channels.delete(channel)) send({ type: "unsubscribe", channel });
    },
    /** Adds a listener for "connected" / "reconnecting"; every listener hears every change. */
    onStatus(listener) {
      statusListeners.push(listener);
    },
    position(channel) {
      const entry = channels.get(channel);
      return entry ? entry.position : null;
    },
    close() {
      closedByUser = true;
      stopTimers();
      if (socket) socket.close(1000, "closed by page");
    },
  };
}

// The tab's one socket (ARCHITECTURE §6): every module of a page (bell, dashboards, room) shares
// it, so an outage is one reconnect and one "Reconnecting…" toast, not one per module. ES modules
// are instantiated once per tab, which makes this binding the tab-wide singleton.
let tabConnection = null;

export function tabRealtime() {
  if (!tabConnection) tabConnection = connectRealtime();
  return tabConnection;
}
