// The one "Reconnecting…" toast of a tab: shown while the tab's /ws socket is down, however many
// retries the outage takes, and removed when it is back.
import { toast } from "./app.js";

const watched = new WeakSet();

/** Shows the toast for `realtime`'s outages; watching the same socket twice adds nothing. */
export function showReconnecting(realtime) {
  if (watched.has(realtime)) return realtime;
  watched.add(realtime);
  let shown = null;
  realtime.onStatus((status) => {
    if (status === "reconnecting" && !shown?.isConnected) {
      shown = toast("Reconnecting…", "warn", { timeout: 0 });
    } else if (status === "connected" && shown) {
      shown.remove();
      shown = null;
    }
  });
  return realtime;
}
