// A learner's Cancel booking and Move on their card. The refund policy is stated before they confirm
// (the server's viewer.refund_policy: full until a time, then a share), and the server decides again.
import { api, formatLocal } from "./app.js";
import { confirmDialog } from "./confirm-dialog.js";

function rupees(paise) {
  return `₹${(paise / 100).toFixed(2)}`;
}

// What the learner gets back if they cancel now, in words.
export function refundPolicyText(s, now = Date.now()) {
  const booking = s.viewer?.booking_status;
  if (booking === "pending_payment") return "Your held seat is released. Nothing has been charged.";
  if (!s.price_paise) return "Your seat goes back to other learners.";
  const policy = s.viewer?.refund_policy || {};
  const until = policy.full_refund_until;
  if (!until || now <= new Date(until).getTime()) {
    return `You get a full refund of ${rupees(s.price_paise)}.` + (until ? ` Full refunds are open until ${formatLocal(until)}.` : "");
  }
  const percent = policy.late_refund_percent || 0;
  const ended = `Full refunds ended at ${formatLocal(until)}.`;
  if (percent > 0) return `You get ${percent}% back: ${rupees(Math.floor((s.price_paise * percent) / 100))}. ${ended}`;
  return `No refund is due: ${ended}`;
}

/** Resolves to the server's answer, or null when the learner kept the booking. */
export async function cancelBooking(s) {
  const ok = await confirmDialog({
    title: `Cancel your booking of “${s.title}”?`,
    message: refundPolicyText(s),
    confirmLabel: "Cancel booking", cancelLabel: "Keep it", danger: true,
  });
  if (!ok) return null;
  return api("POST", `/api/bookings/${s.viewer.booking_id}/cancel`, {});
}

function refundWords(result) {
  if (!result.refund?.amount_paise) return "";
  return ` ${rupees(result.refund.amount_paise)} is on its way back to you.`;
}

export function cancelledMessage(s, result) {
  return `Booking of “${s.title}” cancelled.${refundWords(result)}`;
}

// The mentor's other upcoming sessions at the same price with a free seat: where a booking may move.
async function moveTargets(s) {
  const { sessions } = await api("GET", "/api/sessions?tab=scheduled");
  return sessions.filter((x) => x.id !== s.id && x.mentor?.id === s.mentor?.id && x.status === "scheduled"
    && x.price_paise === s.price_paise && x.currency === s.currency && x.viewer?.can_book);
}

/** Resolves to the server's answer, or null when nothing moved (no target, or the learner changed their mind). */
export async function moveBooking(s, { onNone }) {
  const targets = await moveTargets(s);
  if (!targets.length) { onNone(`${s.mentor?.name || "This mentor"} has no other upcoming session at this price with a free seat.`); return null; }
  const target = await pickTarget(s, targets);
  if (target == null) return null;
  return api("POST", `/api/bookings/${s.viewer.booking_id}/move`, { session_id: target });
}

function pickTarget(s, targets) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "modal confirm-dialog move-dialog";
    const heading = document.createElement("h2");
    heading.id = `move-${Date.now()}`;
    heading.textContent = `Move your booking of “${s.title}”`;
    dialog.setAttribute("aria-labelledby", heading.id);
    const note = document.createElement("p");
    note.textContent = s.price_paise ? "Same price: your payment moves with you, nothing more is charged." : "Pick another session of this mentor.";
    const list = document.createElement("fieldset");
    list.className = "move-targets";
    const legend = document.createElement("legend");
    legend.textContent = "Move to";
    list.append(legend);
    targets.forEach((t, i) => {
      const label = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "move-target";
      radio.value = String(t.id);
      radio.checked = i === 0;
      label.append(radio, ` ${t.title} · ${formatLocal(t.start_at)}`);
      list.append(label);
    });
    const row = document.createElement("div");
    row.className = "actions";
    const yes = Object.assign(document.createElement("button"), { type: "button", className: "btn", textContent: "Move booking" });
    const no = Object.assign(document.createElement("button"), { type: "button", className: "btn ghost", textContent: "Not now" });
    row.append(yes, no);
    dialog.append(heading, note, list, row);
    document.body.append(dialog);
    let answer = null;
    yes.addEventListener("click", () => {
      answer = Number(dialog.querySelector('input[name="move-target"]:checked')?.value) || null;
      dialog.close();
    });
    no.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); }, { once: true });
    dialog.showModal();
    yes.focus();
  });
}
