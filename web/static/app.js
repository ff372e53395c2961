// Shared page helpers: the CSRF-aware fetch, toasts, and the Auth-Selector modal for protected CTAs.

function cookie(name) {
  const match = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return match ? decodeURIComponent(match.split("=")[1]) : "";
}

export function csrfToken() {
  return cookie("csrf_token") || document.querySelector('meta[name="csrf-token"]')?.content || "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `Request failed (${status})`);
    this.status = status;
    this.body = body || {};
    this.field = this.body.field;
  }
}

export async function api(method, url, body, { form = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let payload;
  if (body !== undefined) {
    if (form) payload = body;
    else { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, { error: "Network problem: check your connection and try again." });
  }
  const text = await response.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { error: text }; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function toast(message, kind = "info", { timeout = 5000 } = {}) {
  const area = document.getElementById("toasts");
  if (!area) return null;
  // The same words already showing (a repeated refusal, a flood): keep that one up longer, not a stack.
  const same = [...area.children].find((t) => t.dataset.message === message && t.dataset.kind === kind);
  if (same) {
    clearTimeout(same._removeTimer);
    if (timeout) same._removeTimer = setTimeout(() => same.remove(), timeout);
    return same;
  }
  const el = document.createElement("div");
  el.dataset.message = message;
  el.dataset.kind = kind;
  el.className = `toast ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.textContent = message;
  const close = document.createElement("button");
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "✕";
  close.addEventListener("click", () => el.remove());
  el.appendChild(close);
  area.appendChild(el);
  if (timeout) el._removeTimer = setTimeout(() => el.remove(), timeout);
  return el;
}

// Toasts that must survive a redirect (e.g. "Session Scheduled ✔") wait in sessionStorage.
export function toastAfterRedirect(message, kind = "success") {
  sessionStorage.setItem("pending-toast", JSON.stringify({ message, kind }));
}

function flushPendingToast() {
  const raw = sessionStorage.getItem("pending-toast");
  if (!raw) return;
  sessionStorage.removeItem("pending-toast");
  try { const { message, kind } = JSON.parse(raw); toast(message, kind); } catch { /* corrupt entry: drop it */ }
}

export function signedIn() {
  return document.body.dataset.signedIn === "true";
}

export function openAuthSelector(next) {
  const dialog = document.getElementById("auth-selector");
  for (const id of ["choose-learner", "choose-mentor", "choose-login"]) {
    const link = document.getElementById(id);
    link.href = next ? `${link.dataset.base}?next=${encodeURIComponent(next)}` : link.dataset.base;
  }
  if (typeof dialog.showModal === "function") dialog.showModal();
  else dialog.setAttribute("open", "");
}

function wireProtectedCtas() {
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-auth]");
    if (opener) { event.preventDefault(); openAuthSelector(opener.dataset.next || ""); return; }
    const cta = event.target.closest("[data-protected]");
    if (!cta || cta.disabled) return;
    if (signedIn()) {
      // Landing-page CTAs carry where the action happens; pages with their own handlers omit data-next.
      if (cta.dataset.next) { event.preventDefault(); location.assign(cta.dataset.next); }
      return;
    }
    // Signed out: the action waits behind the modal and resumes after signup or login.
    event.preventDefault();
    event.stopImmediatePropagation();
    openAuthSelector(cta.dataset.next || location.pathname + location.search);
  }, true);
}

export function formatLocal(iso, timeZone) {
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    timeZone: timeZone || undefined, timeZoneName: "short",
  });
}

export function countdownText(iso, now = Date.now()) {
  const ms = new Date(iso).getTime() - now;
  if (ms <= 0) return "starting now";
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `in ${days}d ${hours}h`;
  if (hours > 0) return `in ${hours}h ${mins}m`;
  const secs = Math.floor((ms % 60000) / 1000);
  return `in ${mins}m ${String(secs).padStart(2, "0")}s`;
}

function tickCountdowns() {
  for (const el of document.querySelectorAll("[data-countdown]")) {
    el.textContent = `${formatLocal(el.dataset.countdown)} · ${countdownText(el.dataset.countdown)}`;
  }
}

window.mentorlive = Object.assign(window.mentorlive || {}, { toast, api, openAuthSelector });
wireProtectedCtas();
flushPendingToast();
tickCountdowns();
setInterval(tickCountdowns, 1000);
if (signedIn() && document.getElementById("notification-bell")) {
  import("./notifications.js").then((m) => m.startNotifications?.()).catch(() => {});
}
