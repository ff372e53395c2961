// Razorpay Checkout for a paid booking: the same code drives real checkout.js and the local sandbox's shim.
//
//   const result = await api("POST", `/api/sessions/${id}/bookings`, {});
//   if (result.checkout) {
//     const outcome = await payWithCheckout(result.checkout);
//     // {status: "paid", booking, session} | {status: "dismissed", booking, session}
//     // throws PaymentFailed (message: Razorpay's error description) or ApiError (verify refused)
//   }
//
// The server decides everything: the handler's fields are verified there (POST /api/payments/verify),
// and a failure or a closed modal is reported so the held seat is freed for others at once.
import { api } from "./app.js";

export class PaymentFailed extends Error {
  constructor(description, error = {}, body = {}) {
    super(description);
    this.name = "PaymentFailed";
    this.error = error;
    this.booking = body.booking;
    this.session = body.session;
  }
}

// One <script> per URL for the page's lifetime, however many bookings are paid.
const scripts = new Map();

function loadScript(url) {
  if (!scripts.has(url)) {
    scripts.set(url, new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => (window.Razorpay ? resolve() : reject(new Error("The payment window did not load.")));
      script.onerror = () => {
        scripts.delete(url);
        script.remove();
        reject(new Error("The payment window could not be loaded. Check your connection and try again."));
      };
      document.head.appendChild(script);
    }));
  }
  return scripts.get(url);
}

async function report(orderId, fields) {
  try {
    return await api("POST", "/api/payments/failed", { razorpay_order_id: orderId, ...fields });
  } catch {
    // The webhook or the hold's expiry frees the seat anyway; the learner still hears why it failed.
    return {};
  }
}

export async function payWithCheckout(checkout) {
  await loadScript(checkout.script_url);
  return new Promise((resolve, reject) => {
    let settled = false;
    let rzp = null;
    const finish = (outcome, value) => {
      if (settled) return false;
      settled = true;
      outcome(value);
      return true;
    };
    const options = {
      key: checkout.key,
      amount: checkout.amount,
      currency: checkout.currency,
      name: checkout.name,
      description: checkout.description,
      order_id: checkout.order_id,
      prefill: checkout.prefill || {},
      notes: checkout.notes || {},
      handler: async (response) => {
        if (settled) return;
        try {
          const result = await api("POST", "/api/payments/verify", {
            razorpay_payment_id: response.razorpay_payment_id,
            razorpay_order_id: response.razorpay_order_id,
            razorpay_signature: response.razorpay_signature,
          });
          finish(resolve, { status: "paid", booking: result.booking, session: result.session, notice: result.notice });
        } catch (err) {
          finish(reject, err);
        }
      },
      modal: {
        ondismiss: async () => {
          if (settled) return;
          settled = true;
          const body = await report(checkout.order_id, { reason: "dismissed" });
          resolve({ status: "dismissed", booking: body.booking, session: body.session });
        },
      },
    };
    try {
      rzp = new window.Razorpay(options);
    } catch (err) {
      finish(reject, err);
      return;
    }
    rzp.on("payment.failed", async ({ error = {} } = {}) => {
      if (settled) return;
      settled = true;
      // Checkout would let the learner retry inside the modal, but the seat is released on failure,
      // so the modal closes and Book ▶ starts a fresh hold instead.
      rzp.close();
      const description = error.description || "The payment failed.";
      const body = await report(checkout.order_id, { error });
      reject(new PaymentFailed(description, error, body));
    });
    rzp.open();
  });
}
