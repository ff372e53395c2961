/*
 * Drop-in for Razorpay's checkout.js, backed by the MentorLive Razorpay sandbox.
 *
 * The platform's page code is the same for both:
 *
 *   const rzp = new Razorpay({key, amount, currency, name, description, order_id,
 *                             prefill: {name, email, contact}, notes,
 *                             handler(response) {...}, modal: {ondismiss() {...}}});
 *   rzp.on("payment.failed", (response) => { response.error.code ... });
 *   rzp.open();
 *
 * Load it from the sandbox (`<script src="{sandbox}/sandbox/checkout.js">`) and it
 * finds the sandbox from its own URL; loaded from anywhere else, give the sandbox's
 * base URL as `data-sandbox-url` on the script element.
 *
 * open() shows the sandbox's checkout page in a full-window iframe overlay, as
 * Checkout does. The page answers only through postMessage; messages are accepted
 * only from that iframe and the sandbox's origin, since they carry payment results.
 */
(function () {
  "use strict";

  var MESSAGE_SOURCE = "mentorlive-razorpay-sandbox";
  var SHIM_PATH = "/sandbox/checkout.js";

  function resolveSandboxBase(script) {
    var explicit = script && script.getAttribute("data-sandbox-url");
    if (explicit) {
      return explicit.replace(/\/+$/, "");
    }
    if (script && script.src) {
      var url = new URL(script.src, window.location.href);
      var at = url.pathname.lastIndexOf(SHIM_PATH);
      return url.origin + (at > 0 ? url.pathname.slice(0, at) : "");
    }
    return window.location.origin;
  }

  // currentScript exists only while this file first runs, so it is read here, once.
  var sandboxBase = resolveSandboxBase(document.currentScript);
  var sandboxOrigin = new URL(sandboxBase, window.location.href).origin;

  function callSafely(callback, argument) {
    if (typeof callback !== "function") {
      return;
    }
    try {
      callback(argument);
    } catch (err) {
      // A throwing page callback must not leave the overlay half torn down.
      setTimeout(function () { throw err; });
    }
  }

  function Razorpay(options) {
    if (!(this instanceof Razorpay)) {
      return new Razorpay(options);
    }
    if (!options || typeof options !== "object") {
      throw new Error("Razorpay: options are required");
    }
    if (!options.key) {
      throw new Error("Razorpay: the key option is required");
    }
    if (!options.order_id) {
      throw new Error("Razorpay sandbox: the order_id option is required");
    }
    this.options = options;
    this._listeners = {};
    this._overlay = null;
    this._frame = null;
    this._bodyOverflow = "";
    this._onMessage = this._handleMessage.bind(this);
    this._onKeydown = this._handleKeydown.bind(this);
  }

  Razorpay.prototype.on = function (event, callback) {
    if (typeof callback === "function") {
      (this._listeners[event] = this._listeners[event] || []).push(callback);
    }
    return this;
  };

  Razorpay.prototype.open = function () {
    if (this._overlay) {
      return this;
    }
    var options = this.options;
    var prefill = options.prefill || {};
    var modal = options.modal || {};
    var query = new URLSearchParams({
      key: String(options.key),
      origin: window.location.origin,
      name: options.name || "",
      description: options.description || "",
      customer: prefill.name || "",
      email: prefill.email || "",
      contact: prefill.contact || ""
    });

    var overlay = document.createElement("div");
    overlay.className = "razorpay-container";
    overlay.setAttribute("data-razorpay-sandbox", "");
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;display:flex;" +
      "align-items:center;justify-content:center;background:rgba(16,24,40,.6);";

    var frame = document.createElement("iframe");
    frame.className = "razorpay-checkout-frame";
    frame.title = "Razorpay Checkout";
    frame.style.cssText = "width:380px;max-width:calc(100vw - 24px);height:540px;" +
      "max-height:calc(100vh - 24px);border:0;border-radius:10px;background:#fff;" +
      "box-shadow:0 12px 40px rgba(0,0,0,.35);";
    frame.src = sandboxBase + "/sandbox/checkout/" + encodeURIComponent(options.order_id) + "?" + query;
    overlay.appendChild(frame);

    this._overlay = overlay;
    this._frame = frame;
    this._escape = modal.escape !== false;
    window.addEventListener("message", this._onMessage);
    document.addEventListener("keydown", this._onKeydown);
    this._bodyOverflow = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    document.body.appendChild(overlay);
    frame.focus();
    return this;
  };

  Razorpay.prototype.close = function () {
    this._teardown();
  };

  Razorpay.prototype._teardown = function () {
    if (!this._overlay) {
      return;
    }
    window.removeEventListener("message", this._onMessage);
    document.removeEventListener("keydown", this._onKeydown);
    this._overlay.remove();
    this._overlay = null;
    this._frame = null;
    document.body.style.overflow = this._bodyOverflow;
  };

  Razorpay.prototype._dismiss = function () {
    var modal = this.options.modal || {};
    this._teardown();
    callSafely(modal.ondismiss);
  };

  Razorpay.prototype._handleKeydown = function (event) {
    if (event.key === "Escape" && this._escape) {
      this._dismiss();
    }
  };

  Razorpay.prototype._handleMessage = function (event) {
    if (!this._frame || event.source !== this._frame.contentWindow || event.origin !== sandboxOrigin) {
      return;
    }
    var message = event.data;
    if (!message || message.source !== MESSAGE_SOURCE || message.order_id !== this.options.order_id) {
      return;
    }
    if (message.type === "payment.success") {
      // Checkout closes before calling handler, so the page may navigate from inside it.
      this._teardown();
      callSafely(this.options.handler, message.payload);
    } else if (message.type === "payment.failed") {
      // Checkout stays open after a failure so the customer can retry.
      var listeners = (this._listeners["payment.failed"] || []).slice();
      for (var i = 0; i < listeners.length; i++) {
        callSafely(listeners[i], {error: message.payload});
      }
    } else if (message.type === "dismiss") {
      if (this._escape || message.payload !== "escape") {
        this._dismiss();
      }
    }
  };

  window.Razorpay = Razorpay;
})();
