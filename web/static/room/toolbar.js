// The call's bottom toolbar: round icon buttons with a label under each and a tooltip, every one
// reachable by keyboard, with the accessible names the room is operated by ("Mute"/"Unmute",
// "Camera off"/"Camera on", "Share screen"/"Stop sharing", "Chat", "Whiteboard", "End Session"
// or "Leave"). It only shows state; the call decides what a click does.
import { h } from "./dom.js";
import { icons } from "./icons.js";

function roundButton({ id, onClick, danger = false, wide = false }) {
  const icon = h("span", { class: "tb-icon" });
  const label = h("span", { class: "tb-label", "aria-hidden": "true" });
  const badge = h("span", { class: "tb-badge", hidden: true });
  const button = h("button", { type: "button", id, class: `tb-btn${danger ? " danger" : ""}${wide ? " wide" : ""}` }, icon, badge, label);
  button.addEventListener("click", onClick);
  const set = ({ name, text = name, svg, active = false, off = false, hint = name }) => {
    button.setAttribute("aria-label", name);
    button.title = hint;
    label.textContent = text;
    icon.innerHTML = svg;
    button.classList.toggle("active", active);
    button.classList.toggle("off", off);
  };
  return { button, set, badge };
}

export function toolbar({ root = document.getElementById("toolbar"), role, actions }) {
  const mic = roundButton({ id: "tb-mic", onClick: actions.toggleMic });
  const cam = roundButton({ id: "tb-cam", onClick: actions.toggleCamera });
  const share = roundButton({ id: "tb-share", onClick: actions.toggleShare });
  const chat = roundButton({ id: "tb-chat", onClick: actions.toggleChat });
  const board = roundButton({ id: "tb-board", onClick: actions.toggleBoard });
  const isHost = role === "mentor";
  const exit = roundButton({ id: "tb-exit", onClick: isHost ? actions.end : actions.leave, danger: true, wide: true });
  exit.set(
    isHost
      ? { name: "End Session", svg: icons.phone, hint: "End the session for everyone" }
      : { name: "Leave", svg: icons.leave, hint: "Leave the call" },
  );
  chat.set({ name: "Chat", svg: icons.chat, hint: "Chat with everyone" });
  board.set({ name: "Whiteboard", svg: icons.board, hint: "Open the whiteboard" });
  // An observer sends nothing: no microphone, camera or screen buttons.
  const media = role === "admin" ? [] : [mic.button, cam.button, share.button];
  const observerNote = role === "admin" ? h("span", { class: "tb-note" }, "Observing") : null;
  root.replaceChildren(
    h("div", { class: "tb-group" }, ...media, observerNote),
    h("div", { class: "tb-group" }, chat.button, board.button),
    h("div", { class: "tb-group end" }, exit.button),
  );
  chat.badge.id = "chat-unread";
  chat.button.setAttribute("aria-describedby", "chat-unread");

  return {
    render({ muted, cameraOff, sharing, chatOpen, boardOpen, unread = 0 }) {
      mic.set(muted ? { name: "Unmute", svg: icons.micOff, off: true, hint: "Turn on your microphone" } : { name: "Mute", svg: icons.mic, hint: "Turn off your microphone" });
      cam.set(cameraOff ? { name: "Camera on", svg: icons.camOff, off: true, hint: "Turn on your camera" } : { name: "Camera off", svg: icons.cam, hint: "Turn off your camera" });
      share.set(sharing ? { name: "Stop sharing", svg: icons.screenOff, active: true, hint: "Stop presenting your screen" } : { name: "Share screen", text: "Share", svg: icons.screen, hint: "Present your screen" });
      chat.button.classList.toggle("active", chatOpen);
      chat.button.setAttribute("aria-expanded", String(chatOpen));
      board.button.classList.toggle("active", boardOpen);
      board.button.setAttribute("aria-expanded", String(boardOpen));
      chat.badge.hidden = !unread || chatOpen;
      chat.badge.textContent = unread > 99 ? "99+" : String(unread);
      chat.badge.setAttribute("aria-label", `${unread} unread`);
    },
    disableShare(reason) {
      share.button.disabled = true;
      share.button.title = reason;
    },
  };
}
