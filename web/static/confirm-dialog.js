// An in-page confirm: window.confirm blocks the event loop (countdowns freeze, socket events queue up)
// and cannot be styled or labelled, so destructive and paid actions ask through a <dialog>.

export function confirmDialog({ title, message = "", confirmLabel = "Confirm", cancelLabel = "Not now", danger = false }) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "modal confirm-dialog";
    const heading = document.createElement("h2");
    heading.id = `confirm-${Date.now()}`;
    heading.textContent = title;
    dialog.setAttribute("aria-labelledby", heading.id);
    const text = document.createElement("p");
    text.textContent = message;
    const row = document.createElement("div");
    row.className = "actions";
    const no = button(cancelLabel, "btn ghost");
    const yes = button(confirmLabel, danger ? "btn danger" : "btn");
    row.append(yes, no);
    dialog.append(heading, text, row);
    document.body.appendChild(dialog);
    let answer = false;
    yes.addEventListener("click", () => { answer = true; dialog.close(); });
    no.addEventListener("click", () => dialog.close());
    // Escape closes the dialog too: every way out ends here, exactly once.
    dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); }, { once: true });
    dialog.showModal();
    yes.focus();
  });
}

function button(label, className) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = className;
  el.textContent = label;
  return el;
}
