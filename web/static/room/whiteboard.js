// The shared whiteboard: pen in a few colours, eraser, clear (the mentor). Each animation frame
// sends the points drawn since the last one, so strokes reach the others within a frame or two;
// the server keeps them for a late joiner. Coordinates are fractions of the board, so every
// screen size draws the same picture.
import { h } from "./dom.js";
import { icons } from "./icons.js";

const COLOURS = [
  ["Black", "#1f2937"],
  ["Blue", "#2563eb"],
  ["Red", "#dc2626"],
  ["Green", "#16a34a"],
];
const PEN_WIDTH = 0.004;
const ERASER_WIDTH = 0.03;
const round = (value) => Math.round(value * 10000) / 10000;

export function whiteboardPanel({ panel, canClear, send, clear }) {
  const canvas = h("canvas", { class: "board-canvas", role: "img", "aria-label": "Shared whiteboard", dataset: { strokes: "0" } });
  const surface = h("div", { class: "board-surface" }, canvas);
  const tools = h("div", { class: "board-tools", role: "toolbar", "aria-label": "Whiteboard tools" });
  const state = { colour: COLOURS[0][1], erase: false };
  const segments = []; // everything drawn, to repaint after a resize
  const buttons = [];

  function tool(label, content, choose, extra = {}) {
    const button = h("button", { type: "button", class: "board-tool", "aria-label": label, title: label, "aria-pressed": "false", ...extra }, content);
    button.addEventListener("click", () => {
      choose();
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
    });
    buttons.push(button);
    tools.append(button);
    return button;
  }
  for (const [name, colour] of COLOURS) {
    tool(`${name} pen`, h("span", { class: "swatch", style: `background:${colour}` }), () => Object.assign(state, { colour, erase: false }));
  }
  buttons[0].setAttribute("aria-pressed", "true");
  tool("Eraser", h("span", { html: icons.eraser }), () => (state.erase = true));
  if (canClear) {
    const clearButton = h("button", { type: "button", class: "board-tool clear", title: "Clear the board for everyone" }, h("span", { html: icons.trash }), "Clear");
    clearButton.addEventListener("click", () => {
      wipe();
      clear();
    });
    tools.append(clearButton);
  }
  panel.add("board", "Whiteboard", h("div", { class: "board" }, tools, surface), { focus: () => buttons[0].focus() });

  const context = canvas.getContext("2d");

  function fit() {
    const { width, height } = surface.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    repaint();
  }

  function paint(stroke) {
    const points = stroke.p || [];
    if (!points.length) return;
    const { width, height } = canvas;
    context.save();
    context.globalCompositeOperation = stroke.e ? "destination-out" : "source-over";
    context.strokeStyle = stroke.c || "#1f2937";
    context.lineWidth = Math.max(1, (stroke.w || PEN_WIDTH) * width);
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(points[0][0] * width, points[0][1] * height);
    for (const [x, y] of points.length > 1 ? points.slice(1) : points) context.lineTo(x * width, y * height);
    context.stroke();
    context.restore();
  }

  function record(stroke) {
    segments.push(stroke);
    paint(stroke);
    canvas.dataset.strokes = String(segments.length);
  }

  function repaint() {
    context.clearRect(0, 0, canvas.width, canvas.height);
    for (const stroke of segments) paint(stroke);
  }

  function wipe() {
    segments.length = 0;
    canvas.dataset.strokes = "0";
    context.clearRect(0, 0, canvas.width, canvas.height);
  }

  // -- drawing -------------------------------------------------------------------------------
  let current = null; // {id, pending: [[x,y]], last: [x,y] | null}
  let frame = 0;
  let strokeSeq = 0;

  function at(event) {
    const box = canvas.getBoundingClientRect();
    return [round((event.clientX - box.left) / box.width), round((event.clientY - box.top) / box.height)];
  }

  function flush() {
    frame = 0;
    if (!current || !current.pending.length) return;
    const points = current.last ? [current.last, ...current.pending] : current.pending;
    const stroke = { id: current.id, c: state.erase ? null : state.colour, w: state.erase ? ERASER_WIDTH : PEN_WIDTH, e: state.erase || undefined, p: points };
    current.last = current.pending[current.pending.length - 1];
    current.pending = [];
    record(stroke);
    send(stroke);
  }

  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    strokeSeq += 1;
    current = { id: `${Date.now().toString(36)}-${strokeSeq}`, pending: [at(event)], last: null };
    frame = frame || requestAnimationFrame(flush);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    current.pending.push(at(event));
    frame = frame || requestAnimationFrame(flush);
  });
  const finish = () => {
    if (!current) return;
    cancelAnimationFrame(frame);
    flush();
    current = null;
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  new ResizeObserver(fit).observe(surface);

  return {
    /** A message from someone else: a stroke, or the board cleared. */
    receive(message) {
      if (message.clear) wipe();
      else if (message.stroke) record(message.stroke);
    },
    /** One `whiteboard.page` of the board's history: the first (index 0) starts from a blank board. */
    page(message) {
      if (message.index === 0) wipe();
      for (const entry of message.entries || []) {
        if (entry.clear) wipe();
        else if (entry.stroke) record(entry.stroke);
      }
    },
  };
}
