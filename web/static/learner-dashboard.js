// Learner dashboard: Browse Sessions (Recommended / Scheduled / Live Now), booking, joining,
// live requests. Booked sessions follow the mentor live: Join ▶ opens on session.live.
import { api, toast } from "./app.js";
import { cancelBooking, cancelledMessage, moveBooking } from "./booking-changes.js";
import { setupBrowseFilters } from "./browse-filters.js";
import { responsesChannel, roomChannel, sessionChannel } from "./channels.js";
import { confirmDialog } from "./confirm-dialog.js";
import { startLive } from "./dashboard-live.js";
import { setupMyRequests, setupRequestForm } from "./live-requests.js";
import { setupPastSessions } from "./past-sessions.js";
import { CardRegistry, SessionCard, emptyState, refreshCard } from "./session-card.js";
import { setupTabs } from "./tabs.js";

const root = document.getElementById("learner-dashboard");
const learnerId = root.dataset.learnerId;
const browseEl = document.getElementById("browse-sessions");
const bookedEl = document.getElementById("booked-sessions");
const pastEl = document.getElementById("past-sessions");
const registry = new CardRegistry();
const past = setupPastSessions({ container: pastEl, view: "learner", registry });
// Bookings made (or cancelled, or moved) from this tab were already announced by its own toast; the bell's
// echo is skipped.
const bookedHere = new Set();
const changedHere = new Set();
window.mentorlive = Object.assign(window.mentorlive || {}, {
  shownHere: (kind, data) => (kind === "booking_confirmed" && bookedHere.has(data.session_id))
    || ((kind === "booking_cancelled" || kind === "booking_moved") && changedHere.has(data.booking_id)),
});
const EMPTY = {
  recommended: "No recommendations yet: look under Scheduled, or add interests to your profile.",
  scheduled: "No sessions are scheduled right now.",
  live: "Nothing is live right now.",
};

const myRequests = setupMyRequests({
  list: document.getElementById("my-request-list"),
  // Book ▶ on a scheduled request: the same booking as a card's (paid: straight into checkout).
  async onBook(id) {
    const { session } = await api("GET", `/api/sessions/${id}`);
    if (session.viewer?.booking_status !== "confirmed") await book(session);
    const { session: after } = await api("GET", `/api/sessions/${id}`);
    return after.viewer?.booking_status === "confirmed";
  },
});
const requestForm = setupRequestForm({
  dialog: document.getElementById("request-live-dialog"),
  onSent: (request) => request && myRequests.put(request),
});

const live = startLive({
  onEvent: handleEvent,
  onReset(channel) {
    if (channel.startsWith("responses:")) myRequests.load();
    reloadAll();
  },
});
live.subscribe(responsesChannel(learnerId));

function follow(session) {
  // Only booked learners may subscribe to a session's channels; the hub refuses the rest.
  if (session.viewer?.booking_status !== "confirmed") return;
  if (session.status !== "scheduled" && session.status !== "live") return;
  live.subscribe(sessionChannel(session.id));
  if (session.room_code) live.subscribe(roomChannel(session.room_code));
}

function cardsFor(sessions, container, empty) {
  for (const old of registry.all()) if (container.contains(old.el)) registry.forget(old);
  const cards = sessions.map((s) => new SessionCard(s, { view: "learner", onAction }));
  for (const card of cards) {
    if (!card.session.recommendation) continue;
    // Opening a recommended card (anywhere but its buttons) is a signal the recommender learns from.
    card.el.addEventListener("click", (event) => {
      if (!event.target.closest("button")) logRecommendation("open", card.session);
    });
  }
  for (const card of cards) { registry.add(card); follow(card.session); }
  container.replaceChildren(...(cards.length ? cards.map((c) => c.el) : [emptyState(empty)]));
  return cards;
}

// What the learner did with a recommended card, with where it was shown and by which model; fire and forget.
function logRecommendation(kind, s) {
  const rec = s.recommendation;
  if (!rec) return;
  const body = { kind, position: rec.position, model_version: rec.model_version, tab: "recommended",
    surface: "learner_dashboard" };
  if (kind === "view") body.mentor_id = s.mentor?.id;
  else body.session_id = s.id;
  api("POST", "/api/recommend/events", body).catch(() => {});
}

let browseSeq = 0;
let browseLoading = Promise.resolve();
function loadBrowse(tab) {
  browseLoading = fetchBrowse(tab);
  return browseLoading;
}

