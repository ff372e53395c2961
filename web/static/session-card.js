// One session card, shared by both dashboards. The server decides (viewer.can_*); the card only
// mirrors its rules of time so buttons open on the minute without a reload (ARCHITECTURE §4).
import { api, countdownText, formatLocal } from "./app.js";
import { withIcon } from "./icons.js";

let cardCount = 0; // ids for aria-labelledby: one session may have two cards on a page

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key in node && !key.includes("-")) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function actionButton(action, label, className = "btn small") {
  return el("button", { type: "button", className, dataset: { action }, text: label });
}

function ms(iso) { return iso ? new Date(iso).getTime() : NaN; }

// Cards are keyed by session id; one session can show twice on a page (Browse and My sessions),
// so every update goes to each of its cards.
export class CardRegistry {
  constructor() { this.cards = new Map(); }
  add(card) {
    const id = String(card.session.id);
    if (!this.cards.has(id)) this.cards.set(id, new Set());
    this.cards.get(id).add(card);
  }
  forget(card) { this.cards.get(String(card.session.id))?.delete(card); }
  of(id) { return [...(this.cards.get(String(id)) || [])].filter((card) => card.el.isConnected); }
  all() { return [...this.cards.values()].flatMap((set) => [...set]).filter((card) => card.el.isConnected); }
  update(id, fields) { for (const card of this.of(id)) card.update(fields); }
  // One timer for every card: countdowns and time gates move together, once a second.
  startTicking() {
    const tick = () => { const now = Date.now(); for (const card of this.all()) card.tick(now); };
    tick();
    return setInterval(tick, 1000);
  }
}

export class SessionCard {
  /** view: "mentor" | "learner"; onAction(action, card, button) performs the button's call. */
  constructor(session, { view, onAction }) {
    this.session = session;
    this.view = view;
    this.onAction = onAction;
    this.liveSignal = false; // a session.live event seen before the next API refresh
    this.busy = false;
    this.build();
    this.render();
  }

