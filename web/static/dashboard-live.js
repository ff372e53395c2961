// The dashboards' link to the realtime hub: the tab's one socket (ARCHITECTURE §6) with its one
// "Reconnecting…" toast, and a reload from the API whenever the hub says it cannot replay what
// this tab missed.
import { startNotifications } from "./notifications.js";
import { showReconnecting } from "./reconnect-toast.js";
import { tabRealtime } from "./realtime.js";

export function startLive({ onEvent, onReset }) {
  const client = showReconnecting(tabRealtime());
  // The bell rides on the same socket (app.js may start it too; the second call does nothing).
  startNotifications();
  const subscribed = new Set();
  return {
    subscribe(channel) {
      if (subscribed.has(channel)) return;
      subscribed.add(channel);
      client.subscribe(channel, {
        onEvent: (envelope) => onEvent(envelope),
        onReset: () => onReset(channel),
      });
    },
    unsubscribe(channel) {
      if (subscribed.delete(channel)) client.unsubscribe(channel);
    },
  };
}
