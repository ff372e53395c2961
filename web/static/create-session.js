// The mentor's Create Session panel: collects the form into multipart (the thumbnail is a file),
// publishes it, and leaves the success toast for the page we redirect to.
import { api, toast, toastAfterRedirect } from "./app.js";
import { clearErrors, showError } from "./forms.js";
import { browserTimeZone, isValidTimeZone, utcToZoned, zonedToUtcIso } from "./time.js";

const MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024;
// Where the server's field names have no input of their own, the error goes next to these.
const ERROR_SLOT = { start_at: "start_at", date: "start_at", time: "start_at", price_rupees: "price_paise" };

export function setupCreateSession({ root, onPublished } = {}) {
  const panel = root || document.getElementById("create-session");
  const form = panel.querySelector("form");
  const toggle = panel.querySelector("[data-toggle-create]");
  const preview = form.querySelector("[data-thumbnail-preview]");
  const priceRow = form.querySelector("[data-price-row]");
  const free = form.elements.free;
  const submit = form.querySelector('button[type="submit"]');

  fillTimeZones(form.elements.timezone);
  defaultSchedule(form);

  function open({ focus = true } = {}) {
    form.hidden = false;
    toggle?.setAttribute("aria-expanded", "true");
    panel.scrollIntoView({ block: "start", behavior: "smooth" });
    if (focus) form.elements.title.focus({ preventScroll: true });
  }
  function close() {
    form.hidden = true;
    toggle?.setAttribute("aria-expanded", "false");
  }
  toggle?.addEventListener("click", () => (form.hidden ? open() : close()));

  const syncPrice = () => {
    priceRow.hidden = free.checked;
    form.elements.price_rupees.required = !free.checked;
  };
  free.addEventListener("change", syncPrice);
  syncPrice();

  form.elements.thumbnail.addEventListener("change", () => {
    const file = form.elements.thumbnail.files[0];
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.hidden = !file;
    preview.removeAttribute("src");
    slot(form, "thumbnail").textContent = "";
    if (!file) return;
    if (!file.type.startsWith("image/")) { slot(form, "thumbnail").textContent = "Choose an image (PNG, JPEG, WebP or GIF)."; return; }
    if (file.size > MAX_THUMBNAIL_BYTES) { slot(form, "thumbnail").textContent = "The image must be under 5 MB."; return; }
    preview.src = URL.createObjectURL(file);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { body, problems } = collect(form);
    if (problems.length) {
      showFieldErrors(form, problems);
      return;
    }
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    try {
      const result = await api("POST", "/api/sessions", body, { form: true });
      toastAfterRedirect("Session Scheduled ✔", "success");
      onPublished?.(result);
      location.assign(result.redirect || "/dashboard/mentor?tab=upcoming");
    } catch (err) {
      showFieldErrors(form, err.body?.errors?.length ? err.body.errors : [{ field: err.field, message: err.message }]);
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
    }
  });

  return {
    open,
    prefill(values, { requestId, learnerName } = {}) {
      applyPrefill(form, values);
      if (requestId) form.elements.live_request_id.value = String(requestId);
      const note = form.querySelector("[data-prefill-note]");
      note.hidden = false;
      note.textContent = learnerName
        ? `Pre-filled from ${learnerName}'s live request. Check the time and publish.`
        : "Pre-filled from an accepted live request. Check the time and publish.";
      syncPrice();
      open();
    },
  };
}

function slot(form, field) {
  return form.querySelector(`[data-error-for="${ERROR_SLOT[field] || field}"]`) || form.querySelector("[data-form-error]");
}

// Every problem beside its field at once (the server judges the whole form too); the first field gets focus.
function showFieldErrors(form, problems) {
  for (const problem of [...problems].reverse()) {
    const field = ERROR_SLOT[problem.field] || problem.field;
    showError(form, { field, message: problem.message }, "create-session-error");
  }
  toast(problems.length > 1 ? `Please fix ${problems.length} fields: ${problems.map((p) => p.message).join(" ")}`
    : problems[0].message, "error");
}

