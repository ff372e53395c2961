// The /rtc/test page: a file, not an inline script, so the page runs under the app's CSP.
import { SfuClient } from "/rtc/sfu-client.js";

const params = new URLSearchParams(location.search);
const log = (line) => { document.getElementById("log").textContent += line + "\n"; };
const status = (text) => { document.getElementById("status").textContent = text; };

const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
document.getElementById("local").srcObject = media;
const sfu = new SfuClient({ token: params.get("token"), codec: params.get("codec") || "VP8" });
const videos = new Map();

sfu.addEventListener("track", ({ detail }) => {
  if (detail.track.kind !== "video") return;
  const figure = document.createElement("figure");
  const video = document.createElement("video");
  Object.assign(video, { autoplay: true, muted: true, playsInline: true, srcObject: detail.stream });
  video.dataset.publication = detail.info.publication_id;
  figure.append(video, Object.assign(document.createElement("figcaption"), {
    textContent: `${detail.info.participant_id} ${detail.info.source}` }));
  document.getElementById("videos").append(figure);
  videos.set(detail.info.publication_id, figure);
});
sfu.addEventListener("trackended", ({ detail }) => {
  videos.get(detail.publication_id)?.remove();
  videos.delete(detail.publication_id);
});
for (const type of ["mute", "quality", "error", "start", "end", "reconnecting", "reconnected"]) {
  sfu.addEventListener(type, ({ detail }) => log(`${type} ${JSON.stringify(detail)}`));
}

const joined = await sfu.connect({ camera: media.getVideoTracks()[0], microphone: media.getAudioTracks()[0] });
status(`joined ${joined.room} as ${joined.participant_id}`);

// For tests: decoded frames per remote publication, read from RTCPeerConnection stats.
window.sfuTest = { client: sfu, framesDecoded: () => sfu.framesDecoded(), ready: true };
