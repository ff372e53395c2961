// The notification bell and toasts for `notifications:{user_id}`.
//
// Expects from the base layout:
//   <div id="notification-bell" data-user-id="{{ user.id }}"></div>   (only when signed in)
//   <div id="toasts"></div>                                          (app.js's toast area)
// and the `csrf_token` cookie the API sets (echoed in X-CSRF-Token on POST).
//
//   import { startNotifications } from "/static/notifications.js";
//   startNotifications();   // on the tab's one socket (realtime.js's tabRealtime)
// or, with a socket of one's own:
//   initNotifications({ realtime });
//
// The bell shows the unread count, opens a list of the latest 50 from GET /api/notifications,
// and marks them read (POST /api/notifications/read) when opened. Every event on the channel
// raises a toast and refreshes the bell; a reset (events lost) reloads it from the API.

import { csrfToken, toast } from "./app.js";
import { notificationsChannel } from "./channels.js";
import { showReconnecting } from "./reconnect-toast.js";
import { tabRealtime } from "./realtime.js";

const SUCCESS_KINDS = new Set(["booking_confirmed", "request_accepted", "payment_captured"]);
const ERROR_KINDS = new Set(["request_declined", "session_cancelled", "payment_failed", "booking_cancelled"]);

export function toastKind(kind) {
  if (SUCCESS_KINDS.has(kind)) return "success";
  if (ERROR_KINDS.has(kind)) return "error";
  return "info";
}

function render(bell, state, onOpen) {
  bell.replaceChildren();
  const button = document.createElement("button");
  button.type = "button";
  button.className = "bell-button";
  button.setAttribute("aria-haspopup", "true");
  button.setAttribute("aria-expanded", String(state.open));
  button.setAttribute("aria-label", `Notifications, ${state.unread} unread`);
  // An inline icon: an emoji bell renders as an empty box where no emoji font is installed.
  button.innerHTML =
    '<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/>' +
    '<path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg>';
  if (state.unread > 0) {
    const badge = document.createElement("span");
    badge.className = "bell-badge";
    badge.textContent = state.unread > 99 ? "99+" : String(state.unread);
    button.append(badge);
  }
  button.addEventListener("click", onOpen);
  bell.append(button);
  if (!state.open) return;

  const list = document.createElement("ul");
  list.className = "bell-list";
  list.setAttribute("role", "menu");
  if (state.items.length === 0) {
    const empty = document.createElement("li");
    empty.className = "bell-empty";
    empty.textContent = "No notifications yet";
    list.append(empty);
  }
  for (const item of state.items) {
    const row = document.createElement("li");
    row.className = item.read ? "bell-item" : "bell-item unread";
    row.setAttribute("role", "menuitem");
    const title = document.createElement("strong");
    title.textContent = item.title;
    const url = item.data && item.data.url;
    if (typeof url === "string" && url.startsWith("/") && !url.startsWith("//")) {
      // e.g. the feedback reminder opens the room page"s Rate Your Mentor form.
      const link = document.createElement("a");
      link.href = url;
      link.textContent = item.title;
      title.replaceChildren(link);
    }
    const body = document.createElement("span");
    body.textContent = item.body;
    const when = document.createElement("time");
    when.dateTime = item.created_at;
    when.textContent = new Date(item.created_at).toLocaleString();
    row.append(title, body, when);
    list.append(row);
  }
  bell.append(list);
}

export function initNotifications({
  realtime,
  bell = document.querySelector("#notification-bell"),
  fetchImpl = (...args) => window.fetch(...args),
} = {}) {
  if (!bell || !bell.dataset.userId || !realtime) return null;
  const channel = notificationsChannel(bell.dataset.userId);
  const state = { open: false, unread: 0, items: [] };

  async function load() {
    const response = await fetchImpl("/api/notifications", { credentials: "same-origin" });
    if (!response.ok) return;
    const body = await response.json();
    state.items = body.notifications;
    state.unread = body.unread;
    render(bell, state, toggle);
  }

  async function markAllRead() {
    const response = await fetchImpl("/api/notifications/read", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ ids: state.items.filter((n) => !n.read).map((n) => n.id) }),
    });
    if (!response.ok) return;
    state.unread = (await response.json()).unread;
    state.items = state.items.map((n) => ({ ...n, read: true }));
    render(bell, state, toggle);
  }

  function toggle(event) {
    // Re-rendering detaches the clicked button, so the outside-click check below would
    // no longer find it inside the bell: keep this click from reaching the document.
    if (event) event.stopPropagation();
    state.open = !state.open;
    render(bell, state, toggle);
    if (state.open && state.unread > 0) markAllRead();
  }

  document.addEventListener("click", (event) => {
    if (state.open && !bell.contains(event.target)) {
      state.open = false;
      render(bell, state, toggle);
    }
  });

  realtime.subscribe(channel, {
    onEvent(envelope) {
      const note = envelope.data;
      // A page that already told the user (e.g. "Booked ✔" after its own click) skips the echo.
      const shownHere = window.mentorlive?.shownHere?.(envelope.event, note.data || {});
      if (!shownHere) toast(note.body ? `${note.title}: ${note.body}` : note.title, toastKind(envelope.event));
      state.items = [note, ...state.items.filter((n) => n.id !== note.id)].slice(0, 50);
      state.unread += note.read ? 0 : 1;
      render(bell, state, toggle);
    },
    onReset: load,
  });
  render(bell, state, toggle);
  load();
  return { reload: load, channel };
}

// Every signed-in page calls this once (app.js; dashboards may too: whoever comes second finds
// the bell wired and does nothing). The bell shares the tab's one socket.
export function startNotifications({ bell = document.querySelector("#notification-bell") } = {}) {
  if (!bell || !bell.dataset.userId || bell.dataset.wired) return null;
  bell.dataset.wired = "true";
  return initNotifications({ realtime: showReconnecting(tabRealtime()), bell });
}