export function selectedTags(form) {
  const picked = [...form.querySelectorAll('[data-tags-for="domain_tags"] input:checked')].map((box) => box.value);
  const typed = (form.elements.domain_tags_other.value || "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
  return [...new Set([...picked, ...typed])];
}

function collect(form) {
  const f = form.elements;
  const problems = [];
  if (f.title.value.trim().length < 3) problems.push({ field: "title", message: "Title must be at least 3 characters." });
  if (!selectedTags(form).length) problems.push({ field: "domain_tags", message: "Pick at least one domain tag." });
  const timezone = f.timezone.value.trim() || browserTimeZone();
  const zoneOk = isValidTimeZone(timezone);
  if (!zoneOk) problems.push({ field: "timezone", message: "Choose a timezone from the list, like Asia/Kolkata." });
  const startAt = zoneOk ? zonedToUtcIso(f.date.value, f.time.value, timezone) : null;
  if (zoneOk && !startAt) problems.push({ field: "start_at", message: "Pick a date and a time." });
  let pricePaise = 0;
  if (!f.free.checked) {
    const rupees = Number(f.price_rupees.value);
    if (!f.price_rupees.value || !Number.isFinite(rupees) || rupees <= 0) {
      problems.push({ field: "price_paise", message: "Enter a price in ₹, or mark the session as free." });
    }
    // Integer paise: floating rupees never reach the server (₹499.99 × 100 = 49998.99…).
    pricePaise = Math.round(rupees * 100);
  }
  if (problems.length) return { problems };
  const body = new FormData();
  body.append("title", f.title.value.trim());
  for (const tag of selectedTags(form)) body.append("domain_tags", tag);
  body.append("description", f.description.value.trim());
  body.append("start_at", startAt);
  body.append("timezone", timezone);
  body.append("duration_minutes", f.duration_minutes.value);
  body.append("price_paise", String(pricePaise));
  body.append("capacity", f.capacity.value || "1");
  body.append("record", f.record.checked ? "true" : "false");
  if (f.live_request_id.value) body.append("live_request_id", f.live_request_id.value);
  const file = f.thumbnail.files[0];
  if (file) body.append("thumbnail", file, file.name);
  return { body, problems };
}

function fillTimeZones(input) {
  const list = document.getElementById(input.getAttribute("list"));
  if (list && typeof Intl.supportedValuesOf === "function") {
    list.replaceChildren(...Intl.supportedValuesOf("timeZone").map((zone) => new Option(zone, zone)));
  }
  if (!input.value) input.value = browserTimeZone();
}

function defaultSchedule(form) {
  // Tomorrow at the next whole hour: a sensible first suggestion the mentor will usually adjust.
  const when = new Date(Date.now() + 24 * 3600 * 1000);
  when.setMinutes(0, 0, 0);
  when.setHours(when.getHours() + 1);
  const local = utcToZoned(when.toISOString(), form.elements.timezone.value || browserTimeZone());
  if (!form.elements.date.value) form.elements.date.value = local.date;
  if (!form.elements.time.value) form.elements.time.value = local.time;
}

function applyPrefill(form, values = {}) {
  const f = form.elements;
  for (const name of ["title", "description", "duration_minutes", "capacity", "timezone"]) {
    if (values[name] !== undefined && values[name] !== null && f[name]) f[name].value = String(values[name]);
  }
  if (Array.isArray(values.domain_tags)) {
    const known = new Set();
    for (const box of form.querySelectorAll('[data-tags-for="domain_tags"] input')) {
      box.checked = values.domain_tags.includes(box.value);
      known.add(box.value);
    }
    f.domain_tags_other.value = values.domain_tags.filter((t) => !known.has(t)).join(", ");
  }
  // The learner's first preferred time, when it is an instant, is the best first guess at the start.
  const start = values.start_at || (values.preferred_times || []).find((t) => !Number.isNaN(Date.parse(t)));
  if (start && Date.parse(start) > Date.now()) {
    const local = utcToZoned(start, f.timezone.value || browserTimeZone());
    f.date.value = local.date;
    f.time.value = local.time;
  }
  if (typeof values.price_paise === "number") {
    f.free.checked = values.price_paise === 0;
    f.price_rupees.value = values.price_paise ? (values.price_paise / 100).toFixed(2) : "";
  }
  if (values.live_request_id) f.live_request_id.value = String(values.live_request_id);
}
