// The green room: camera preview, microphone meter, device pickers, "Join muted" and
// "Join with video off", and the join button (whose meaning the lobby decides).
import { toast } from "../app.js";
import { icons } from "./icons.js";
import { levelMeter } from "./level-meter.js";

export function greenRoom({ media, root = document.getElementById("green-room") }) {
  const video = root.querySelector("#preview-video");
  const off = root.querySelector("#preview-off");
  const offText = root.querySelector("#preview-off-text");
  const problem = root.querySelector("#device-problem");
  const problemDetail = root.querySelector("#device-problem-detail");
  const micToggle = root.querySelector("#preview-mic");
  const camToggle = root.querySelector("#preview-cam");
  const cameraPicker = root.querySelector("#camera-picker");
  const micPicker = root.querySelector("#mic-picker");
  const joinButton = root.querySelector("#join-now");
  const meter = levelMeter(root.querySelector("#mic-level"));
  const state = { muted: false, videoOff: false };

  function renderToggles() {
    micToggle.innerHTML = state.muted ? icons.micOff : icons.mic;
    micToggle.setAttribute("aria-pressed", String(state.muted));
    micToggle.classList.toggle("off", state.muted);
    camToggle.innerHTML = state.videoOff || !media.camera ? icons.camOff : icons.cam;
    camToggle.setAttribute("aria-pressed", String(state.videoOff));
    camToggle.classList.toggle("off", state.videoOff || !media.camera);
  }

  function renderPreview() {
    const showVideo = media.camera && !state.videoOff;
    video.srcObject = showVideo ? new MediaStream([media.camera]) : null;
    off.hidden = !!showVideo;
    offText.textContent = media.videoDenied ? "Video disabled" : media.camera ? "Camera is off" : "No camera";
    if (media.microphone) media.microphone.enabled = !state.muted;
    if (state.muted) meter.stop();
    else meter.follow(media.microphone);
    renderToggles();
  }

  function fill(select, devices, current, fallback) {
    const choices = devices.map((d, i) => new Option(d.label || `${fallback} ${i + 1}`, d.deviceId));
    if (!choices.length) choices.push(new Option(`No ${fallback.toLowerCase()} found`, ""));
    select.replaceChildren(...choices);
    select.value = current;
    select.disabled = !devices.length;
  }

  function renderPickers() {
    fill(cameraPicker, media.cameras, media.cameraId, "Camera");
    fill(micPicker, media.microphones, media.micId, "Microphone");
  }

  // Only while the green room is open: in the call, the preview's own mute choice must not reach the
  // microphone again (a device change would re-enable a microphone muted in the call).
  const open = new AbortController();
  media.addEventListener("change", () => {
    renderPickers();
    renderPreview();
  }, { signal: open.signal });
  media.addEventListener("problem", (event) => {
    problemDetail.textContent = event.detail.message;
    problem.hidden = false;
  }, { signal: open.signal });
  media.addEventListener("denied", () => toast("Video disabled.", "warn"));
  micToggle.addEventListener("click", () => {
    state.muted = !state.muted;
    renderPreview();
  });
  camToggle.addEventListener("click", async () => {
    if (!media.camera && !media.videoDenied) await media.startCamera();
    state.videoOff = media.camera ? !state.videoOff : true;
    renderPreview();
  });
  cameraPicker.addEventListener("change", () => media.useCamera(cameraPicker.value));
  micPicker.addEventListener("change", () => media.useMicrophone(micPicker.value));
  root.querySelector("#device-retry").addEventListener("click", async () => {
    problem.hidden = true;
    await media.start();
  });

  renderToggles();
  return {
    joinButton,
    /** What the user chose: {muted, videoOff}. */
    choices: () => ({ ...state }),
    setChoices(choices) {
      Object.assign(state, choices);
      renderPreview();
    },
    setJoin({ label, disabled = false, busy = false }) {
      if (label) joinButton.textContent = label;
      joinButton.disabled = disabled || busy;
      joinButton.setAttribute("aria-busy", String(busy));
    },
    hideProblem() {
      problem.hidden = true;
    },
    /** Leaving the green room: the preview stops, the tracks stay for the call. */
    close() {
      open.abort();
      meter.close();
      video.srcObject = null;
    },
  };
}