async function fetchBrowse(tab) {
  const seq = ++browseSeq;
  browseEl.setAttribute("aria-busy", "true");
  try {
    const body = await api("GET", `/api/sessions?${filters.query(tab)}`);
    if (seq !== browseSeq) return;
    const filtered = tab !== "recommended" && filters.active();
    cardsFor(body.sessions, browseEl, filtered ? "No sessions match these filters." : EMPTY[tab]);
    filters.showPage(body);
  } catch (err) {
    if (seq !== browseSeq) return;
    browseEl.replaceChildren(emptyState(`Could not load sessions: ${err.message}`));
  } finally {
    if (seq === browseSeq) browseEl.setAttribute("aria-busy", "false");
  }
}

async function loadBooked() {
  bookedEl.setAttribute("aria-busy", "true");
  try {
    const [liveNow, upcoming] = await Promise.all([
      api("GET", "/api/sessions/mine?tab=live"), api("GET", "/api/sessions/mine?tab=upcoming"),
    ]);
    const seen = new Set();
    const sessions = [...liveNow.sessions, ...upcoming.sessions].filter((s) => !seen.has(s.id) && seen.add(s.id));
    cardsFor(sessions, bookedEl, "You have not booked a session yet. Pick one above.");
  } catch (err) {
    bookedEl.replaceChildren(emptyState(`Could not load your bookings: ${err.message}`));
  } finally {
    bookedEl.setAttribute("aria-busy", "false");
  }
}

function reloadAll() {
  return Promise.all([loadBrowse(tabs.current()), loadBooked()]);
}

async function onAction(action, card, button) {
  const s = card.session;
  if (action === "request-live") {
    logRecommendation("view", s);
    requestForm.open(s.mentor.id, s.mentor.name);
    return;
  }
  if (action === "book") logRecommendation("book", s);
  card.setBusy(true);
  button.disabled = true;
  try {
    if (action === "book") await book(s);
    else if (action === "cancel-booking") await cancel(s);
    else if (action === "move-booking") await move(s);
    else if (action === "join") {
      const result = await api("GET", `/api/sessions/${s.id}/join`);
      location.assign(result.room_url);
    }
  } catch (err) {
    toast(err.message, "error");
    if (err.status === 409) refreshOne(s.id);
  } finally {
    card.setBusy(false);
    card.tick(Date.now());
  }
}

async function cancel(s) {
  changedHere.add(s.viewer.booking_id);
  const result = await cancelBooking(s);
  if (!result) return;
  registry.update(s.id, result.session);
  toast(cancelledMessage(s, result), "success");
  loadBooked();
}

async function move(s) {
  changedHere.add(s.viewer.booking_id);
  const result = await moveBooking(s, { onNone: (message) => toast(message, "info") });
  if (!result) return;
  registry.update(result.from_session.id, result.from_session);
  registry.update(result.session.id, result.session);
  toast(`Booking moved to “${result.session.title}” (${formatWhen(result.session)}).`, "success");
  follow(result.session);
  loadBooked();
}

