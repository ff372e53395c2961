// The Past tab of both dashboards: ended (and cancelled) sessions with what came after them.
// Learners: the session's resources (download links) and Rate Your Mentor (Rate ▶ / "You rated ★4").
// Mentors: booked and attended counts, the session's rating and comments, resources with Upload.
// Everything comes from GET /api/sessions/mine/past; each change reloads the list from it.
import { api, formatLocal, toast } from "./app.js";
import { recordingPanel } from "./recording-panel.js";
import { SessionCard, emptyState, ratingText } from "./session-card.js";

const EMPTY = {
  learner: "Sessions you booked show here once they are over.",
  mentor: "Ended and cancelled sessions show here.",
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key in node && !key.includes("-")) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function stars(rating) {
  return "★".repeat(rating) + "☆".repeat(5 - rating);
}

/**
 * container: the element the cards go into; view: "learner" | "mentor";
 * registry: the page's CardRegistry (so realtime updates reach Past cards too).
 * Returns { load(stillWanted?) }.
 */
export function setupPastSessions({ container, view, registry }) {
  let seq = 0;

  // stillWanted(): false once the page moved on (another tab sharing the container was chosen meanwhile).
  async function load(stillWanted = () => true) {
    const mine = ++seq;
    container.setAttribute("aria-busy", "true");
    try {
      const { sessions } = await api("GET", "/api/sessions/mine/past");
      if (mine !== seq || !stillWanted()) return;
      for (const old of registry.all()) if (container.contains(old.el)) registry.forget(old);
      const cards = sessions.map((session) => pastCard(session));
      container.replaceChildren(...(cards.length ? cards.map((c) => c.el) : [emptyState(EMPTY[view])]));
    } catch (err) {
      if (mine !== seq || !stillWanted()) return;
      container.replaceChildren(emptyState(`Could not load past sessions: ${err.message}`));
    } finally {
      if (mine === seq) container.setAttribute("aria-busy", "false");
    }
  }

  function pastCard(session) {
    // Past cards have nothing to book, join or go live with: the card's own actions stay hidden.
    const card = new SessionCard(session, { view, onAction() {} });
    card.actions.hidden = true;
    card.el.dataset.past = "true";
    registry.add(card);
    const after = session.after || {};
    const parts = view === "mentor" ? mentorParts(session, after) : learnerParts(session, after);
    // A recorded session's recording: "Recording…", its progress, then Download (it hides itself for
    // anyone it is not shared with).
    if (session.record && session.status !== "cancelled") parts.push(recordingPanel(session.id, { player: false }).el);
    // Beside the card's own extra slot, which the card empties whenever editing is closed.
    card.extra.after(el("div", { className: "past-after", "data-testid": "past-after" }, ...parts));
    return card;
  }

  function resourceList(resources, { removable = false } = {}) {
    if (!resources.length) return el("p", { className: "muted", text: "No resources shared." });
    return el("ul", { className: "resources" }, ...resources.map((r) => el("li", {},
      el("a", { href: r.download_url, download: r.filename || "", text: r.title }),
      el("span", { className: "muted", text: ` · ${sizeText(r.size_bytes)}` }),
      removable ? removeButton(r) : null)));
  }

  function removeButton(resource) {
    const button = el("button", { type: "button", className: "link danger-text", text: " Remove",
      "aria-label": `Remove ${resource.title}` });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("DELETE", `/api/resources/${resource.id}`);
        toast(`Removed “${resource.title}”.`, "info");
        load();
      } catch (err) {
        toast(err.message, "error");
        button.disabled = false;
      }
    });
    return button;
  }

  // -- learner -----------------------------------------------------------------------
  function learnerParts(session, after) {
    const parts = [];
    if (session.viewer?.booking_status !== "confirmed") return parts;
    parts.push(el("h4", { text: "Resources" }), resourceList(after.resources || []));
    if (session.status !== "ended") return parts;
    parts.push(el("h4", { text: "Your feedback" }), feedbackState(session, after));
    return parts;
  }

  function feedbackState(session, after) {
    const box = el("div", { className: "feedback-state" });
    const show = () => {
      const given = after.feedback;
      const children = [];
      if (given) {
        children.push(el("p", { className: "rated", "data-testid": "rated", text: `You rated ★${given.rating}` }));
        if (given.comment) children.push(el("p", { className: "comment" }, el("q", { text: given.comment })));
      }
      if (after.can_rate) {
        const open = el("button", { type: "button", className: given ? "btn small ghost" : "btn small",
          text: given ? "Edit rating ✎" : "Rate ▶" });
        open.addEventListener("click", () => box.replaceChildren(rateForm(session, given, show)));
        children.push(open);
        if (given) {
          children.push(el("p", { className: "muted small",
            text: `You can change it until ${formatLocal(after.editable_until)}.` }));
        }
      }
      box.replaceChildren(...children);
    };
    show();
    return box;
  }

  function rateForm(session, given, cancel) {
    const chosen = { value: given?.rating || 0 };
    const labels = [];
    const fieldset = el("fieldset", { className: "stars" }, el("legend", { text: "Rate your mentor" }));
    const paint = () => labels.forEach((label, i) => label.classList.toggle("on", i < chosen.value));
    for (let n = 1; n <= 5; n += 1) {
      const id = `rate-${session.id}-${n}`;
      const input = el("input", { type: "radio", name: "rating", value: String(n), id, checked: n === chosen.value });
      const label = el("label", { htmlFor: id, text: "★", "aria-label": `${n} star${n > 1 ? "s" : ""}`,
        title: `${n} of 5` });
      input.addEventListener("change", () => { chosen.value = n; paint(); });
      labels.push(label);
      fieldset.append(input, label);
    }
    paint();
    const comment = el("textarea", { name: "comment", maxLength: 2000, "aria-label": "Comment (optional)",
      placeholder: "What helped? What could be better? (optional)" });
    comment.value = given?.comment || "";
    const error = el("p", { className: "field-error", role: "alert" });
    const submit = el("button", { type: "submit", className: "btn small", text: "Submit rating" });
    const back = el("button", { type: "button", className: "btn small ghost", text: "Cancel" });
    back.addEventListener("click", cancel);
    const form = el("form", { className: "rate-form", noValidate: true }, fieldset, comment, error,
      el("div", { className: "actions" }, submit, back));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!chosen.value) { error.textContent = "Choose 1 to 5 stars."; return; }
      submit.disabled = true;
      try {
        await api("POST", `/api/sessions/${session.id}/feedback`, { rating: chosen.value, comment: comment.value });
        toast("Thanks for rating your mentor ✔", "success");
        await load();
      } catch (err) {
        error.textContent = err.message;
        submit.disabled = false;
      }
    });
    return form;
  }

  // -- mentor ------------------------------------------------------------------------
  function mentorParts(session, after) {
    const parts = [];
    parts.push(el("p", { "data-testid": "attendance",
      text: `Booked ${after.booked ?? 0} · Attended ${after.attended ?? 0}` }));
    if (session.status === "cancelled") return parts;
    const rated = ratingText(after.rating);
    parts.push(el("h4", { text: "Feedback" }),
      el("p", { "data-testid": "session-rating", text: rated || "No ratings yet." }));
    const comments = (after.feedback || []).filter((f) => f.comment);
    if (comments.length) {
      parts.push(el("ul", { className: "comments" }, ...comments.map((f) => el("li", { className: "comment" },
        el("span", { text: `${stars(f.rating)} ` }), el("q", { text: f.comment }),
        el("span", { className: "muted", text: ` — ${f.learner_name}` })))));
    }
    parts.push(el("h4", { text: "Resources" }), resourceList(after.resources || [], { removable: true }));
    if (session.status === "ended" || session.status === "live") parts.push(uploadForm(session));
    return parts;
  }

  function uploadForm(session) {
    const file = el("input", { type: "file", name: "file", required: true, "aria-label": "Resource file",
      accept: ".pdf,.png,.jpg,.jpeg,.gif,.webp,.pptx,.docx,.xlsx,.zip,.txt,.md,.csv,text/plain" });
    const title = el("input", { type: "text", name: "title", maxLength: 200, placeholder: "Title (optional)",
      "aria-label": "Resource title" });
    const submit = el("button", { type: "submit", className: "btn small", text: "Upload ⬆" });
    const error = el("p", { className: "field-error", role: "alert" });
    const form = el("form", { className: "upload-form", "aria-label": "Upload Resources" },
      file, title, el("div", { className: "actions" }, submit), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!file.files.length) { error.textContent = "Choose a file to upload."; return; }
      const body = new FormData();
      body.append("file", file.files[0]);
      if (title.value.trim()) body.append("title", title.value.trim());
      submit.disabled = true;
      error.textContent = "";
      try {
        const { resource } = await api("POST", `/api/sessions/${session.id}/resources`, body, { form: true });
        toast(`Shared “${resource.title}” with the session's learners ✔`, "success");
        await load();
      } catch (err) {
        error.textContent = err.message;
        submit.disabled = false;
      }
    });
    return form;
  }

  return { load };
}
