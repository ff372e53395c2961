// The local camera and microphone: acquiring them with fallbacks, switching devices, and noticing
// a device that goes away. UI-free: it reports through events the green room and the call show.
//
//   "change"   tracks or device lists changed (read .camera, .microphone, .cameras, .microphones)
//   "denied"   the camera was refused: audio only ("Video disabled.")
//   "problem"  {detail: {message}}: nothing usable (or the camera alone is missing)
//   "lost"     {detail: {kind}}: a track in use ended (device unplugged)

const PREFERENCES = "mentorlive.devices";

export class LocalMedia extends EventTarget {
  constructor(storage = window.localStorage) {
    super();
    this.storage = storage;
    this.camera = null;
    this.microphone = null;
    this.cameras = [];
    this.microphones = [];
    this.videoDenied = false;
    this.problem = null;
    const saved = this._load();
    this.cameraId = saved.cameraId || "";
    this.micId = saved.micId || "";
    navigator.mediaDevices?.addEventListener("devicechange", () => this._refreshLists());
  }

  /** Ask for camera and microphone; falls back to whatever is allowed and present. */
  async start({ video = true } = {}) {
    this.problem = null;
    const wantVideo = video && !this.videoDenied;
    let stream = null;
    let firstError = null;
    const attempts = wantVideo ? [{ audio: true, video: true }, { audio: true }, { video: true }] : [{ audio: true }];
    for (const want of attempts) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(this._constraints(want));
        break;
      } catch (error) {
        firstError = firstError || error;
        // A device id that vanished: forget it and let the browser pick.
        if (error.name === "OverconstrainedError") {
          this.cameraId = "";
          this.micId = "";
        }
      }
    }
    this._stopTracks();
    if (stream) {
      this._adopt(stream.getAudioTracks()[0] || null, "audio");
      this._adopt(stream.getVideoTracks()[0] || null, "video");
    }
    if (wantVideo && !this.camera && firstError?.name === "NotAllowedError" && this.microphone) {
      this.videoDenied = true;
      this._emit("denied");
    } else if (!this.camera && !this.microphone) {
      this._problem("Check that a camera or microphone is plugged in and allowed for this site.");
    } else if (wantVideo && !this.camera) {
      this._problem("No camera could be opened. You can join with audio only.");
    } else if (!this.microphone) {
      this._problem("No microphone could be opened. You can join without sound.");
    }
    await this._refreshLists();
    return this;
  }

  /** Turn the camera back on after it was stopped or lost (asks only for video). */
  async startCamera() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(this._constraints({ video: true }));
      this._replace("video", stream.getVideoTracks()[0]);
      this.problem = null;
      return this.camera;
    } catch (error) {
      if (error.name === "NotAllowedError") {
        this.videoDenied = true;
        this._emit("denied");
      } else this._problem("No camera could be opened.");
      return null;
    }
  }

  async useCamera(deviceId) {
    this.cameraId = deviceId;
    this._save();
    return this.startCamera();
  }

  async useMicrophone(deviceId) {
    this.micId = deviceId;
    this._save();
    try {
      const stream = await navigator.mediaDevices.getUserMedia(this._constraints({ audio: true }));
      this._replace("audio", stream.getAudioTracks()[0]);
      return this.microphone;
    } catch {
      this._problem("That microphone could not be opened.");
      return null;
    }
  }

  stop() {
    this._stopTracks();
    this._emit("change");
  }

  stopCamera() {
    if (this.camera) this.camera.stop();
    this.camera = null;
    this._emit("change");
  }

  // -- internals --------------------------------------------------------------------------
  _constraints({ audio = false, video = false }) {
    return {
      audio: audio ? (this.micId ? { deviceId: { exact: this.micId } } : true) : false,
      video: video
        ? { width: { ideal: 1280 }, height: { ideal: 720 }, ...(this.cameraId ? { deviceId: { exact: this.cameraId } } : {}) }
        : false,
    };
  }

  _adopt(track, kind) {
    if (!track) return;
    if (kind === "audio") this.microphone = track;
    else this.camera = track;
    const id = track.getSettings?.().deviceId;
    if (id) {
      if (kind === "audio") this.micId = id;
      else this.cameraId = id;
      this._save();
    }
    // An unplugged device ends its track; a track we stop ourselves does not fire "ended".
    track.addEventListener("ended", () => {
      if (kind === "audio" && this.microphone === track) this.microphone = null;
      else if (kind === "video" && this.camera === track) this.camera = null;
      else return;
      if (kind === "audio") this.micId = "";
      else this.cameraId = "";
      this._refreshLists().then(() => this._emit("lost", { kind }));
    });
  }

  _replace(kind, track) {
    const old = kind === "audio" ? this.microphone : this.camera;
    if (old && old !== track) old.stop();
    if (kind === "audio") this.microphone = null;
    else this.camera = null;
    this._adopt(track, kind);
    this._emit("change", { kind, track });
  }

  _stopTracks() {
    for (const track of [this.camera, this.microphone]) if (track) track.stop();
    this.camera = null;
    this.microphone = null;
  }

  async _refreshLists() {
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      this.cameras = devices.filter((d) => d.kind === "videoinput" && d.deviceId);
      this.microphones = devices.filter((d) => d.kind === "audioinput" && d.deviceId);
    } catch {
      this.cameras = [];
      this.microphones = [];
    }
    this._emit("change");
  }

  _problem(message) {
    this.problem = message;
    this._emit("problem", { message });
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _load() {
    try {
      return JSON.parse(this.storage.getItem(PREFERENCES) || "{}");
    } catch {
      return {};
    }
  }

  _save() {
    try {
      this.storage.setItem(PREFERENCES, JSON.stringify({ cameraId: this.cameraId, micId: this.micId }));
    } catch {
      // Preferences are a convenience; the browser's default device works too.
    }
  }
}
