// Form helpers: read fields into an object and show the server's per-field errors.

export function clearErrors(root) {
  for (const el of root.querySelectorAll(".field-error, .form-error")) el.textContent = "";
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

export function showError(root, err, fallbackId) {
  const field = err.field;
  const slot = field && root.querySelector(`[data-error-for="${field}"]`);
  if (slot) {
    slot.textContent = err.message;
    const input = root.querySelector(`[name="${field}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    return;
  }
  const general = fallbackId && document.getElementById(fallbackId);
  if (general) general.textContent = err.message;
}

export function readFields(container) {
  const data = {};
  for (const el of container.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (el.type === "hidden" && el.name === "csrf_token") continue;
    if (el.type === "checkbox") data[el.name] = el.checked;
    else data[el.name] = el.value;
  }
  return data;
}
