// The room page (/session/{room_code}/): green room → (lobby) → call → after the end.
// Each stage is its own module; this one only decides which stage the page is in.
import { api, toast } from "../app.js";
import { joinCall } from "./call.js";
import { forgetJoin, readContext, rememberJoin, rememberedJoin } from "./context.js";
import { LocalMedia } from "./devices.js";
import { showEnded, showLeft } from "./ending.js";
import { greenRoom } from "./green-room.js";
import { lobby } from "./lobby.js";

const context = readContext();
// Already in this room: the bell's "Your session is live … Join now." would point at this very page.
window.mentorlive = Object.assign(window.mentorlive || {}, {
  shownHere: (kind, data) => kind === "session_live" && data.room_code === context.room_code,
});
const room = document.getElementById("room");
const sections = { green: "green-room", call: "call", ended: "ended" };
const media = context.isObserver ? null : new LocalMedia();
const green = media ? greenRoom({ media }) : null;
const joinButton = document.getElementById("join-now");
let stage = "green";
let call = null;
let waitingForLive = false;
let entering = false;

function setStage(name) {
  stage = name;
  room.dataset.stage = name;
  for (const [key, id] of Object.entries(sections)) document.getElementById(id).hidden = key !== name;
}

function setJoin(options) {
  if (green) green.setJoin(options);
  else {
    if (options.label) joinButton.textContent = options.label;
    joinButton.disabled = !!(options.disabled || options.busy);
  }
}

function finished(kind) {
  call = null;
  if (kind === "ended") {
    forgetJoin(context.room_code);
    setStage("ended");
    showEnded(context);
  } else {
    setStage("ended");
    showLeft(context, { onRejoin: () => location.reload() });
    if (kind === "left") forgetJoin(context.room_code);
  }
}

async function enter(choices = green ? green.choices() : {}) {
  if (entering || call || stage === "ended") return;
  entering = true;
  setJoin({ busy: true });
  try {
    if (media && !media.camera && !media.microphone) await media.start({ video: !choices.videoOff });
    call = await joinCall({ context, media, choices, onFinished: finished });
    if (!call) return;
    rememberJoin(context.room_code, choices);
    green?.close();
    setStage("call");
  } catch (error) {
    toast(error.message || "Could not join the call.", "error");
    setJoin({ busy: false });
  } finally {
    entering = false;
  }
}

async function onJoinClick() {
  if (context.isMentor && context.status !== "live") {
    setJoin({ busy: true });
    try {
      await api("POST", context.go_live_url, {});
      lobbyState.setStatus("live");
    } catch (error) {
      toast(error.message, "error");
      setJoin({ busy: false });
      return;
    }
  }
  if (context.status === "live" || context.isMentor) return enter();
  // A learner before the start: ready, and in as soon as the mentor starts.
  waitingForLive = true;
  setJoin({ label: "Waiting for Mentor…", disabled: true });
}

const lobbyState = lobby({
  context,
  onLive() {
    if (context.isMentor) {
      setJoin({ label: "Join now" });
      return;
    }
    // Start Session ▶ (or Go Live) starts media for every learner on the page.
    setJoin({ label: "Join now" });
    if (stage === "green" && !context.isObserver && (waitingForLive || !call)) enter();
  },
  onEnd() {
    if (call) call.finish("ended");
    else if (stage !== "ended") finished("ended");
  },
});

joinButton.addEventListener("click", onJoinClick);
if (context.status === "ended" || context.status === "cancelled") {
  finished("ended");
} else if (context.status === "live" && rememberedJoin(context.room_code)) {
  // A reload during the call goes straight back in, with the same choices.
  const choices = rememberedJoin(context.room_code);
  green?.setChoices(choices);
  enter(choices);
} else {
  setStage("green");
  media?.start();
}
