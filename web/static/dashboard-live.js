// The dashboards' link to the realtime hub: the tab's one socket (ARCHITECTURE §6), a
// "Reconnecting…" toast while it is down, and a reload from the API whenever the hub says it
// cannot replay what this tab missed.
import { toast } from "./app.js";
import { startNotifications } from "./notifications.js";
import { connectRealtime } from "./realtime.js";

export function startLive({ onEvent, onReset }) {
  let reconnecting = null;
  const showStatus = (status) => {
    if (status === "reconnecting") {
      // One sticky toast for the whole outage, however many retries it takes.
      if (!reconnecting?.isConnected) reconnecting = toast("Reconnecting…", "warn", { timeout: 0 });
    } else if (status === "connected" && reconnecting) {
      reconnecting.remove();
      reconnecting = null;
    }
  };
  // app.js may already have opened the tab's socket for the bell; then that one carries our
  // channels too, and its own "Reconnecting…" toast covers the outage.
  const shared = window.mentorlive?.realtime;
  const client = shared || connectRealtime({ onStatus: showStatus });
  if (!shared) {
    window.mentorlive = Object.assign(window.mentorlive || {}, { realtime: client });
    // The bell rides on this socket instead of opening a second one for the tab (app.js may
    // call this too; whoever comes second finds the bell wired and does nothing).
    startNotifications();
  }
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
