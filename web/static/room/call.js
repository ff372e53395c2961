// The call itself: the SFU client (sfu-client.js, the transport) wired to the grid, toolbar,
// chat, whiteboard, metrics bar and device prompt. The server's messages are the truth about
// who is here and in what state; the local tracks are shown without a round trip.
import { api, toast } from "../app.js";
import { confirmDialog } from "../confirm-dialog.js";
import { connectionDown } from "../reconnect-toast.js";
import { rememberJoin } from "./context.js";
import { SfuClient } from "../sfu-client.js";
import { callGrid } from "./call-grid.js";
import { chatPanel } from "./chat.js";
import { devicePrompt } from "./device-prompt.js";
import { h } from "./dom.js";
import { metricsBar } from "./metrics-bar.js";
import { sidePanel } from "./side-panel.js";
import { toolbar } from "./toolbar.js";
import { whiteboardPanel } from "./whiteboard.js";

const QUIET_ERRORS = new Set(["out_of_order", "not_published", "already_published"]);

/** Joins the room's media; resolves once joined. `onFinished(kind)`: "ended" | "left" | "lost". */
export async function joinCall({ context, media, choices, onFinished }) {
  const state = {
    muted: !!choices.muted || !media?.microphone,
    cameraOff: !!choices.videoOff || !media?.camera,
    sharing: false,
    screenTrack: null,
    unread: 0,
    participants: [],
    finished: false,
  };
  const grant = await api("GET", context.join_url);
  // A fresh grant after the media node is lost: the web app re-allocates the room (sfu-migration.js).
  const refreshGrant = async () => {
    const fresh = await api("GET", context.join_url);
    return { token: fresh.token, url: fresh.rtc_url || null };
  };
  const sfu = new SfuClient({ token: grant.token, url: grant.rtc_url || null, refreshGrant });

  const grid = callGrid({ onAudioBlocked: offerSound });
  const metrics = metricsBar({ selfUserId: context.user.id });
  const panel = sidePanel({ onChange: () => render() });
  const chat = chatPanel({
    panel,
    selfUserId: context.user.id,
    send: (text) => sfu.chat(text),
    onUnread: (count) => {
      state.unread = count;
      render();
    },
  });
  const board = whiteboardPanel({
    panel,
    canClear: context.isMentor,
    send: (stroke) => sfu.draw(stroke),
    clear: () => sfu.clearWhiteboard(),
  });
  const prompt = devicePrompt();
  const bar = toolbar({
    role: context.user.role,
    actions: { toggleMic, toggleCamera, toggleShare, toggleChat, toggleBoard, end: endForEveryone, leave },
  });

  function render() {
    // A reload during the call comes back with the same microphone and camera state.
    if (!state.finished) rememberJoin(context.room_code, { muted: state.muted, videoOff: state.cameraOff });
    bar.render({ ...state, chatOpen: panel.isOpen("chat"), boardOpen: panel.isOpen("board") });
  }

  function showParticipants(participants) {
    state.participants = participants || [];
    grid.setSelf(sfu.participantId);
    grid.setParticipants(state.participants);
    metrics.setParticipants(state.participants);
    grid.showLocal(state.cameraOff ? null : sfu.local.get("camera"));
  }

  function patchMute(participantId, source, muted) {
    const participant = state.participants.find((p) => p.participant_id === participantId);
    const publication = participant?.publications?.find((p) => p.source === source);
    if (publication) publication.muted = muted;
    showParticipants(state.participants);
  }

  function offerSound(play) {
    if (document.getElementById("sound-on")) return;
    const button = h("button", { type: "button", class: "btn sound-on", id: "sound-on" }, "Turn on sound");
    button.addEventListener("click", () => {
      play();
      button.remove();
    });
    document.querySelector(".call-main").append(button);
  }

  // -- toolbar actions -------------------------------------------------------------------------
  async function toggleMic() {
    if (!sfu.local.has("microphone")) {
      const track = media.microphone || (await media.useMicrophone(media.micId));
      if (!track) return toast("No microphone could be opened.", "error");
      sfu.publish("microphone", track);
      state.muted = false;
    } else {
      state.muted = !state.muted;
      sfu.setMuted("microphone", state.muted);
      patchMute(sfu.participantId, "microphone", state.muted);
    }
    render();
  }

  async function toggleCamera() {
    if (!sfu.local.has("camera")) {
      const track = media.camera || (await media.startCamera());
      if (!track) return;
      track.enabled = true;
      sfu.publish("camera", track);
      state.cameraOff = false;
    } else {
      state.cameraOff = !state.cameraOff;
      sfu.setMuted("camera", state.cameraOff);
      patchMute(sfu.participantId, "camera", state.cameraOff);
    }
    grid.showLocal(state.cameraOff ? null : sfu.local.get("camera"));
    render();
  }

  async function toggleShare() {
    if (state.sharing) return stopSharing();
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    } catch (error) {
      if (error.name !== "NotAllowedError" && error.name !== "AbortError") toast("Screen sharing is not available here.", "error");
      return;
    }
    const track = stream.getVideoTracks()[0];
    track.contentHint = "detail";
    // The browser's own "Stop sharing" bar ends the track: treat it as our button.
    track.addEventListener("ended", stopSharing);
    state.sharing = true;
    state.screenTrack = track;
    sfu.publish("screen", track);
    grid.showLocalScreen(track);
    render();
  }

  function stopSharing() {
    if (!state.sharing) return;
    state.sharing = false;
    state.screenTrack = null;
    sfu.unpublish("screen");
    grid.showLocalScreen(null);
    render();
  }

  function toggleChat(event) {
    panel.toggle("chat", event.currentTarget);
    if (panel.isOpen("chat")) chat.opened();
    render();
  }

  function toggleBoard(event) {
    panel.toggle("board", event.currentTarget);
    render();
  }

  async function endForEveryone() {
    const sure = await confirmDialog({
      title: "End the session for everyone?",
      message: "Everyone's call ends now and learners are asked for their feedback.",
      confirmLabel: "End Session",
      cancelLabel: "Keep going",
      danger: true,
    });
    if (!sure) return;
    try {
      await api("POST", context.end_url, {});
    } catch (error) {
      // 409: the session was already ended (e.g. from another tab); the call still ends.
      if (error.status !== 409) return toast(error.message, "error");
    }
    sfu.end();
    finish("ended");
  }

  function leave() {
    sfu.leave();
    finish("left");
  }

  // -- the end of this call ------------------------------------------------------------------
  function finish(kind) {
    if (state.finished) return;
    state.finished = true;
    // Let an `end` we just sent leave the socket before it closes.
    setTimeout(() => sfu.close(), kind === "ended" ? 500 : 0);
    state.screenTrack?.stop();
    media?.stop();
    grid.clear();
    metrics.hide();
    prompt.close();
    connectionDown("rtc", false);
    window.removeEventListener("pagehide", onPageHide);
    onFinished(kind);
  }

  function onPageHide() {
    if (!state.finished) sfu.leave();
  }

  // -- the server's messages -----------------------------------------------------------------
  // After the end nothing the socket still delivers may bring the call back on screen.
  const on = (type, handler) => sfu.addEventListener(type, (event) => state.finished || handler(event.detail));
  on("participants", (m) => showParticipants(m.participants));
  on("mute", (m) => patchMute(m.participant_id, m.source, m.muted));
  on("track", (detail) => grid.attach(detail));
  on("trackended", (detail) => grid.detach(detail.publication_id));
  on("quality", (m) => {
    const participant = state.participants.find((p) => p.participant_id === m.participant_id);
    if (participant) participant.quality = { level: m.level, score: m.score, reason: m.reason };
    grid.setQuality(m.participant_id, m);
    metrics.setParticipants(state.participants);
  });
  on("speaker", (m) => grid.setSpeaker(m.participant_id || null));
  // Congestion response (docs/signaling.md): our downlink cannot carry video, so the server
  // paused the video it sends us (audio continues) until the connection recovers.
  const pausedNote = h("div", { class: "video-paused-note", role: "status", hidden: true }, "Video paused: poor connection");
  document.getElementById("call-grid")?.before(pausedNote);
  // Remote tiles show their initials meanwhile (as for a camera turned off), not a frozen picture.
  const setVideoPaused = (paused) => {
    pausedNote.hidden = !paused;
    const callGrid = document.getElementById("call-grid");
    if (callGrid) callGrid.toggleAttribute("data-video-paused", paused);
  };
  on("video_paused", (m) => {
    pausedNote.textContent = m.message || "Video paused: poor connection";
    setVideoPaused(true);
  });
  on("video_resumed", () => setVideoPaused(false));
  on("chat", (m) => chat.add(m));
  on("whiteboard", (m) => board.receive(m));
  // The board's history comes in pages after `join` and `resume` (the first one starts afresh).
  on("whiteboard.page", (m) => board.page(m));
  on("start", (m) => {
    metrics.setRecording(!!m.recording);
    metrics.setStartedAt(m.started_at || (metrics.hasStart() ? null : Date.now()));
  });
  on("end", () => finish("ended"));
  on("reconnecting", () => connectionDown("rtc", true));
  // Moved to another media node: same ids, same tiles; the list is the new node's.
  on("migrated", (m) => showParticipants(m.participants));
  on("reconnected", (m) => {
    connectionDown("rtc", false);
    showParticipants(m.participants);
    chat.history(m.chat);
  });
  // The media node was lost and the room reopened elsewhere: same tiles by user, the chat and board
  // this page already shows are kept (a room that starts empty knows nothing of them), mutes re-sent.
  on("rejoined", (m) => {
    connectionDown("rtc", false);
    showParticipants(m.participants);
    chat.restart();
    chat.history(m.chat);
    if (m.whiteboard && m.whiteboard.length) board.history(m.whiteboard);
    firstAnswer = true;
  });
  on("closed", (detail) => {
    if (state.finished) return;
    toast(`Disconnected from the call: ${detail.reason}.`, "error");
    finish("lost");
  });
  on("error", (m) => {
    if (m.code === "rate_limited") toast("You're sending messages too fast", "error");
    else if (m.code && !QUIET_ERRORS.has(m.code) && m.code !== "room_closed") toast(m.message || "Something went wrong in the call.", "error");
  });
  let firstAnswer = true;
  on("negotiated", () => {
    if (!firstAnswer) return;
    firstAnswer = false;
    // Joined muted or with video off: the m-lines exist now, tell the room.
    if (sfu.local.has("microphone") && state.muted) sfu.setMuted("microphone", true);
    if (sfu.local.has("camera") && state.cameraOff) sfu.setMuted("camera", true);
  });

  // A device that goes away mid-call: offer the ones that remain.
  media?.addEventListener("lost", (event) => {
    if (state.finished) return;
    const video = event.detail.kind === "video";
    const source = video ? "camera" : "microphone";
    if (video) {
      state.cameraOff = true;
      grid.showLocal(null);
      if (sfu.local.has("camera")) sfu.setMuted("camera", true);
    } else {
      state.muted = true;
      if (sfu.local.has("microphone")) sfu.setMuted("microphone", true);
    }
    patchMute(sfu.participantId, source, true);
    render();
    prompt.show({
      kind: event.detail.kind,
      devices: video ? media.cameras : media.microphones,
      choose: async (deviceId) => {
        const track = video ? await media.useCamera(deviceId) : await media.useMicrophone(deviceId);
        if (!track) return false;
        if (sfu.local.has(source)) {
          await sfu.replaceTrack(source, track);
          sfu.setMuted(source, false);
        } else sfu.publish(source, track);
        if (video) state.cameraOff = false;
        else state.muted = false;
        patchMute(sfu.participantId, source, false);
        grid.showLocal(state.cameraOff ? null : track);
        render();
        return true;
      },
    });
  });

  // -- join ------------------------------------------------------------------------------------
  const tracks = {};
  if (media?.camera) {
    media.camera.enabled = !state.cameraOff;
    tracks.camera = media.camera;
  }
  if (media?.microphone) {
    media.microphone.enabled = !state.muted;
    tracks.microphone = media.microphone;
  }
  const joined = await sfu.connect(tracks);
  if (joined.ended) {
    finish("ended");
    return null;
  }
  window.addEventListener("pagehide", onPageHide);
  showParticipants(joined.participants);
  chat.history(joined.chat);
  metrics.setRecording(!!joined.recording);
  metrics.setStartedAt(joined.started_at || context.went_live_at);
  metrics.show();
  if (!navigator.mediaDevices?.getDisplayMedia) bar.disableShare("This browser cannot share its screen");
  render();
  // The mentor's arrival starts the session in the media room (timer, recording).
  if (context.isMentor && !joined.started) sfu.start();
  return { sfu, finish };
}
