"""The sandbox's imitation of the Razorpay Checkout modal, served inside the shim's iframe.

The page talks to its own origin (the sandbox) with fetch and to the embedding
page only through postMessage, aimed at the origin the shim passed in, which is
the same boundary real Checkout keeps between its frame and the merchant page.
"""

from __future__ import annotations

import html
import json
from string import Template
from typing import Any

MESSAGE_SOURCE = "mentorlive-razorpay-sandbox"

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Razorpay Checkout (sandbox)</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b2431; }
  body { margin: 0; background: transparent; }
  .card { background: #fff; border-radius: 10px; overflow: hidden; min-height: 100vh; box-sizing: border-box; }
  header { background: #2b5cd6; color: #fff; padding: 18px 20px; }
  .merchant { font-size: 18px; font-weight: 600; }
  .description { opacity: .85; margin-top: 4px; font-size: 14px; }
  .badge { display: inline-block; margin-top: 10px; padding: 2px 8px; border-radius: 10px;
           background: #ffd84d; color: #3b2f00; font-size: 12px; font-weight: 600; }
  main { padding: 20px; }
  .amount { font-size: 28px; font-weight: 700; }
  .order, .customer { color: #5b6678; font-size: 13px; margin-top: 4px; word-break: break-all; }
  #sandbox-status { min-height: 22px; margin: 16px 0; font-size: 14px; }
  #sandbox-status.error { color: #b3261e; }
  #sandbox-status.ok { color: #146c2e; }
  button { display: block; width: 100%; padding: 12px; margin-top: 10px; border-radius: 6px;
           font-size: 15px; cursor: pointer; border: 1px solid #c7cfdb; background: #fff; }
  button:disabled { opacity: .5; cursor: not-allowed; }
  #sandbox-pay { background: #2b5cd6; color: #fff; border-color: #2b5cd6; font-weight: 600; }
  #sandbox-fail { color: #b3261e; border-color: #e4b8b5; }
</style>
</head>
<body>
<div class="card" role="dialog" aria-labelledby="merchant-name">
  <header>
    <div class="merchant" id="merchant-name">$name</div>
    <div class="description">$description</div>
    <div class="badge">Sandbox &middot; test mode</div>
  </header>
  <main>
    <div class="amount">$amount</div>
    <div class="order">Order $order_id</div>
    <div class="customer">$customer</div>
    <div id="sandbox-status" role="status" class="$status_class">$status</div>
    <button type="button" id="sandbox-pay" $disabled>Pay $amount</button>
    <button type="button" id="sandbox-fail" $disabled>Fail</button>
    <button type="button" id="sandbox-dismiss">Dismiss</button>
  </main>
</div>
<script type="application/json" id="sandbox-data">$data</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sandbox-data").textContent);
  var status = document.getElementById("sandbox-status");
  var pay = document.getElementById("sandbox-pay");
  var fail = document.getElementById("sandbox-fail");
  var dismiss = document.getElementById("sandbox-dismiss");
  var busy = false;

  function tell(type, payload) {
    var target = window.parent !== window ? window.parent : window.opener;
    // Never "*": the handler fields belong to the page that opened this checkout only.
    if (target && data.origin) {
      target.postMessage({source: data.source, type: type, order_id: data.order_id, payload: payload}, data.origin);
    }
  }

  function show(text, kind) {
    status.textContent = text;
    status.className = kind;
  }

  function setBusy(value) {
    busy = value;
    pay.disabled = value || data.blocked;
    fail.disabled = value || data.blocked;
  }

  async function attempt(action) {
    if (busy) return null;
    setBusy(true);
    show("Processing…", "");
    try {
      var reply = await fetch(data.action_base + "/" + action, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({key: data.key, email: data.email, contact: data.contact})
      });
      var body = await reply.json();
      if (!reply.ok) {
        show((body.error && body.error.description) || "Request failed", "error");
        return null;
      }
      return body;
    } catch (err) {
      show("Could not reach the payment server", "error");
      return null;
    } finally {
      setBusy(false);
    }
  }

  pay.addEventListener("click", async function () {
    var body = await attempt("pay");
    if (body) {
      data.blocked = true;
      setBusy(false);
      show("Payment successful", "ok");
      tell("payment.success", body);
    }
  });

  fail.addEventListener("click", async function () {
    var body = await attempt("fail");
    if (body) {
      // Like Checkout, the modal stays open after a failure so the customer can retry.
      show("Payment failed: " + body.error.description, "error");
      tell("payment.failed", body.error);
    }
  });

  dismiss.addEventListener("click", function () { tell("dismiss", "button"); });
  // The shim decides whether Escape closes, from the page's modal.escape option.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") tell("dismiss", "escape");
  });
  tell("ready", null);
})();
</script>
</body>
</html>
""")


def format_amount(amount: int, currency: str) -> str:
    symbol = "₹" if currency == "INR" else f"{currency} "
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"


def render_checkout(*, order_id: str, order: dict[str, Any] | None, key: str, origin: str, name: str,
                    description: str, email: str, contact: str, customer: str, action_base: str,
                    problem: str | None) -> str:
    """The page for one order; `problem` (bad key, unknown or paid order) disables paying."""
    blocked = problem is not None
    data = {
        "source": MESSAGE_SOURCE,
        "order_id": order_id,
        "key": key,
        "origin": origin,
        "email": email,
        "contact": contact,
        "action_base": action_base,
        "blocked": blocked,
    }
    # "<" escaped so no value can close the script element it sits in.
    data_json = json.dumps(data).replace("<", "\\u003c")
    amount = format_amount(order["amount"], order["currency"]) if order else ""
    return _PAGE.substitute(
        name=html.escape(name or "MentorLive"),
        description=html.escape(description),
        amount=html.escape(amount),
        order_id=html.escape(order_id),
        customer=html.escape(" · ".join(part for part in (customer, email, contact) if part)),
        status=html.escape(problem or ""),
        status_class="error" if blocked else "",
        disabled="disabled" if blocked else "",
        data=data_json,
    )
