// The lobby on sessions:{room_code} (the tab's one /ws socket): the mentor's Waiting Learners
// list (learner.join / learner.leave), the learners' "Waiting for Mentor to start session.", and
// the session's own live and end, whatever stage the page is in.
import { api, toast } from "../app.js";
import { roomChannel } from "../channels.js";
import { showReconnecting } from "../reconnect-toast.js";
import { tabRealtime } from "../realtime.js";
import { h } from "./dom.js";

export function lobby({ context, onLive, onEnd }) {
  const status = document.getElementById("room-status");
  const waiting = document.getElementById("waiting-learners");
  const message = document.getElementById("lobby-message");
  const present = new Map(); // user_id -> name

  function setStatus(value) {
    context.status = value;
    document.getElementById("room").dataset.status = value;
    status.textContent = value;
    status.dataset.status = value;
    if (message && value === "live") message.textContent = "The mentor has started the session.";
  }

  function renderWaiting() {
    if (!waiting) return;
    const items = [...present].map(([userId, name]) =>
      h("li", { dataset: { userId } }, h("span", { class: "avatar small", "aria-hidden": "true" }, name[0] || "?"), name),
    );
    waiting.replaceChildren(...(items.length ? items : [h("li", { class: "muted", dataset: { empty: "" } }, "No one has arrived yet.")]));
  }

  function joined(data) {
    // The mentor (and an observing admin) are never in the list, whatever the server sends.
    if (!data || String(data.user_id) === String(context.mentor.id) || (data.role && data.role !== "learner")) return;
    if (data.observer) return;
    const key = String(data.user_id);
    if (present.has(key)) return;
    present.set(key, data.name || `Learner ${data.user_id}`);
    renderWaiting();
    if (context.isMentor && waiting) toast(`${present.get(key)} joined`, "info");
  }

  function left(data) {
    const key = String(data?.user_id);
    if (!present.delete(key)) return;
    renderWaiting();
  }

  async function checkStatus() {
    // The API holds the truth: a reset, or an ambiguous end, reloads the session's status.
    try {
      const { session } = await api("GET", context.session_url);
      if (session.status === "live" && context.status !== "live") {
        setStatus("live");
        onLive();
      } else if (session.status === "ended") {
        setStatus("ended");
        onEnd("ended");
      }
    } catch {
      // Offline: the socket's resume will bring the events.
    }
  }

  async function loadWaiting() {
    // Learners who arrived before this page: the lobby as the server holds it.
    if (!context.isMentor || !waiting) return;
    try {
      const lobbyState = await api("GET", context.lobby_url);
      for (const learner of lobbyState.waiting || []) joinedQuietly(learner);
    } catch {
      // The events that follow still fill the list.
    }
  }

  function joinedQuietly(data) {
    const key = String(data.user_id);
    if (present.has(key) || key === String(context.mentor.id)) return;
    present.set(key, data.name || `Learner ${data.user_id}`);
    renderWaiting();
  }

  const realtime = showReconnecting(tabRealtime());
  realtime.subscribe(roomChannel(context.room_code), {
    // A learner's page announces them in the lobby (learner.join); the mentor's and an admin's do not.
    presence: context.user.role === "learner",
    onEvent(envelope) {
      const data = envelope.data || {};
      if (envelope.event === "session.live") {
        setStatus("live");
        onLive();
      } else if (envelope.event === "session.end") {
        // The media room also ends when it empties ("empty"): only the session's end counts.
        if (data.reason && data.reason !== "ended_by_host") checkStatus();
        else {
          setStatus("ended");
          onEnd("ended");
        }
      } else if (envelope.event === "learner.join") joined(data);
      else if (envelope.event === "learner.leave") left(data);
    },
    onReset: () => checkStatus(),
  });
  renderWaiting();
  loadWaiting();
  return { setStatus, checkStatus };
}
