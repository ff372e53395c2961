// Live requests: a learner asks a mentor for a session; the mentor accepts (and schedules it
// through Create Session) or declines. Both lists also move on realtime events.
import { api, formatLocal, toast } from "./app.js";
import { clearErrors, showError } from "./forms.js";

const PREFILL_KEY = "live-request-prefill:";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function learnerName(request) {
  return request.learner?.name || request.learner_name || "A learner";
}

function mentorName(request) {
  return request.mentor?.name || request.mentor_name || "your mentor";
}

function preferredTimes(request) {
  const times = (request.preferred_times || []).filter(Boolean);
  // Preferred times are free text on the server; the form sends instants, others may not.
  const shown = times.map((t) => (Number.isNaN(Date.parse(t)) ? t : formatLocal(t)));
  return shown.length ? `Preferred: ${shown.join("; ")}` : "No preferred time given";
}

// ── mentor: incoming requests ────────────────────────────────────────────────

export function setupIncomingRequests({ list, countBadge, onAccepted }) {
  const pending = new Map();

  function renderCount() {
    countBadge.hidden = pending.size === 0;
    countBadge.textContent = String(pending.size);
  }

  function renderEmpty() {
    if (pending.size === 0) list.replaceChildren(el("li", "muted empty", "No pending requests."));
  }

  function row(request) {
    const item = el("li", "request");
    item.dataset.requestId = String(request.id);
    const head = el("p", "request-head");
    head.append(el("strong", "", request.topic), el("span", "muted", ` from ${learnerName(request)}`));
    item.append(head);
    if (request.message) item.append(el("p", "request-message", request.message));
    item.append(el("p", "muted small", preferredTimes(request)));
    const actions = el("div", "actions");
    const accept = el("button", "btn small", "Accept ▶");
    const decline = el("button", "btn small ghost", "Decline");
    accept.type = decline.type = "button";
    // The visible words stay the accessible name; the request's heading tells which one it is.
    head.id = `live-request-${request.id}`;
    accept.setAttribute("aria-describedby", head.id);
    decline.setAttribute("aria-describedby", head.id);
    accept.addEventListener("click", () => respond(request, "accept", item));
    decline.addEventListener("click", () => respond(request, "decline", item));
    actions.append(accept, decline);
    item.append(actions);
    return item;
  }

  async function respond(request, verb, item) {
    for (const b of item.querySelectorAll("button")) b.disabled = true;
    try {
      const result = await api("POST", `/api/live-requests/${request.id}/${verb}`, {});
      remove(request.id);
      if (verb === "decline") {
        toast(`Declined “${request.topic}”. ${learnerName(request)} has been told.`, "info");
        return;
      }
      const prefill = { ...(result.prefill || {}), live_request_id: request.id };
      sessionStorage.setItem(PREFILL_KEY + request.id, JSON.stringify({ prefill, learner: learnerName(request) }));
      toast(`Accepted. Schedule the session for ${learnerName(request)} below.`, "success");
      onAccepted(prefill, { requestId: request.id, learnerName: learnerName(request) });
    } catch (err) {
      toast(err.message, "error");
      if (err.status === 409 || err.status === 404) remove(request.id);
      else for (const b of item.querySelectorAll("button")) b.disabled = false;
    }
  }

  function add(request) {
    if (!request?.id || (request.status && request.status !== "pending")) return;
    const existing = list.querySelector(`[data-request-id="${request.id}"]`);
    const fresh = row(request);
    if (existing) existing.replaceWith(fresh);
    else {
      list.querySelector(".empty")?.remove();
      list.prepend(fresh);
    }
    pending.set(String(request.id), request);
    renderCount();
  }

  function remove(id) {
    pending.delete(String(id));
    list.querySelector(`[data-request-id="${id}"]`)?.remove();
    renderCount();
    renderEmpty();
  }

  async function load() {
    list.setAttribute("aria-busy", "true");
    try {
      const { live_requests: requests = [] } = await api("GET", "/api/live-requests");
      pending.clear();
      list.replaceChildren();
      for (const request of [...requests].reverse()) add(request);
      renderEmpty();
    } catch (err) {
      list.replaceChildren(el("li", "form-error", `Could not load requests: ${err.message}`));
    } finally {
      list.setAttribute("aria-busy", "false");
      renderCount();
    }
  }

  return { load, add, remove, find: (id) => pending.get(String(id)) };
}

// The prefill saved when the mentor clicked Accept, or one rebuilt from the request itself when
// the page was opened from a link (?create_from_request=) in another tab or after a restart.
export async function prefillForRequest(id) {
  const saved = sessionStorage.getItem(PREFILL_KEY + id);
  if (saved) {
    try { return JSON.parse(saved); } catch { sessionStorage.removeItem(PREFILL_KEY + id); }
  }
  const { live_requests: requests = [] } = await api("GET", "/api/live-requests");
  const request = requests.find((r) => String(r.id) === String(id));
  if (!request) return null;
  return {
    prefill: {
      title: request.topic, description: request.message || "", preferred_times: request.preferred_times || [],
      live_request_id: request.id,
    },
    learner: learnerName(request),
  };
}

