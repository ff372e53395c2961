// The call's chat: messages with names and times, a text box labelled "Message", the history a
// late joiner receives in the join reply, and the unread count while the panel is closed.
import { clockTime, h } from "./dom.js";
import { icons } from "./icons.js";

export function chatPanel({ panel, selfUserId, send, onUnread }) {
  const list = h("ol", { class: "chat-list", "aria-live": "polite", "aria-label": "Conversation" });
  const empty = h("p", { class: "chat-empty muted" }, "No messages yet. Say hello!");
  const input = h("textarea", { id: "chat-input", rows: 1, maxlength: 2000, placeholder: "Send a message to everyone", "aria-label": "Message" });
  const submit = h("button", { type: "submit", class: "icon-btn send", "aria-label": "Send", html: icons.send });
  const form = h("form", { class: "chat-form" }, input, submit);
  panel.add("chat", "Chat", h("div", { class: "chat" }, empty, list, form), { focus: () => input.focus() });
  const seen = new Set();
  let unread = 0;

  function add(entry, { history = false } = {}) {
    if (entry.id !== undefined && seen.has(entry.id)) return;
    if (entry.id !== undefined) seen.add(entry.id);
    const mine = String(entry.user_id) === String(selfUserId);
    const previous = list.lastElementChild;
    // Consecutive messages from one person share a header, as in every chat people know.
    const grouped = previous && previous.dataset.userId === String(entry.user_id);
    const item = h("li", { class: `chat-msg${mine ? " mine" : ""}${grouped ? " grouped" : ""}`, dataset: { userId: entry.user_id } },
      grouped ? null : h("div", { class: "chat-meta" },
        h("strong", { class: "chat-name" }, mine ? "You" : entry.name),
        h("time", { datetime: entry.ts || "" }, clockTime(entry.ts))),
      h("p", { class: "chat-text" }, entry.text));
    list.append(item);
    empty.hidden = true;
    item.scrollIntoView({ block: "end" });
    if (!history && !mine && !panel.isOpen("chat")) {
      unread += 1;
      onUnread(unread);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    send(text);
    input.value = "";
    input.style.height = "";
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    input.style.height = "";
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  });

  return {
    add,
    history(entries) {
      for (const entry of entries || []) add(entry, { history: true });
    },
    /** The room reopened on another node: its ids start again; what is shown stays. */
    restart() {
      seen.clear();
    },
    opened() {
      unread = 0;
      onUnread(0);
    },
  };
}