  build() {
    const s = this.session;
    this.thumb = el("div", { className: "thumb", "aria-hidden": "true" });
    this.title = el("h3");
    this.tags = el("p", { className: "tags" });
    // Only the Recommended tab's sessions carry a reason: why this card was picked for this learner.
    this.reason = s.reason ? el("p", { className: "reason muted", "data-testid": "rec-reason" }) : null;
    this.mentor = this.view === "learner" ? el("p", { className: "mentor" }) : null;
    this.rating = el("span", { className: "rating", "data-testid": "mentor-rating" });
    this.when = el("time", { className: "when-date" });
    this.countdown = el("span", { className: "countdown" });
    this.liveBadge = el("span", { className: "badge live", text: "LIVE" });
    this.whenRow = el("p", { className: "when" }, this.liveBadge, this.when, this.countdown);
    this.price = el("p", { className: "price" });
    this.statusBadge = el("span", { className: "badge status" });
    this.bookedBadge = this.view === "mentor"
      ? el("span", { className: "badge booked", "data-testid": "booked-badge", "aria-live": "polite" })
      : null;
    this.seats = el("span", { className: "seats muted" });
    this.meta = el("p", { className: "meta" }, this.bookedBadge, this.statusBadge, this.seats,
      this.view === "mentor" ? this.rating : null);
    this.actions = el("div", { className: "actions" });
    this.buttons = {};
    const add = (action, label, className) => {
      const button = actionButton(action, label, className);
      this.buttons[action] = button;
      this.actions.append(button);
    };
    if (this.view === "mentor") {
      add("go-live", "Go Live ▶");
      add("enter-room", "Enter Room ▶", "btn small ghost");
      add("edit", "Edit ✎", "btn small ghost");
      add("cancel", "Cancel", "btn small ghost danger-text");
      withIcon(this.buttons.cancel, "trash", "Cancel");
    } else {
      add("book", "Book ▶");
      add("join", "Join ▶");
      add("move-booking", "Move", "btn small ghost");
      withIcon(this.buttons["move-booking"], "move", "Move");
      add("cancel-booking", "Cancel booking", "btn small ghost danger-text");
      withIcon(this.buttons["cancel-booking"], "trash", "Cancel booking");
      add("request-live", "Request Live ▶", "btn small ghost");
      this.buttons["request-live"].dataset.protected = "request-live";
      // A confirmed booking's invite (.ics, the same event its confirmation email carried).
      this.calendarLink = el("a", { className: "btn small ghost", "data-testid": "add-to-calendar",
        text: "Add to calendar", hidden: true });
      this.actions.append(this.calendarLink);
    }
    this.actions.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || button.disabled || this.busy) return;
      this.onAction(button.dataset.action, this, button);
    });
    this.extra = el("div", { className: "card-extra" }); // inline edit form lives here
    this.el = el("article", {
      className: "session-card", "data-testid": "session-card", dataset: { sessionId: String(s.id) },
    }, this.thumb, el("div", { className: "body" },
      this.title, this.reason, this.tags, this.mentor, this.whenRow, this.price, this.meta, this.actions,
      this.extra));
    cardCount += 1;
    this.title.id = `session-card-title-${cardCount}`;
    this.el.setAttribute("aria-labelledby", this.title.id);
  }

  update(fields) {
    this.session = { ...this.session, ...fields, viewer: { ...(this.session.viewer || {}), ...(fields.viewer || {}) } };
    if (fields.status && fields.status !== "scheduled") this.liveSignal = fields.status === "live";
    this.render();
  }

  markLive() {
    this.liveSignal = true;
    this.update({ status: "live" });
  }

  render() {
    const s = this.session;
    this.el.dataset.status = s.status;
    this.title.textContent = s.title;
    this.thumb.replaceChildren(s.thumbnail_url
      ? el("img", { src: s.thumbnail_url, alt: "", loading: "lazy" })
      : el("span", { text: (s.title || "?").slice(0, 1).toUpperCase() }));
    if (this.reason) this.reason.textContent = s.reason || "";
    this.tags.replaceChildren(...(s.domain_tags || []).map((t) => el("span", { className: "tag", text: t })));
    if (this.mentor) {
      const name = el("strong", { text: s.mentor?.name || "a mentor" });
      // The mentor's name leads to their public page (profile, ratings, other sessions).
      this.mentor.replaceChildren("with ", s.mentor?.profile_url
        ? el("a", { href: s.mentor.profile_url, className: "mentor-link", "data-testid": "mentor-link" }, name) : name);
      if (s.mentor?.headline) this.mentor.append(el("span", { className: "muted", text: ` · ${s.mentor.headline}` }));
      this.mentor.append(this.rating);
    }
    const rated = ratingText(s.mentor_rating);
    this.rating.textContent = rated ? ` ${rated}` : "";
    this.rating.hidden = !rated;
    if (rated) this.rating.title = `Mentor rating: ${rated} from learners' feedback`;
    this.when.dateTime = s.start_at;
    // The viewer's own zone: a learner in Berlin reads Berlin time for a session set in Kolkata.
    this.when.textContent = formatLocal(s.start_at);
    this.price.textContent = s.price_display || (s.price_paise ? `₹${(s.price_paise / 100).toFixed(2)}` : "Free");
    this.price.classList.toggle("free", !s.price_paise);
    if (this.bookedBadge) this.bookedBadge.textContent = `Booked (${s.booked_count ?? 0})`;
    this.seats.textContent = s.capacity > 1 || s.seats_left === 0
      ? `${s.seats_left ?? Math.max(0, s.capacity - (s.seats_taken || 0))} of ${s.capacity} seats left` : "";
    const terminal = s.status === "ended" || s.status === "cancelled";
    this.statusBadge.hidden = !terminal;
    this.statusBadge.textContent = s.status === "cancelled" ? "Cancelled" : "Ended";
    this.tick(Date.now());
  }

  isLive() { return this.session.status === "live" || this.liveSignal; }

  tick(now) {
    const s = this.session;
    const live = this.isLive();
    const terminal = s.status === "ended" || s.status === "cancelled";
    this.liveBadge.hidden = !live;
    this.countdown.hidden = live || terminal;
    if (!live && !terminal) this.countdown.textContent = ` · ${countdownText(s.start_at, now)}`;
    if (this.view === "mentor") this.gateMentor(now, live, terminal);
    else this.gateLearner(now, live, terminal);
  }

  gateMentor(now, live, terminal) {
    const s = this.session;
    const b = this.buttons;
    const scheduled = s.status === "scheduled" && !live;
    b["go-live"].hidden = terminal || live;
    setEnabled(b["go-live"], scheduled && now >= ms(s.go_live_opens_at) && now < ms(s.end_at),
      now < ms(s.go_live_opens_at) ? `Opens ${countdownText(s.go_live_opens_at, now)} (15 min before start)` : s.viewer?.reasons?.go_live);
    b["enter-room"].hidden = terminal;
    setEnabled(b["enter-room"], live || (s.booked_count ?? 0) >= 1, "Opens once a learner books");
    const editable = scheduled && now < ms(s.edit_closes_at);
    for (const action of ["edit", "cancel"]) {
      b[action].hidden = terminal || live;
      setEnabled(b[action], editable, "Editing closes 5 min before start");
    }
    if (!editable) this.extra.replaceChildren();
  }

  gateLearner(now, live, terminal) {
    const s = this.session;
    const b = this.buttons;
    const booking = s.viewer?.booking_status;
    const booked = booking === "confirmed";
    b.book.hidden = terminal && !booked;
    if (booked) {
      b.book.textContent = "Booked ✔";
      b.book.classList.add("booked");
      setEnabled(b.book, false);
      b.book.title = "You have a seat";
    } else if (booking === "pending_payment") {
      b.book.textContent = "Payment pending";
      setEnabled(b.book, false, "Complete the payment to confirm your seat");
    } else {
      b.book.textContent = "Book ▶";
      b.book.classList.remove("booked");
      const full = s.seats_left === 0;
      const open = (s.status === "scheduled" || live) && now < ms(s.end_at) && !full;
      setEnabled(b.book, open, full ? "This session is full" : s.viewer?.reasons?.book);
    }
    b.join.hidden = !booked || terminal;
    setEnabled(b.join, booked && (live || now >= ms(s.join_opens_at)),
      `Opens ${countdownText(s.join_opens_at, now)} (5 min before start) or when the mentor goes live`);
    const calendar = booked && !terminal ? s.viewer?.calendar_url : null;
    this.calendarLink.hidden = !calendar;
    if (calendar) { this.calendarLink.href = calendar; this.calendarLink.download = `mentorlive-${s.id}.ics`; }
    // Cancel and Move: a learner's own seat, until the session's edit window closes (T-5).
    const holding = booked || booking === "pending_payment";
    const changeable = holding && s.status === "scheduled" && !live && now < ms(s.edit_closes_at)
      && s.viewer?.booking_id != null;
    b["cancel-booking"].hidden = !changeable;
    b["move-booking"].hidden = !changeable || !booked;
    setEnabled(b["cancel-booking"], changeable);
    setEnabled(b["move-booking"], changeable && booked);
    b["request-live"].dataset.next = `/dashboard/learner?request_live=${s.mentor?.id ?? ""}`;
    b["request-live"].hidden = !s.mentor?.id;
  }

  setBusy(busy) {
    this.busy = busy;
    this.el.setAttribute("aria-busy", busy ? "true" : "false");
  }
}

function setEnabled(button, enabled, reason = "") {
  button.disabled = !enabled;
  if (enabled) button.removeAttribute("title");
  else if (reason) button.title = reason;
}

// "★ 4.5 (12)", or "" while nobody has rated the mentor.
export function ratingText(rating) {
  if (!rating || !rating.count || rating.average === null || rating.average === undefined) return "";
  return `★ ${Number(rating.average).toFixed(1)} (${rating.count})`;
}

export function emptyState(text) {
  return el("p", { className: "muted empty", text });
}

// Reload one card from the API (after an event that only says "this changed").
export async function refreshCard(registry, id) {
  try {
    const { session } = await api("GET", `/api/sessions/${id}`);
    registry.update(id, session);
  } catch { /* the next reload brings it back in line */ }
}
