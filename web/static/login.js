import { api, toast } from "./app.js";
import { clearErrors, readFields, showError } from "./forms.js";

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const data = readFields(form);
  try {
    const result = await api("POST", "/api/auth/login", { ...data, next: form.dataset.next || undefined });
    location.assign(result.redirect);
  } catch (err) {
    showError(form, err, "login-error");
    if (!err.field) toast(err.message, "error");
  }
});
