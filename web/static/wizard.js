// The signup wizard: each step is checked by the server before the next; Back keeps what was typed;
// a reload keeps the step (fields in sessionStorage, the password only as a hash in the server session).
import { api, toast } from "./app.js";
import { clearErrors, readFields, showError } from "./forms.js";

const root = document.getElementById("signup-wizard");
const form = document.getElementById("wizard-form");
const role = root.dataset.role;
const total = Number(root.dataset.steps);
const storeKey = `signup:${role}`;
const backButton = document.getElementById("wizard-back");
const nextButton = document.getElementById("wizard-next");
let password = "";

function load() {
  try { return JSON.parse(sessionStorage.getItem(storeKey)) || { step: 1, fields: {} }; }
  catch { return { step: 1, fields: {} }; }
}
let state = load();

function save() {
  const { password: _omit, ...fields } = state.fields;
  sessionStorage.setItem(storeKey, JSON.stringify({ step: state.step, fields }));
}

function fieldset(step) { return form.querySelector(`fieldset[data-step="${step}"]`); }

function tagsOf(container, name) {
  const picker = container.querySelector(`[data-tags-for="${name}"]`);
  if (!picker) return undefined;
  const picked = [...picker.querySelectorAll("input:checked")].map((el) => el.value);
  const other = container.querySelector(`[name="${name}_other"]`)?.value || "";
  return [...picked, ...other.split(",").map((s) => s.trim()).filter(Boolean)];
}

function collect(step) {
  const box = fieldset(step);
  const data = readFields(box);
  for (const name of ["interests", "expertise"]) {
    const tags = tagsOf(box, name);
    if (tags !== undefined) data[name] = tags;
  }
  if ("default_price_rupees" in data) {
    const rupees = Number(data.default_price_rupees || 0);
    data.default_price_paise = Number.isFinite(rupees) ? Math.round(rupees * 100) : data.default_price_rupees;
  }
  if ("years_experience" in data) data.years_experience = Number(data.years_experience);
  if ("default_duration_minutes" in data) data.default_duration_minutes = Number(data.default_duration_minutes);
  if (data.password) password = data.password;
  delete data.password;
  return data;
}

function restore() {
  for (const [name, value] of Object.entries(state.fields)) {
    for (const el of form.querySelectorAll(`[name="${name}"]`)) {
      if (el.type === "checkbox") el.checked = Boolean(value);
      else if (typeof value !== "object") el.value = value;
    }
    if (Array.isArray(value)) {
      const picker = form.querySelector(`[data-tags-for="${name}"]`);
      if (picker) for (const box of picker.querySelectorAll("input")) box.checked = value.includes(box.value);
    }
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  for (const el of form.querySelectorAll("[data-default-timezone]")) if (!el.value) el.value = zone;
}

function show(step) {
  for (let i = 1; i <= total; i += 1) fieldset(i).hidden = i !== step;
  for (const li of root.querySelectorAll("[data-step-label]")) {
    const n = Number(li.dataset.stepLabel);
    li.classList.toggle("done", n < step);
    li.classList.toggle("current", n === step);
  }
  document.getElementById("step-counter").textContent = `Step ${step} of ${total}`;
  backButton.hidden = step === 1;
  nextButton.textContent = step === total ? "Finish" : "Next";
  root.dataset.currentStep = String(step);
}

backButton.addEventListener("click", () => {
  Object.assign(state.fields, collect(state.step));
  state.step = Math.max(1, state.step - 1);
  save();
  show(state.step);
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  Object.assign(state.fields, collect(state.step));
  nextButton.disabled = true;
  try {
    const body = { ...state.fields, role, step: state.step };
    if (state.step === 1) body.password = password;
    await api("POST", "/api/auth/signup/step", body);
    if (state.step < total) {
      state.step += 1;
      save();
      show(state.step);
      return;
    }
    const final = { ...state.fields, role, next: root.dataset.next || undefined };
    if (password) final.password = password;
    const result = await api("POST", "/api/auth/signup", final);
    sessionStorage.removeItem(storeKey);
    location.assign(result.redirect);
  } catch (err) {
    if (err.field && ["name", "email", "password"].includes(err.field) && state.step !== 1) {
      state.step = 1;
      show(1);
    }
    showError(form, err, "wizard-error");
    if (!err.field) toast(err.message, "error");
  } finally {
    nextButton.disabled = false;
  }
});

restore();
show(state.step);
