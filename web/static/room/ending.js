// After the end: the mentor uploads resources for the learners, each learner rates the mentor
// (1–5 stars and a comment, editable for 7 days). Also the screen of a learner who left a call
// that is still going. Errors come back as {"error": ...} and show as toasts (docs/api.md).
import { api, toast } from "../app.js";
import { recordingPanel } from "../recording-panel.js";
import { h } from "./dom.js";
import { icons } from "./icons.js";

const RATING_WORDS = ["", "Poor", "Fair", "Good", "Very good", "Excellent"];

function sizeText(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function uploadResources(context) {
  const input = h("input", { type: "file", id: "resource-files", multiple: true, class: "file-input" });
  const list = h("ul", { class: "resource-list", "aria-label": "Uploaded resources" });
  const button = h("button", { type: "submit", class: "btn" }, h("span", { class: "btn-icon", html: icons.upload }), "Upload");
  const picked = h("span", { class: "muted", id: "resource-picked" }, "No files chosen");
  const form = h("form", { class: "resource-form" },
    h("label", { class: "drop", for: "resource-files" }, h("span", { class: "drop-icon", html: icons.upload }),
      h("strong", {}, "Choose files"), h("span", { class: "muted" }, "Slides, notes or code for your learners")),
    input, picked, button);

  function render(resources) {
    list.replaceChildren(...resources.map((r) => h("li", {},
      h("a", { href: r.download_url || r.url || `/resources/${r.id}/download` }, r.name || r.filename || `Resource ${r.id}`),
      h("span", { class: "muted" }, sizeText(r.size ?? r.size_bytes)))));
  }

  async function load() {
    try {
      render((await api("GET", context.resources_url)).resources || []);
    } catch {
      // Nothing uploaded yet, or the list is not reachable now: the form still works.
    }
  }

  input.addEventListener("change", () => {
    picked.textContent = input.files.length ? [...input.files].map((f) => f.name).join(", ") : "No files chosen";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.files.length) {
      toast("Choose at least one file to upload.", "error");
      return;
    }
    button.disabled = true;
    try {
      for (const file of input.files) {
        const body = new FormData();
        body.append("file", file);
        await api("POST", context.resources_url, body, { form: true });
      }
      toast(`Uploaded ${input.files.length} file${input.files.length === 1 ? "" : "s"} ✔`, "success");
      form.reset();
      picked.textContent = "No files chosen";
      await load();
    } catch (error) {
      toast(error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  load();
  return h("div", { class: "end-card", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload Resources"),
    h("p", { class: "muted" }, "Share what you used in the session. Your learners can download it from their Past sessions."),
    form, list);
}

function rateMentor(context) {
  const stars = [1, 2, 3, 4, 5].map((value) => {
    const input = h("input", { type: "radio", name: "rating", value, id: `rating-${value}`, class: "star-input", required: true });
    const label = h("label", { for: input.id, class: "star", title: RATING_WORDS[value], html: icons.star });
    label.append(h("span", { class: "visually-hidden" }, `${value} star${value === 1 ? "" : "s"}`));
    return [input, label];
  });
  const word = h("span", { class: "rating-word", "aria-hidden": "true" });
  const comment = h("textarea", { id: "feedback-comment", name: "comment", rows: 4, maxlength: 2000, placeholder: "What helped? What could be better?" });
  const button = h("button", { type: "submit", class: "btn" }, "Submit feedback");
  const note = h("p", { class: "muted small", id: "feedback-note" });
  const form = h("form", { class: "feedback-form" },
    h("fieldset", { class: "stars" }, h("legend", {}, "Rating"), h("div", { class: "star-row" }, ...stars.flat(), word)),
    h("label", { for: comment.id, class: "field-label" }, "Comment"), comment, button, note);

  // Stars up to the one chosen (or pointed at) light up.
  function light(upTo) {
    stars.forEach(([, label], i) => label.classList.toggle("lit", i < upTo));
    word.textContent = RATING_WORDS[upTo] || "";
  }

  function showWord() {
    const checked = form.querySelector(".star-input:checked");
    form.dataset.rating = checked ? checked.value : "";
    light(checked ? Number(checked.value) : 0);
  }

  stars.forEach(([, label], i) => {
    label.addEventListener("mouseenter", () => light(i + 1));
    label.addEventListener("mouseleave", showWord);
  });

  function fill(feedback) {
    if (!feedback) return;
    const radio = form.querySelector(`#rating-${feedback.rating}`);
    if (radio) radio.checked = true;
    comment.value = feedback.comment || "";
    button.textContent = "Update feedback";
    const until = feedback.editable_until ? new Date(feedback.editable_until) : null;
    note.textContent = until ? `You can edit your feedback until ${until.toLocaleDateString(undefined, { day: "numeric", month: "short" })}.` : "";
    showWord();
  }

  form.addEventListener("change", showWord);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = form.querySelector(".star-input:checked");
    if (!checked) {
      toast("Choose a rating from 1 to 5 stars.", "error");
      return;
    }
    button.disabled = true;
    try {
      const body = await api("POST", context.feedback_url, { rating: Number(checked.value), comment: comment.value.trim() });
      // POST answers {feedback} with editable_until inside it (GET puts it beside the feedback).
      fill(body.feedback || { rating: Number(checked.value), comment: comment.value.trim() });
      toast("Thanks for your feedback ✔", "success");
    } catch (error) {
      toast(error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  api("GET", context.feedback_url)
    .then((body) => body.feedback && fill({ ...body.feedback, editable_until: body.editable_until }))
    .catch(() => {});
  return h("div", { class: "end-card", "aria-labelledby": "rate-title" },
    h("h2", { id: "rate-title" }, "Rate Your Mentor"),
    h("p", { class: "muted" }, `How was your session with ${context.mentor.name}?`),
    form);
}

export function showEnded(context, root = document.getElementById("ended")) {
  const card = context.isMentor ? uploadResources(context) : context.isLearner ? rateMentor(context) : null;
  root.replaceChildren(
    h("div", { class: "ended-hero" },
      h("h1", { id: "ended-title" }, "This session has ended"),
      h("p", { class: "muted" }, context.isMentor ? "Thanks for teaching! Everyone's call has ended." : "Thanks for joining."),
      context.dashboard_url ? h("a", { class: "btn ghost", href: context.dashboard_url }, "Back to dashboard") : null),
    // The recording plays here once it is ready (for the mentor, admins, and attendees it is shared with).
    context.records ? h("div", { class: "end-card" }, recordingPanel(context.session_id).el) : null,
    card,
  );
  root.hidden = false;
}

export function showLeft(context, { onRejoin }, root = document.getElementById("ended")) {
  const rejoin = h("button", { type: "button", class: "btn", id: "rejoin" }, "Rejoin");
  rejoin.addEventListener("click", onRejoin);
  root.replaceChildren(h("div", { class: "ended-hero" },
    h("h1", { id: "ended-title" }, "You left the call"),
    h("p", { class: "muted" }, "The session is still going."),
    h("div", { class: "actions" }, rejoin, context.dashboard_url ? h("a", { class: "btn ghost", href: context.dashboard_url }, "Back to dashboard") : null)));
  root.hidden = false;
}
