// The room's lobby: the mentor sees who is waiting (learner.join / learner.leave), learners wait for
// the mentor (session.live), and everyone hears when the session ends. The media room builds on this.
import { toast } from "./app.js";
import { roomChannel } from "./channels.js";
import { showReconnecting } from "./reconnect-toast.js";
import { tabRealtime } from "./realtime.js";

const room = document.getElementById("room");
const roomCode = room.dataset.roomCode;
const statusEl = document.getElementById("room-status");
const waiting = document.getElementById("waiting-learners");
const message = document.getElementById("lobby-message");

function setStatus(status) {
  room.dataset.status = status;
  statusEl.textContent = status;
  if (message && status === "live") message.textContent = "The mentor has started the session.";
  if (status === "ended") {
    if (message) message.textContent = "This session has ended.";
    toast("The session has ended.", "info");
  }
}

function learnerJoined(data) {
  if (!waiting) return;
  waiting.querySelector("[data-empty]")?.remove();
  if (waiting.querySelector(`[data-user-id="${data.user_id}"]`)) return;
  const li = document.createElement("li");
  li.dataset.userId = data.user_id;
  li.textContent = data.name || `Learner ${data.user_id}`;
  waiting.appendChild(li);
  toast(`${li.textContent} joined`, "info");
}

function learnerLeft(data) {
  const li = waiting?.querySelector(`[data-user-id="${data.user_id}"]`);
  if (li) { toast(`${li.textContent} left`, "info"); li.remove(); }
}

const realtime = showReconnecting(tabRealtime());
realtime.subscribe(roomChannel(roomCode), {
  onEvent: (envelope) => {
    if (envelope.event === "session.live") setStatus("live");
    else if (envelope.event === "session.end") setStatus("ended");
    else if (envelope.event === "learner.join") learnerJoined(envelope.data);
    else if (envelope.event === "learner.leave") learnerLeft(envelope.data);
  },
  onReset: () => location.reload(),
});
