// Mentor dashboard: My Sessions (Upcoming / Live / Past), Create Session, incoming live requests.
// Cards follow bookings and edits live over requests:{mentor_id} and sessions:{session_id}.
import { api, toast } from "./app.js";
import { requestsChannel, sessionChannel } from "./channels.js";
import { confirmDialog } from "./confirm-dialog.js";
import { setupCreateSession } from "./create-session.js";
import { setupEarnings } from "./earnings.js";
import { startLive } from "./dashboard-live.js";
import { forgetPrefill, prefillForRequest, setupIncomingRequests } from "./live-requests.js";
import { setupPastSessions } from "./past-sessions.js";
import { CardRegistry, SessionCard, emptyState, refreshCard } from "./session-card.js";
import { openEditForm } from "./session-edit.js";
import { setupTabs } from "./tabs.js";

const root = document.getElementById("mentor-dashboard");
const mentorId = root.dataset.mentorId;
const listEl = document.getElementById("my-sessions-list");
const registry = new CardRegistry();
// Past: attendance, the session's rating and comments, resources with Upload.
const past = setupPastSessions({ container: listEl, view: "mentor", registry });
const EMPTY = {
  upcoming: "No upcoming sessions. Use Create Session to schedule one.",
  live: "None of your sessions is live right now.",
  past: "Ended and cancelled sessions show here.",
};

const create = setupCreateSession({ root: document.getElementById("create-session") });
const requests = setupIncomingRequests({
  list: document.getElementById("live-request-list"),
  countBadge: document.getElementById("request-count"),
  onAccepted(prefill, info) {
    const url = new URL(location.href);
    url.searchParams.set("create_from_request", String(info.requestId));
    history.replaceState(history.state, "", url);
    create.prefill(prefill, info);
  },
});

const live = startLive({
  onEvent: handleEvent,
  // Missed events cannot be replayed: the API holds the truth, so reload what the channel feeds.
  onReset(channel) {
    if (channel.startsWith("requests:")) requests.load();
    loadSessions(tabs.current());
  },
});
live.subscribe(requestsChannel(mentorId));

let loadSeq = 0;
async function loadSessions(tab) {
  const seq = ++loadSeq;
  if (tab === "past") {
    await past.load(() => seq === loadSeq);
    return;
  }
  listEl.setAttribute("aria-busy", "true");
  try {
    const { sessions } = await api("GET", `/api/sessions/mine?tab=${encodeURIComponent(tab)}`);
    if (seq !== loadSeq) return; // a later tab click won the race
    for (const card of registry.all()) registry.forget(card);
    const cards = sessions.map((s) => new SessionCard(s, { view: "mentor", onAction }));
    for (const card of cards) {
      registry.add(card);
      if (card.session.status === "scheduled" || card.session.status === "live") live.subscribe(sessionChannel(card.session.id));
    }
    listEl.replaceChildren(...(cards.length ? cards.map((c) => c.el) : [emptyState(EMPTY[tab])]));
  } catch (err) {
    if (seq !== loadSeq) return;
    listEl.replaceChildren(emptyState(`Could not load your sessions: ${err.message}`));
    toast(err.message, "error");
  } finally {
    if (seq === loadSeq) listEl.setAttribute("aria-busy", "false");
  }
}

const tabs = setupTabs(document.querySelector('#my-sessions [role="tablist"]'), {
  initial: "upcoming",
  onSelect: loadSessions,
});

async function onAction(action, card, button) {
  const s = card.session;
  if (action === "edit") { openEditForm(card); return; }
  if (action === "cancel") {
    const booked = s.booked_count ? ` ${s.booked_count} booked learner(s) will be told${s.price_paise ? " and refunded" : ""}.` : "";
    const ok = await confirmDialog({
      title: `Cancel “${s.title}”?`, message: `This cannot be undone.${booked}`,
      confirmLabel: "Cancel session", cancelLabel: "Keep it", danger: true,
    });
    if (!ok) return;
  }
  card.setBusy(true);
  button.disabled = true;
  try {
    if (action === "go-live") {
      const result = await api("POST", `/api/sessions/${s.id}/go-live`, {});
      location.assign(result.redirect || `/session/${result.session.room_code}/`);
      return;
    }
    if (action === "enter-room") {
      const result = await api("GET", `/api/sessions/${s.id}/join`);
      location.assign(result.room_url);
      return;
    }
    if (action === "cancel") {
      const { session } = await api("POST", `/api/sessions/${s.id}/cancel`, {});
      registry.update(s.id, session);
      toast(`“${s.title}” was cancelled.`, "info");
    }
  } catch (err) {
    // 409 is a rule of time or state (e.g. too early to go live): the server's words say which.
    toast(err.message, "error");
    if (err.status === 409) refreshOne(s.id);
  } finally {
    card.setBusy(false);
    card.tick(Date.now());
  }
}

function refreshOne(id) {
  return refreshCard(registry, id);
}

// State only: every one of these events also arrives as a notification, and the bell toasts those.
function handleEvent({ event, data = {} }) {
  if (event === "new_booking" || event === "booking_cancelled") {
    // requests: and sessions: both carry it; counts are absolute, so applying it twice is harmless.
    registry.update(data.session_id, pick(data, ["booked_count", "seats_left"]));
    earnings.refresh().catch(() => {});
  } else if (event === "live_request") {
    requests.add(data.live_request || data);
  } else if (event === "session_updated") {
    const { viewer: _viewer, ...fields } = data.session || data; // viewer-neutral: keep our own flags
    registry.update(fields.id, fields);
  } else if (event === "session_cancelled") {
    registry.update(data.session_id ?? data.id, { status: "cancelled" });
  }
}

function pick(data, keys) {
  return Object.fromEntries(keys.filter((k) => data[k] !== undefined).map((k) => [k, data[k]]));
}

const earnings = setupEarnings(document.getElementById("earnings"));
registry.startTicking();
requests.load();
earnings.refresh().catch((err) => toast(err.message, "error"));

const fromRequest = new URLSearchParams(location.search).get("create_from_request");
if (fromRequest) {
  prefillForRequest(fromRequest).then((found) => {
    if (found) create.prefill(found.prefill, { requestId: fromRequest, learnerName: found.learner });
    else toast("That live request is no longer open.", "error");
  }).catch((err) => toast(err.message, "error"));
  // Published or not, the saved prefill is one-shot: a later visit starts from a clean form.
  window.addEventListener("pagehide", () => forgetPrefill(fromRequest), { once: true });
} else if (location.hash === "#create-session") {
  create.open();
}
document.querySelector('a[href="#create-session"]').addEventListener("click", () => create.open());
