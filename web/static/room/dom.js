// Small DOM helpers shared by the room's modules: an element builder and initials for avatars.

/** h("button", {class: "x", onclick: fn, "aria-label": "Mute"}, child, "text") */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "html") el.innerHTML = value; // trusted markup only (icons)
    // Through CSSOM: the CSP (style-src 'self') refuses style attributes, not styles set by our scripts.
    else if (key === "style") el.style.cssText = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

export function clockTime(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
