// The call's video tiles: one per participant (observers have none) with name, muted-microphone
// badge, camera-off placeholder with initials, connection level, "Reconnecting…" state and the
// active-speaker ring; a screen share takes the stage with the cameras in a strip beside it.
// Remote audio plays through hidden <audio> elements kept apart from the tiles.
import { h, initials } from "./dom.js";
import { icons } from "./icons.js";

const ASPECT = 16 / 9;
const GAP = 12;

export function callGrid({ root = document.getElementById("call-grid"), onAudioBlocked = () => {} } = {}) {
  const tiles = new Map(); // participant_id -> {el, video, ...}
  const screens = new Map(); // publication_id -> {el, participantId}
  const audios = new Map(); // publication_id -> <audio>
  const strip = h("div", { class: "tile-strip" });
  const audioBox = h("div", { class: "audio-sinks", hidden: true });
  root.append(strip, audioBox);
  let selfId = null;
  let speakerId = null;

  function tileFor(participant) {
    let tile = tiles.get(participant.participant_id);
    if (tile) return tile;
    const video = h("video", { autoplay: true, playsinline: true, muted: true });
    video.muted = true;
    const name = h("span", { class: "tile-name" });
    const mic = h("span", { class: "mic-badge", role: "img", "aria-label": "Microphone muted", html: icons.micOff });
    const quality = h("button", { type: "button", class: "tile-quality", "aria-label": "Connection" });
    const el = h(
      "figure",
      { class: "tile", dataset: { participantId: participant.participant_id } },
      video,
      h("div", { class: "tile-off" }, h("span", { class: "avatar big", "aria-hidden": "true" })),
      h("div", { class: "tile-status", role: "status" }, "Reconnecting…"),
      h("figcaption", { class: "tile-label" }, mic, name),
      quality,
    );
    quality.addEventListener("click", () => el.classList.toggle("show-reason"));
    video.addEventListener("playing", () => (el.dataset.hasVideo = "true"));
    video.addEventListener("emptied", () => delete el.dataset.hasVideo);
    tile = { el, video, name, mic, quality, reason: h("span", { class: "tile-reason" }) };
    el.append(tile.reason);
    tiles.set(participant.participant_id, tile);
    strip.append(el);
    return tile;
  }

  function update(participant) {
    const tile = tileFor(participant);
    const isSelf = participant.participant_id === selfId;
    const pubs = participant.publications || [];
    const camera = pubs.find((p) => p.source === "camera");
    const micPub = pubs.find((p) => p.source === "microphone");
    const label = `${participant.name}${isSelf ? " (You)" : ""}${participant.role === "mentor" ? " · Mentor" : ""}`;
    tile.name.textContent = label;
    tile.el.setAttribute("aria-label", label);
    tile.el.querySelector(".avatar").textContent = initials(participant.name);
    tile.el.dataset.self = String(isSelf);
    tile.el.dataset.role = participant.role || "";
    tile.el.dataset.cameraOff = String(!camera || !!camera.muted);
    tile.el.dataset.micMuted = String(!micPub || !!micPub.muted);
    tile.mic.hidden = !(micPub ? micPub.muted : true);
    const reconnecting = participant.state === "reconnecting" || participant.connected === false;
    tile.el.dataset.reconnecting = String(reconnecting);
    if (participant.quality) setQuality(participant.participant_id, participant.quality);
  }

  function setQuality(participantId, { level, reason }) {
    const tile = tiles.get(participantId);
    if (!tile || !level) return;
    tile.el.dataset.quality = level;
    tile.quality.innerHTML = icons.signal(level);
    const text = reason ? `${level} connection: ${reason}` : `${level} connection`;
    tile.quality.title = text;
    tile.quality.setAttribute("aria-label", `Connection ${text}`);
    tile.reason.textContent = text;
  }

  function layout() {
    const hasScreen = screens.size > 0;
    root.classList.toggle("has-screen", hasScreen);
    const count = tiles.size;
    root.dataset.count = String(count);
    const box = hasScreen ? strip.getBoundingClientRect() : root.getBoundingClientRect();
    let width;
    if (hasScreen) {
      // The strip: a column beside the screen on wide layouts, a row under it on narrow ones.
      const vertical = root.clientWidth > 700;
      width = vertical ? Math.min(box.width, 260) : Math.min(200, (root.clientWidth - GAP * (count - 1)) / Math.max(count, 1));
    } else {
      width = bestWidth(count, box.width, box.height);
    }
    for (const tile of tiles.values()) {
      tile.el.style.width = `${Math.floor(width)}px`;
      tile.el.style.height = `${Math.floor(width / ASPECT)}px`;
    }
  }

  // The tile width that fills the area best with `count` tiles in equal rows (Meet's tiling).
  function bestWidth(count, width, height) {
    if (!count || !width || !height) return 320;
    let best = 0;
    for (let cols = 1; cols <= count; cols += 1) {
      const rows = Math.ceil(count / cols);
      const w = Math.min((width - GAP * (cols - 1)) / cols, ((height - GAP * (rows - 1)) / rows) * ASPECT);
      best = Math.max(best, w);
    }
    return best;
  }

  new ResizeObserver(() => layout()).observe(root);

  return {
    setSelf(id) {
      selfId = id;
    },
    /** The room's list: tiles appear, update and go (observers never get one). */
    setParticipants(participants) {
      const visible = participants.filter((p) => !p.observer && p.role !== "admin");
      const ids = new Set(visible.map((p) => p.participant_id));
      for (const [id, tile] of tiles) {
        if (!ids.has(id)) {
          tile.el.remove();
          tiles.delete(id);
        }
      }
      // The mentor first, then everyone in the order they came.
      visible.sort((a, b) => (b.role === "mentor") - (a.role === "mentor"));
      for (const participant of visible) {
        update(participant);
        strip.append(tiles.get(participant.participant_id).el);
      }
      if (speakerId) this.setSpeaker(speakerId);
      layout();
    },
    /** This tab's own camera, shown mirrored from the local track (no round trip). */
    showLocal(track) {
      const tile = selfId && tiles.get(selfId);
      if (!tile) return;
      tile.el.classList.add("mirror");
      const current = tile.video.srcObject?.getVideoTracks()[0];
      if (current === track) return;
      tile.video.srcObject = track ? new MediaStream([track]) : null;
    },
    attach({ info, stream, track }) {
      if (track.kind === "audio") {
        const playing = audios.get(info.publication_id);
        if (playing) {
          // The same publication on a new connection (a migrated call): one element, the new stream.
          playing.srcObject = stream;
          playing.play().catch(() => {});
          return;
        }
        const audio = h("audio", { autoplay: true });
        audio.srcObject = stream;
        audios.set(info.publication_id, audio);
        audioBox.append(audio);
        audio.play().catch(() => onAudioBlocked(() => audios.forEach((a) => a.play().catch(() => {}))));
        return;
      }
      if (info.source === "screen") {
        const shown = screens.get(info.publication_id);
        if (shown) {
          shown.el.querySelector("video").srcObject = stream; // migrated: same share, new connection
          return;
        }
        const owner = tiles.get(info.participant_id);
        const ownerName = owner ? owner.name.textContent.replace(/ \(You\)| · Mentor/g, "") : "Someone";
        const video = h("video", { autoplay: true, playsinline: true, muted: true });
        video.muted = true;
        video.srcObject = stream;
        const el = h(
          "figure",
          { class: "tile screen-tile", dataset: { publicationId: info.publication_id, participantId: info.participant_id } },
          video,
          h("figcaption", { class: "tile-label" }, h("span", { html: icons.screen }), `${ownerName}'s screen`),
        );
        el.setAttribute("aria-label", `${ownerName}'s screen`);
        screens.set(info.publication_id, { el, participantId: info.participant_id });
        root.prepend(el);
        layout();
        return;
      }
      const tile = tiles.get(info.participant_id) || tileFor({ participant_id: info.participant_id, name: "" });
      tile.video.srcObject = stream;
      tile.video.dataset.publicationId = info.publication_id;
    },
    /** This tab's own screen share, shown from the local track. */
    showLocalScreen(track) {
      this.detach("local-screen");
      if (!track) return;
      this.attach({
        info: { publication_id: "local-screen", participant_id: selfId, source: "screen" },
        stream: new MediaStream([track]),
        track,
      });
    },
    detach(publicationId) {
      const audio = audios.get(publicationId);
      if (audio) {
        audio.srcObject = null;
        audio.remove();
        audios.delete(publicationId);
      }
      const screen = screens.get(publicationId);
      if (screen) {
        screen.el.remove();
        screens.delete(publicationId);
        layout();
      }
      for (const tile of tiles.values()) {
        if (tile.video.dataset.publicationId === publicationId) {
          tile.video.srcObject = null;
          delete tile.video.dataset.publicationId;
          delete tile.el.dataset.hasVideo;
        }
      }
    },
    setQuality,
    setSpeaker(participantId) {
      speakerId = participantId;
      for (const [id, tile] of tiles) tile.el.classList.toggle("speaking", id === participantId);
    },
    layout,
    clear() {
      for (const id of [...audios.keys(), ...screens.keys()]) this.detach(id);
      for (const tile of tiles.values()) tile.el.remove();
      tiles.clear();
    },
  };
}
