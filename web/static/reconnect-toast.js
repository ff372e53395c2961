// The one "Reconnecting…" toast of a tab: shown while any of its connections (the /ws socket,
// the room's signaling socket) is down, however many retries the outage takes, and removed
// when all are back. One network drop is one toast, not one per socket.
import { toast } from "./app.js";

const down = new Set();
const watched = new WeakSet();
let shown = null;

/** Reports a connection (any name) as down or back; the toast follows the union. */
export function connectionDown(name, isDown) {
  if (isDown) down.add(name);
  else down.delete(name);
  if (down.size && !shown?.isConnected) {
    shown = toast("Reconnecting…", "warn", { timeout: 0 });
  } else if (!down.size && shown) {
    shown.remove();
    shown = null;
  }
}

/** Shows the toast for `realtime`'s outages; watching the same socket twice adds nothing. */
export function showReconnecting(realtime) {
  if (watched.has(realtime)) return realtime;
  watched.add(realtime);
  realtime.onStatus((status) => connectionDown("ws", status === "reconnecting"));
  return realtime;
}
