// Edit ✎ on a mentor's card: an inline form that PATCHes only what changed, so an untouched
// start time is never re-checked against a clock that has moved on since the page loaded.
import { api, toast } from "./app.js";
import { clearErrors, showError } from "./forms.js";
import { browserTimeZone, isValidTimeZone, utcToZoned, zonedToUtcIso } from "./time.js";

let counter = 0;

function field(label, input, errorFor) {
  const wrap = document.createElement("label");
  wrap.append(label, input);
  const error = document.createElement("p");
  error.className = "field-error";
  error.dataset.errorFor = errorFor || input.name;
  return [wrap, error];
}

function input(name, props = {}) {
  const node = document.createElement(props.tag || "input");
  node.name = name;
  for (const [key, value] of Object.entries(props)) if (key !== "tag") node[key] = value;
  return node;
}

export function openEditForm(card) {
  if (card.extra.querySelector("form")) { card.extra.querySelector("form").elements.title.focus(); return; }
  const s = card.session;
  const zone = isValidTimeZone(s.timezone) ? s.timezone : browserTimeZone();
  const local = utcToZoned(s.start_at, zone);
  const original = {
    title: s.title, description: s.description || "", date: local.date, time: local.time,
    duration_minutes: String(s.duration_minutes), capacity: String(s.capacity),
    price_rupees: s.price_paise ? (s.price_paise / 100).toFixed(2) : "0",
  };
  counter += 1;
  const form = document.createElement("form");
  form.className = "form edit-session";
  form.noValidate = true;
  form.setAttribute("aria-label", `Edit ${s.title}`);
  const parts = [
    ...field("Title", input("title", { value: original.title, maxLength: 140, required: true })),
    ...field(`Date (${zone})`, input("date", { type: "date", value: original.date }), "start_at"),
    ...field("Time", input("time", { type: "time", value: original.time, step: 300 }), "time"),
    ...field("Duration (minutes)", input("duration_minutes", { type: "number", min: 15, max: 480, value: original.duration_minutes })),
    ...field("Capacity", input("capacity", { type: "number", min: 1, max: 500, value: original.capacity })),
    ...field("Price (₹, 0 for free)", input("price_rupees", { type: "number", min: 0, step: "0.01", value: original.price_rupees }), "price_paise"),
    ...field("Description", input("description", { tag: "textarea", rows: 3, value: original.description })),
  ];
  const general = document.createElement("p");
  general.className = "form-error";
  general.id = `edit-error-${counter}`;
  const actions = document.createElement("div");
  actions.className = "actions";
  const save = Object.assign(document.createElement("button"), { type: "submit", className: "btn small", textContent: "Save changes" });
  const close = Object.assign(document.createElement("button"), { type: "button", className: "btn small ghost", textContent: "Close" });
  actions.append(save, close);
  form.append(...parts, general, actions);
  card.extra.replaceChildren(form);
  form.elements.title.focus();

  close.addEventListener("click", () => { card.extra.replaceChildren(); card.buttons.edit.focus(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const f = form.elements;
    const patch = {};
    if (f.title.value.trim() !== original.title) patch.title = f.title.value.trim();
    if (f.description.value.trim() !== original.description.trim()) patch.description = f.description.value.trim();
    if (f.date.value !== original.date || f.time.value !== original.time) {
      patch.start_at = zonedToUtcIso(f.date.value, f.time.value, zone);
      patch.timezone = zone;
    }
    if (f.duration_minutes.value !== original.duration_minutes) patch.duration_minutes = Number(f.duration_minutes.value);
    if (f.capacity.value !== original.capacity) patch.capacity = Number(f.capacity.value);
    if (f.price_rupees.value !== original.price_rupees) patch.price_paise = Math.round(Number(f.price_rupees.value || 0) * 100);
    if (!Object.keys(patch).length) { card.extra.replaceChildren(); return; }
    save.disabled = true;
    try {
      const { session } = await api("PATCH", `/api/sessions/${s.id}`, patch);
      card.update(session);
      card.extra.replaceChildren();
      toast("Session updated ✔", "success");
    } catch (err) {
      const slot = { date: "start_at", price_rupees: "price_paise" }[err.field] || err.field;
      showError(form, { field: slot, message: err.message }, general.id);
      toast(err.message, "error");
      save.disabled = false;
    }
  });
}
