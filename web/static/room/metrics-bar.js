// The call's metrics bar: attendee count, each participant's connection level as the server
// measures it (the reason on hover, or on tap where there is no hover), the time since the
// session started, and a "REC" mark for everyone while the session is recorded.
import { h } from "./dom.js";
import { icons } from "./icons.js";

const LEVEL_TEXT = { excellent: "Excellent", good: "Good", poor: "Poor", lost: "Lost" };

export function elapsedText(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

export function metricsBar({ root = document.getElementById("metrics-bar"), selfUserId }) {
  const rec = h("span", { class: "rec", id: "rec-mark", role: "status", hidden: true, title: "This session is being recorded" }, h("span", { class: "rec-dot", "aria-hidden": "true" }), "REC");
  const attendees = h("span", { class: "metric", id: "attendee-count", title: "Attendees" });
  const timer = h("span", { class: "metric", id: "elapsed", title: "Time since the session started" });
  const levels = h("ul", { class: "levels", "aria-label": "Connection quality" });
  const reason = h("p", { class: "level-reason", role: "status", hidden: true });
  root.replaceChildren(rec, attendees, timer, levels, reason);
  let startedAt = null;
  let ticker = 0;
  let shownReason = null;

  function tick() {
    timer.innerHTML = `${icons.clock}<span>${startedAt ? elapsedText(Date.now() - startedAt) : "0:00"}</span>`;
    timer.setAttribute("aria-label", `Elapsed ${startedAt ? elapsedText(Date.now() - startedAt) : "0:00"}`);
  }

  return {
    show() {
      root.hidden = false;
      tick();
      ticker = ticker || setInterval(tick, 1000);
    },
    hide() {
      root.hidden = true;
      clearInterval(ticker);
      ticker = 0;
    },
    setStartedAt(value) {
      if (!value) return;
      const time = typeof value === "number" ? value : Date.parse(value);
      if (!Number.isNaN(time) && (!startedAt || time < startedAt)) startedAt = time;
      tick();
    },
    hasStart: () => startedAt !== null,
    setRecording(on) {
      rec.hidden = !on;
    },
    /** Attendees are everyone but observers; levels are shown per participant. */
    setParticipants(participants) {
      const counted = participants.filter((p) => !p.observer && p.role !== "admin");
      attendees.innerHTML = `${icons.users}<span>${counted.length}</span>`;
      attendees.setAttribute("aria-label", `${counted.length} attendee${counted.length === 1 ? "" : "s"}`);
      levels.replaceChildren(
        ...counted.map((p) => {
          const level = p.quality?.level || "";
          const mine = String(p.user_id) === String(selfUserId);
          const who = mine ? "You" : p.name;
          const because = p.quality?.reason || "";
          const text = level ? `${who}: ${LEVEL_TEXT[level] || level} connection${because ? ` (${because})` : ""}` : `${who}: measuring…`;
          const button = h("button", { type: "button", class: "level", dataset: { level, participantId: p.participant_id }, title: text, "aria-label": text },
            h("span", { class: "level-bars", html: icons.signal(level) }), h("span", { class: "level-name" }, who));
          button.addEventListener("click", () => {
            // Touch screens have no hover: a tap shows the reason, a second tap hides it.
            shownReason = shownReason === p.participant_id ? null : p.participant_id;
            reason.hidden = !shownReason;
            reason.textContent = text;
          });
          if (shownReason === p.participant_id) reason.textContent = text;
          return h("li", {}, button);
        }),
      );
    },
  };
}