function formatWhen(session) {
  return new Date(session.start_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// What Join ▶ does right now, said the way the card shows it.
function joinWords(session) {
  if (session.status === "live") return "It is live now: Join ▶ is open.";
  if (session.viewer?.can_join) return "Join ▶ is open.";
  return "Join opens 5 minutes before the start.";
}

async function book(s) {
  // Marked before the call: the server's notification can arrive before the response does.
  bookedHere.add(s.id);
  try {
    await bookAndPay(s);
  } catch (err) {
    bookedHere.delete(s.id);
    throw err;
  }
}

async function bookAndPay(s) {
  const result = await api("POST", `/api/sessions/${s.id}/bookings`, {});
  if (result.session) registry.update(s.id, result.session);
  let session = result.session || s;
  if (result.checkout) {
    // Paid: the seat is held (pending_payment) while Razorpay Checkout takes the money.
    const { payWithCheckout } = await import("./checkout.js");
    let outcome;
    try {
      outcome = await payWithCheckout(result.checkout);
    } catch (err) {
      // A failed payment frees the seat on the server; show the card as the server now has it.
      if (err.session) registry.update(s.id, err.session);
      else refreshOne(s.id);
      throw err;
    }
    if (outcome.session) registry.update(s.id, outcome.session);
    if (outcome.status !== "paid") {
      toast("Payment cancelled. Your seat was released; book again whenever you like.", "info");
      if (!outcome.session) refreshOne(s.id);
      return;
    }
    session = outcome.session || session;
  }
  toast(`Booked ✔ “${s.title}”. ${joinWords(session)}`, "success");
  follow(session);
  loadBooked();
}

function refreshOne(id) {
  return refreshCard(registry, id);
}

// State only: each of these also arrives as a notification (booking confirmed, request accepted
// or declined, session live or cancelled), and the bell raises the toast for it.
function handleEvent({ event, data = {} }) {
  if (event === "booking_confirmed") {
    // A paid booking confirms after checkout (possibly via the webhook): fetch the new state.
    refreshOne(data.session_id).then(() => {
      const card = registry.of(data.session_id)[0];
      if (card) follow(card.session);
      if (!bookedEl.querySelector(`[data-session-id="${data.session_id}"]`)) loadBooked();
    });
  } else if (event === "request_scheduled") {
    // The request became a session: reload the list so it shows "Scheduled" with its link and Book ▶.
    myRequests.load();
  } else if (event === "request_accepted" || event === "request_declined") {
    const request = data.live_request || data;
    if (request.id !== undefined) myRequests.put(request);
  } else if (event === "session.live") {
    for (const card of registry.of(data.session_id)) card.markLive();
  } else if (event === "session.end") {
    registry.update(data.session_id, { status: "ended" });
    // The ended session moves to Past, where its resources and Rate ▶ are.
    if (bookedTabs.current() === "past") past.load();
  } else if (event === "session_updated") {
    const { viewer: _viewer, ...fields } = data.session || data;
    registry.update(fields.id, fields);
  } else if (event === "session_cancelled") {
    registry.update(data.session_id ?? data.id, { status: "cancelled" });
  } else if (event === "booking_cancelled" || event === "booking_moved") {
    // Cancelled or moved in another tab: both cards and My sessions follow.
    for (const id of [data.session_id, data.from_session_id]) if (id != null) refreshOne(id);
    loadBooked();
  }
}

// ?book={id} arrives from the landing page's Book ▶ after signup or login: show the session,
// then ask before booking, because the learner last saw it before a whole signup flow.
async function bookFromLink(id) {
  try {
    await offerBooking(id);
  } finally {
    // Answered either way: a reload must not ask again.
    dropParam("book");
  }
}

async function offerBooking(id) {
  let session;
  try { ({ session } = await api("GET", `/api/sessions/${id}`)); } catch (err) { toast(err.message, "error"); return; }
  const tab = session.status === "live" ? "live" : "scheduled";
  if (tabs.current() !== tab) tabs.select(tab);
  await browseLoading; // the tab's list must be in place before we look for the card in it
  let card = registry.of(id).find((c) => browseEl.contains(c.el));
  if (!card) {
    card = new SessionCard(session, { view: "learner", onAction });
    registry.add(card);
    browseEl.querySelector(".empty")?.remove();
    browseEl.prepend(card.el);
  }
  card.el.scrollIntoView({ block: "center", behavior: "smooth" });
  card.el.classList.add("highlight");
  if (session.viewer?.booking_status === "confirmed") { toast("You have already booked this session ✔", "info"); return; }
  if (card.buttons.book.disabled) { toast(session.viewer?.reasons?.book || "This session cannot be booked now.", "error"); return; }
  const ok = await confirmDialog({
    title: `Book “${session.title}”?`,
    message: `With ${session.mentor?.name || "your mentor"} · ${session.price_display || "Free"}`,
    confirmLabel: "Book ▶",
  });
  if (ok) card.buttons.book.click();
}

function dropParam(name) {
  const url = new URL(location.href);
  url.searchParams.delete(name);
  history.replaceState(history.state, "", url);
}

// Search and filters apply to Scheduled and Live Now; filtering from Recommended moves to Scheduled.
const filters = setupBrowseFilters({
  form: document.getElementById("browse-filters"),
  pager: document.getElementById("browse-pager"),
  onChange() {
    if (tabs.current() === "recommended") tabs.select("scheduled");
    else loadBrowse(tabs.current());
  },
});
const tabs = setupTabs(document.querySelector('#learner-dashboard [role="tablist"]'), {
  // A link that carries filters opens on Scheduled, where they apply.
  initial: filters.active() ? "scheduled" : "recommended",
  onSelect: loadBrowse,
});
// My booked sessions: Upcoming (live and scheduled) or Past (ended, with resources and feedback).
const bookedTabs = setupTabs(document.querySelector('#my-booked [role="tablist"]'), {
  param: "booked",
  initial: "upcoming",
  onSelect(name) {
    bookedEl.hidden = name !== "upcoming";
    pastEl.hidden = name !== "past";
    if (name === "past") past.load();
  },
});
registry.startTicking();
loadBooked();
myRequests.load();

const params = new URLSearchParams(location.search);
if (params.get("book")) bookFromLink(params.get("book"));
if (params.get("request_live")) {
  const dialog = document.getElementById("request-live-dialog");
  dialog.addEventListener("close", () => dropParam("request_live"), { once: true });
  requestForm.open(params.get("request_live"));
}
