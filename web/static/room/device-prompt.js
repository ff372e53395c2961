// "Camera/mic unavailable" during the call: a device went away (unplugged) or could not be
// opened; the prompt offers the devices that remain and a Retry.
import { h } from "./dom.js";

export function devicePrompt({ root = document.querySelector(".call-main") } = {}) {
  let el = null;

  function close() {
    el?.remove();
    el = null;
  }

  return {
    /** kind: "video" | "audio"; choose(deviceId or "") resolves when the device is in use. */
    show({ kind, devices, choose }) {
      close();
      const what = kind === "video" ? "camera" : "microphone";
      const pick = async (deviceId) => {
        el?.setAttribute("aria-busy", "true");
        if (await choose(deviceId)) close();
        else el?.removeAttribute("aria-busy");
      };
      const options = devices.map((d, i) => {
        const button = h("button", { type: "button", class: "btn ghost small" }, d.label || `${what} ${i + 1}`);
        button.addEventListener("click", () => pick(d.deviceId));
        return button;
      });
      const retry = h("button", { type: "button", class: "btn small" }, "Retry");
      retry.addEventListener("click", () => pick(""));
      const dismiss = h("button", { type: "button", class: "link" }, "Continue without it");
      dismiss.addEventListener("click", close);
      el = h("div", { class: "device-prompt", role: "alertdialog", "aria-labelledby": "device-prompt-title" },
        h("strong", { id: "device-prompt-title" }, "Camera/mic unavailable"),
        h("p", {}, devices.length ? `Your ${what} stopped working. Use another one:` : `Your ${what} stopped working. Plug it back in and retry.`),
        h("div", { class: "actions" }, ...options, retry, dismiss));
      root.append(el);
      retry.focus();
    },
    close,
  };
}
