// The call's side panel: one of chat or whiteboard at a time, beside the videos on a desktop and a
// full-width sheet on a phone. Escape or the close button puts it away and returns the focus.
import { h } from "./dom.js";
import { icons } from "./icons.js";

export function sidePanel({ root = document.getElementById("side-panel"), onChange = () => {} } = {}) {
  const views = new Map(); // name -> {section, opener}
  let open = null;

  function show(name) {
    open = name;
    root.hidden = !name;
    root.dataset.view = name || "";
    for (const [key, view] of views) view.section.hidden = key !== name;
    document.getElementById("call")?.classList.toggle("panel-open", !!name);
    onChange(name);
  }

  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && open) {
      const opener = views.get(open).opener;
      show(null);
      opener?.focus();
    }
  });

  return {
    /** Adds a view; `body` is the view's content, `title` its heading. */
    add(name, title, body, { focus } = {}) {
      const close = h("button", { type: "button", class: "icon-btn", "aria-label": `Close ${title.toLowerCase()}`, html: icons.close });
      const heading = h("h2", { id: `panel-${name}-title` }, title);
      const section = h("section", { class: `panel-view panel-${name}`, "aria-labelledby": heading.id, hidden: true },
        h("header", { class: "panel-head" }, heading, close), body);
      root.append(section);
      views.set(name, { section, focus, opener: null });
      close.addEventListener("click", () => {
        const opener = views.get(name).opener;
        show(null);
        opener?.focus();
      });
      return section;
    },
    toggle(name, opener) {
      views.get(name).opener = opener || null;
      show(open === name ? null : name);
      if (open === name) views.get(name).focus?.();
    },
    isOpen: (name) => open === name,
    current: () => open,
  };
}