export function forgetPrefill(id) {
  sessionStorage.removeItem(PREFILL_KEY + id);
}

// ── learner: the Request Live form and the learner's own requests ───────────

export function setupRequestForm({ dialog, onSent }) {
  const form = dialog.querySelector("form.request-live-form");
  const heading = dialog.querySelector("[data-request-mentor]");
  const submit = form.querySelector('button[type="submit"]');
  let mentorId = null;

  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const preferred = [...form.querySelectorAll('input[name="preferred_time"]')]
      .map((input) => input.value)
      // datetime-local values carry no zone: the browser reads them as its own local time.
      .filter(Boolean).map((value) => new Date(value).toISOString());
    const body = {
      mentor_id: Number(mentorId),
      topic: form.elements.topic.value.trim(),
      message: form.elements.message.value.trim(),
      preferred_times: preferred,
    };
    submit.disabled = true;
    try {
      const { live_request: request } = await api("POST", "/api/live-requests", body);
      dialog.close();
      form.reset();
      toast("Request sent ✔ The mentor will answer here.", "success");
      onSent?.(request);
    } catch (err) {
      const field = err.field === "preferred_times" ? "preferred_time" : err.field;
      showError(form, { field, message: err.message }, "request-live-error");
      toast(err.message, "error");
    } finally {
      submit.disabled = false;
    }
  });

  return {
    async open(id, name) {
      mentorId = id;
      clearErrors(form);
      heading.textContent = name ? `Request a live session with ${name}` : "Request a live session";
      dialog.showModal();
      form.elements.topic.focus();
      if (!name) {
        // Arriving from a link carries only the mentor's id: fetch the name for the heading.
        try {
          const { mentor } = await api("GET", `/api/mentors/${id}`);
          if (mentorId === id) heading.textContent = `Request a live session with ${mentor.name}`;
        } catch (err) {
          if (err.status === 404) { dialog.close(); toast("That mentor could not be found.", "error"); }
        }
      }
    },
  };
}

export function setupMyRequests({ list, onBook }) {
  const STATUS = { pending: "Waiting for the mentor", accepted: "Accepted: being scheduled", declined: "Declined",
    scheduled: "Scheduled", expired: "Expired" };

  function row(request) {
    const item = el("li", "request");
    item.dataset.requestId = String(request.id);
    const head = el("p", "request-head");
    head.append(el("strong", "", request.topic), el("span", "muted", ` with ${mentorName(request)}`));
    const badge = el("span", `badge status-${request.status}`, STATUS[request.status] || request.status);
    item.append(head, badge, el("p", "muted small", preferredTimes(request)));
    if (request.status === "scheduled" && request.session) item.append(scheduledLink(request.session));
    return item;
  }

  // The session the mentor scheduled from this request: a link to it and Book ▶ in one click.
  function scheduledLink(session) {
    const box = el("div", "scheduled-link");
    const link = document.createElement("a");
    link.href = session.url;
    link.dataset.testid = "scheduled-session-link";
    link.textContent = `${session.title} · ${session.price_display}`;
    const book = el("button", "btn small", "Book ▶");
    book.type = "button";
    book.dataset.bookSession = String(session.id);
    book.disabled = session.status !== "scheduled" && session.status !== "live";
    box.append(link, book);
    return box;
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-book-session]");
    if (!button || button.disabled || !onBook) return;
    button.disabled = true;
    try {
      if (await onBook(Number(button.dataset.bookSession))) button.textContent = "Booked ✔";
      else button.disabled = false;
    } catch (err) {
      toast(err.message, "error");
      button.disabled = false;
    }
  });

  function put(request) {
    const fresh = row(request);
    const existing = list.querySelector(`[data-request-id="${request.id}"]`);
    list.querySelector(".empty")?.remove();
    if (existing) existing.replaceWith(fresh);
    else list.prepend(fresh);
  }

  return {
    put,
    setStatus(id, status) {
      const badge = list.querySelector(`[data-request-id="${id}"] .badge`);
      if (badge) { badge.className = `badge status-${status}`; badge.textContent = STATUS[status] || status; }
    },
    async load() {
      try {
        const { live_requests: requests = [] } = await api("GET", "/api/live-requests");
        list.replaceChildren(...requests.map(row));
        if (!requests.length) list.replaceChildren(el("li", "muted empty", "You have not requested a live session yet."));
      } catch (err) {
        list.replaceChildren(el("li", "form-error", `Could not load your requests: ${err.message}`));
      }
    },
  };
}
