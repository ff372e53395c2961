// A session's recording, wherever it shows (the mentor's Past card, the session page after the end):
// "Recording…" while the session runs, a progress bar while the last part is composed, then an HTML5
// player (seeking works: the download answers Range requests), Download, Raw tracks (mentor and
// admins), the chat transcript and whiteboard; a failed composition shows why, with Retry for the
// mentor. The mentor also shares it with attendees and deletes it. GET /api/sessions/{id}/recording
// (docs/api.md) is read again every few seconds until the recording is finished.
import { api, toast } from "./app.js";

const POLL_MS = 2000;
const WORKING = new Set(["recording", "processing"]);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key in node && !key.includes("-")) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function sizeText(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function durationText(seconds) {
  if (!Number.isFinite(seconds)) return "";
  const s = Math.round(seconds);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

/**
 * sessionId: the session; player: show the HTML5 player (the session page) or not (the Past card).
 * Returns { el, stop() }; `el` stays empty when the session was not recorded or is not this user's.
 */
export function recordingPanel(sessionId, { player = true, fetchImpl = api } = {}) {
  const root = el("section", { className: "recording-panel", "aria-label": "Recording", "data-testid": "recording" });
  root.hidden = true;
  let timer = null;
  let stopped = false;
  let shownStatus = null;

  async function load() {
    clearTimeout(timer);
    if (stopped) return;
    let recording;
    try {
      ({ recording } = await fetchImpl("GET", `/api/sessions/${sessionId}/recording`));
    } catch {
      root.hidden = true; // not recorded, or not this user's to see
      return;
    }
    render(recording);
    // Keep polling only while the panel is on the page (a reloaded list builds new panels).
    if (WORKING.has(recording.status)) timer = setTimeout(() => root.isConnected && load(), POLL_MS);
  }

  async function act(button, method, url, body, done) {
    button.disabled = true;
    try {
      await fetchImpl(method, url, body);
      if (done) toast(done, "success");
      await load();
    } catch (error) {
      toast(error.message, "error");
      button.disabled = false;
    }
  }

  function shareToggle(recording) {
    const box = el("input", { type: "checkbox", checked: recording.shared_with_attendees, "data-testid": "share-recording" });
    box.addEventListener("change", async () => {
      box.disabled = true;
      try {
        await fetchImpl("PUT", `/api/sessions/${sessionId}/recording/share`, { shared: box.checked });
        toast(box.checked ? "Attendees can now watch the recording." : "The recording is yours alone again.", "info");
      } catch (error) {
        box.checked = !box.checked;
        toast(error.message, "error");
      } finally {
        box.disabled = false;
      }
    });
    return el("label", { className: "share-recording" }, box, " Share the recording with attendees");
  }

  function render(recording) {
    const parts = [el("h4", { text: "Recording" })];
    const status = recording.status;
    if (status === "recording") {
      parts.push(el("p", { className: "recording-live", text: "● Recording…" }));
    } else if (status === "processing") {
      const pct = Math.round((recording.progress || 0) * 100);
      parts.push(el("p", { text: `Preparing the recording… ${pct}%` }),
        el("progress", { max: 1, value: recording.progress || 0, "aria-label": "Recording progress" }));
    } else if (status === "ready" || status === "partial") {
      if (player) {
        parts.push(el("video", { controls: true, preload: "metadata", src: `${recording.download_url}?inline=1`,
          className: "recording-player", "aria-label": "Session recording" }));
      }
      if (status === "partial") parts.push(el("p", { className: "muted", text: "Part of the session's media was lost; this is what was recorded." }));
      const links = [
        el("a", { className: "btn small", href: recording.download_url, text: "Download ⬇" }),
        el("span", { className: "muted", text: ` ${durationText(recording.duration_seconds)} · ${sizeText(recording.size_bytes)} ` }),
        recording.raw_url ? el("a", { href: recording.raw_url, text: "Raw tracks (zip)" }) : null,
        recording.transcript_url ? el("a", { href: recording.transcript_url, text: "Chat transcript" }) : null,
        recording.whiteboard_url ? el("a", { href: recording.whiteboard_url, target: "_blank", rel: "noopener", text: "Whiteboard (PNG)" }) : null,
      ];
      parts.push(el("p", { className: "recording-links" }, ...links));
    } else if (status === "failed") {
      parts.push(el("p", { className: "field-error", role: "alert", text: recording.error || "Preparing the recording failed." }));
      if (recording.can_manage) {
        const retry = el("button", { type: "button", className: "btn small", text: "Retry" });
        retry.addEventListener("click", () => act(retry, "POST", `/api/recordings/${recording.id}/retry`, undefined, "Trying again…"));
        parts.push(retry);
      }
    } else {
      parts.push(el("p", { className: "muted", text: status === "expired" ? "This recording has expired." : "This recording was deleted." }));
    }
    if (recording.can_manage && !["expired", "deleted"].includes(status)) {
      parts.push(shareToggle(recording));
      if (!WORKING.has(status)) {
        const remove = el("button", { type: "button", className: "link danger-text", text: "Delete recording" });
        remove.addEventListener("click", () => {
          if (window.confirm("Delete this recording for everyone? This cannot be undone.")) {
            act(remove, "DELETE", `/api/recordings/${recording.id}`, undefined, "Recording deleted.");
          }
        });
        parts.push(remove);
      }
    }
    // Re-render only what changed: a playing video is not reset by a poll.
    if (status === shownStatus && !WORKING.has(status)) return;
    shownStatus = status;
    root.replaceChildren(...parts);
    root.dataset.status = status;
    root.hidden = false;
  }

  load();
  return { el: root, reload: load, stop() { stopped = true; clearTimeout(timer); } };
}
