// The mentor's own public profile, edited from their dashboard (PATCH /api/mentors/me).
import { api, toast } from "./app.js";
import { clearErrors, showError } from "./forms.js";

const form = document.getElementById("profile-form");
const preview = document.getElementById("profile-photo-preview");

function showPhoto(url, name) {
  preview.replaceChildren();
  if (url) {
    const img = document.createElement("img");
    img.src = url;
    img.alt = "Your photo";
    preview.append(img);
  } else {
    const span = document.createElement("span");
    span.textContent = (name || "?").split(/\s+/).slice(0, 2).map((p) => p[0] || "").join("").toUpperCase();
    preview.append(span);
  }
}

function fill(mentor) {
  form.elements.name.value = mentor.name || "";
  form.elements.headline.value = mentor.headline || "";
  form.elements.bio.value = mentor.bio || "";
  form.elements.years_experience.value = mentor.years_experience ?? 0;
  form.elements.expertise.value = (mentor.expertise || []).join(", ");
  form.elements.photo.value = "";
  form.elements.remove_photo.checked = false;
  showPhoto(mentor.photo_url, mentor.name);
}

async function load() {
  const me = await api("GET", "/api/me");
  const { profile } = await api("GET", `/api/mentors/${me.id}`);
  fill(profile);
}

form.elements.photo.addEventListener("change", () => {
  const file = form.elements.photo.files[0];
  if (file) showPhoto(URL.createObjectURL(file), "");
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const body = new FormData();
  for (const key of ["name", "headline", "bio", "years_experience", "expertise"]) body.append(key, form.elements[key].value);
  if (form.elements.remove_photo.checked) body.append("remove_photo", "1");
  const file = form.elements.photo.files[0];
  if (file) body.append("photo", file);
  const button = document.getElementById("profile-save");
  button.disabled = true;
  try {
    const { profile } = await api("PATCH", "/api/mentors/me", body, { form: true });
    fill(profile);
    toast("Profile saved.", "success");
  } catch (err) {
    showError(form, err, "profile-error");
  } finally {
    button.disabled = false;
  }
});

load().catch((err) => toast(`Could not load your profile: ${err.message}`, "error"));
