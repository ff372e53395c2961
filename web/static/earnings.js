// Earnings per session on the mentor dashboard (GET /api/payments/earnings): money is integer paise
// on the server, and arrives here already formatted as ₹ so every page shows it the same way.
import { api } from "./app.js";

export function setupEarnings(root) {
  const body = root.querySelector("tbody");
  const total = root.querySelector("[data-earnings-total]");

  function row(item) {
    const tr = document.createElement("tr");
    tr.dataset.sessionId = item.session_id;
    for (const text of [item.title, String(item.paid_bookings), item.display.gross, item.display.refunded,
      item.display.net]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }

  async function refresh() {
    root.setAttribute("aria-busy", "true");
    try {
      const data = await api("GET", "/api/payments/earnings");
      const paid = data.sessions.filter((s) => s.paid_bookings > 0 || s.gross_paise > 0);
      body.replaceChildren(...paid.map(row));
      root.querySelector("[data-empty]").hidden = paid.length > 0;
      total.textContent = data.totals?.display?.net ?? "₹0.00";
    } finally {
      root.setAttribute("aria-busy", "false");
    }
  }

  return { refresh };
}
