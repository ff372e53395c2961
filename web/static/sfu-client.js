// MentorLive SFU client: one signaling socket and one peer connection to the media node.
// The server makes every offer (see docs/signaling.md): to send media the client asks with
// `publish`, and attaches its track to the m-line the server's next offer names for it.
//
//   import { SfuClient } from "/rtc/sfu-client.js";
//   const sfu = new SfuClient({ token });
//   sfu.addEventListener("track", (e) => show(e.detail.stream, e.detail.info));
//   await sfu.connect({ camera: videoTrack, microphone: audioTrack });

import { migrate, rejoin, signalingUrl } from "./sfu-migration.js";

const GATHER_CAP_MS = 3000;
const PING_MS = 15000;
const RETRY_MS = [250, 500, 1000, 2000, 4000, 8000];
// Failed resumes before a client that can ask for a fresh grant (`refreshGrant`) does so: the node may be dead.
const RESUMES_BEFORE_REJOIN = 2;
// Then a fresh grant every second (a dead node is re-allocated once the registry declares it dead, ~5 s).
const REJOIN_MS = 1000;
const REJOIN_TRIES = 30;

// The join token travels in the first message (`join`/`resume`), never in the URL (logs, proxies).
export function rtcUrl(base = window.location) {
  const scheme = base.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${base.host}/rtc`;
}

export class SfuClient extends EventTarget {
  constructor({ token, url = null, iceServers = [], codec = "VP8", refreshGrant = null } = {}) {
    super();
    this.token = token;
    // `url`: a node's signaling URL (ws://host/rtc), the token goes in the first message; none: this page's origin.
    this.url = url ? signalingUrl(url) : rtcUrl();
    // async () => ({token, url}): a fresh grant from the web app, after the node is lost (sfu-migration.js).
    this.refreshGrant = refreshGrant;
    this._next = null;
    this._rejoining = false;
    this.iceServers = iceServers;
    this.codec = codec;
    this.local = new Map(); // source -> MediaStreamTrack we send
    this.remote = new Map(); // publication_id -> {track, stream, info}
    this.byMid = new Map(); // mid -> track info from the server
    this.participants = [];
    this.participantId = null;
    this.resumeKey = null;
    this.pc = null;
    this.ws = null;
    this.left = false;
    this._chain = Promise.resolve(); // offers are applied one at a time, in order
    this._joined = null;
    this._ping = null;
    this._attempts = 0;
  }

  // -- public API ------------------------------------------------------------------------
  /** Join the room, publishing the given tracks ({camera, microphone, screen}). */
  connect(tracks = {}) {
    for (const [source, track] of Object.entries(tracks)) if (track) this.local.set(source, track);
    const publish = [...this.local.keys()].map((source) =>
      source === "microphone" ? source : { source, codec: this.codec });
    return new Promise((resolve, reject) => {
      this._joined = { resolve, reject };
      this._open(() => this._send({ type: "join", token: this.token, publish }));
    });
  }

  /** Start sending a track; the server answers with an offer carrying its m-line. */
  publish(source, track, { codec = this.codec } = {}) {
    this.local.set(source, track);
    this._send({ type: "publish", source, codec: source === "microphone" ? undefined : codec });
  }

  unpublish(source) {
    const track = this.local.get(source);
    this.local.delete(source);
    if (track) track.stop();
    this._send({ type: "unpublish", source });
  }

  /** Mute keeps the m-line (and the recording's timeline) but sends silence/black. */
  setMuted(source, muted) {
    const track = this.local.get(source);
    if (track) track.enabled = !muted;
    this._send({ type: "mute", source, muted });
  }

  /** Send another device's track for a source already published (no renegotiation). */
  async replaceTrack(source, track) {
    const old = this.local.get(source);
    this.local.set(source, track);
    for (const sender of this.pc ? this.pc.getSenders() : []) {
      if (old && sender.track === old) await sender.replaceTrack(track);
    }
  }

  chat(text) { this._send({ type: "chat", text }); }
  draw(stroke) { this._send({ type: "whiteboard", stroke }); }
  clearWhiteboard() { this._send({ type: "whiteboard", clear: true }); }
  start() { this._send({ type: "start" }); }
  end() { this._send({ type: "end" }); }
  requestParticipants() { this._send({ type: "participants" }); }

  leave() {
    this.left = true;
    this._send({ type: "leave" });
    this._teardown();
  }

  /** Close without a word to the server (after `end`: the room is already gone). */
  close() {
    this.left = true;
    this._teardown();
  }

  /** Decoded-frame counts per remote publication (from the peer connection's stats). */
  async framesDecoded() {
    const out = {};
    if (!this.pc) return out;
    const stats = await this.pc.getStats();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        const info = this.byMid.get(s.mid);
        if (info) out[info.publication_id] = s.framesDecoded || 0;
      }
    });
    return out;
  }

  // -- socket ------------------------------------------------------------------------------
  _open(onOpen) {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      onOpen();
      this._startPing();
    };
    this._bindSocket(ws);
  }

  _startPing() {
    clearInterval(this._ping);
    this._ping = setInterval(() => this._send({ type: "ping", ts: Date.now() }), PING_MS);
  }

  _bindSocket(ws) {
    ws.onmessage = (event) => this._onMessage(JSON.parse(event.data));
    ws.onclose = () => {
      // While a migration runs, the new leg takes over (or the deadline passes); the old socket may go.
      if (ws !== this.ws || this._next) return;
      clearInterval(this._ping);
      if (this.left) return;
      if (this.participantId) this._reconnect();
      else this._emit("closed", { reason: "socket closed" });
    };
  }

  // The server keeps our place for a grace period: reconnect with backoff and `resume`.
  _reconnect() {
    const attempt = this._attempts++;
    if (this.refreshGrant && attempt >= RESUMES_BEFORE_REJOIN) {
      if (attempt >= RESUMES_BEFORE_REJOIN + REJOIN_TRIES) {
        this.left = true;
        this._emit("closed", { reason: "could not reconnect" });
        this._teardown();
        return;
      }
      this._emit("reconnecting", { attempt });
      setTimeout(() => this._rejoin(), attempt === RESUMES_BEFORE_REJOIN ? 0 : REJOIN_MS);
      return;
    }
    if (attempt >= RETRY_MS.length) {
      this.left = true;
      this._emit("closed", { reason: "could not reconnect" });
      this._teardown();
      return;
    }
    this._emit("reconnecting", { attempt });
    setTimeout(() => this._open(() => this._send({
      type: "resume", token: this.token, participant_id: this.participantId, resume_key: this.resumeKey,
      restart_media: this.pc ? ["failed", "closed"].includes(this.pc.connectionState) : true,
    })), RETRY_MS[attempt]);
  }

  // The node is gone (or forgot the room): a fresh grant from the web app, and `join` wherever it points.
  _rejoin() {
    if (this.left) return;
    // The old socket is done with: its close must not start another round of resumes.
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
    rejoin(this).catch(() => this._reconnect());
  }

  // Migration (sfu-migration.js): the new leg carries everything now; take over its socket and peer connection.
  _adopt(leg, joined, message) {
    const old = { ws: this.ws, pc: this.pc };
    clearInterval(leg._ping);
    this.ws = leg.ws;
    this.pc = leg.pc;
    this.byMid = leg.byMid;
    this.url = leg.url;
    this.token = leg.token;
    this._chain = leg._chain;
    this.participantId = joined.participant_id;
    this.resumeKey = joined.resume_key;
    this.participants = leg.participants;
    this._attempts = 0;
    this._bindSocket(this.ws);
    this._bindPeer(this.pc);
    this._startPing();
    // The same publication ids on new m-lines: the page swaps each stream into the tile it already has.
    const before = this.remote;
    this.remote = leg.remote;
    for (const [id, entry] of before) {
      if (!this.remote.has(id)) this._emit("trackended", { publication_id: id, info: entry.info });
    }
    for (const entry of this.remote.values()) this._emit("track", { track: entry.track, stream: entry.stream, info: entry.info });
    if (old.ws && old.ws.readyState === WebSocket.OPEN) old.ws.send(JSON.stringify({ type: "leave" }));
    if (old.ws) old.ws.close();
    if (old.pc) old.pc.close();
    this._emit("migrated", { node: message.node, participants: this.participants });
  }

  _send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  _teardown() {
    clearInterval(this._ping);
    if (this.pc) this.pc.close();
    if (this.ws) this.ws.close();
  }

  _emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  // -- messages -----------------------------------------------------------------------------
  _onMessage(message) {
    switch (message.type) {
      case "join":
        this.participantId = message.participant_id;
        this.resumeKey = message.resume_key;
        this.participants = message.participants;
        if (this._rejoining) {
          // A new participant in a new room (another node, or this one restarted): the page repaints.
          this._rejoining = false;
          this._attempts = 0;
          this._emit("rejoined", message);
        } else if (this._joined) this._joined.resolve(message);
        break;
      case "migrate":
        if (!this._next && !this.left) {
          migrate(this, message, (options) => new SfuClient({ ...options, iceServers: this.iceServers, codec: this.codec }))
            .catch((err) => this._emit("error", { code: "migration", message: String(err) }));
        }
        break;
      case "resume":
        this._attempts = 0;
        this.participants = message.participants;
        this._emit("reconnected", message);
        break;
      case "offer":
        this._chain = this._chain.then(() => this._onOffer(message)).catch((err) =>
          this._emit("error", { code: "negotiation", message: String(err) }));
        return;
      case "track_added":
        this.byMid.set(message.mid, message);
        break;
      case "track_removed":
        this.byMid.delete(message.mid);
        this._dropRemote(message.publication_id);
        break;
      case "participants":
        this.participants = message.participants;
        break;
      case "participant": {
        // One entry joined or changed: the whole list comes only with join, resume and a request.
        const entry = message.participant;
        const known = this.participants.some((p) => p.participant_id === entry.participant_id);
        this.participants = known
          ? this.participants.map((p) => (p.participant_id === entry.participant_id ? entry : p))
          : [...this.participants, entry];
        this._emit("participants", { participants: this.participants, attendees: message.attendees });
        break;
      }
      case "participant_left":
        this.participants = this.participants.filter((p) => p.participant_id !== message.participant_id);
        this._emit("participants", { participants: this.participants, attendees: message.attendees });
        break;
      case "error":
        if (this._joined && !this.participantId) this._joined.reject(new Error(message.message));
        if (message.code === "room_closed" && this._next) break; // moved: the new leg takes over
        if (message.code === "room_closed" && this.refreshGrant && this.participantId && !this.left) {
          // Nothing to resume (the node restarted) or the room moved on without us: join it afresh.
          this._rejoin();
          break;
        }
        if (message.code === "room_closed" || message.code === "replaced") {
          this.left = true;
          this._emit("closed", { reason: message.message });
        }
        break;
      case "end":
        this.left = true;
        break;
      default:
        break;
    }
    this._emit(message.type, message);
  }

  async _onOffer(message) {
    if (message.restart || !this.pc) this._newPeerConnection();
    for (const info of message.tracks || []) this.byMid.set(info.mid, info);
    const pc = this.pc;
    await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
    const wanted = message.publish || {};
    for (const transceiver of pc.getTransceivers()) {
      const source = Object.keys(wanted).find((s) => wanted[s] === transceiver.mid);
      const track = source && this.local.get(source);
      if (track && transceiver.sender.track !== track) {
        await transceiver.sender.replaceTrack(track);
        transceiver.direction = "sendonly";
      }
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    this._send({ type: "answer", sdp: pc.localDescription.sdp });
    this._emit("negotiated", { restart: !!message.restart });
  }

  _newPeerConnection() {
    if (this.pc) this.pc.close();
    for (const id of [...this.remote.keys()]) this._dropRemote(id);
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: this.iceServers });
    this.pc = pc;
    this._bindPeer(pc);
  }

  _bindPeer(pc) {
    if (!pc) return;
    pc.ontrack = (event) => {
      const info = this.byMid.get(event.transceiver.mid);
      if (!info) return;
      const stream = new MediaStream([event.track]);
      this.remote.set(info.publication_id, { track: event.track, stream, info });
      this._emit("track", { track: event.track, stream, info });
    };
    pc.onconnectionstatechange = () => {
      this._emit("connectionstate", { state: pc.connectionState });
      if (pc === this.pc && pc.connectionState === "failed" && !this.left) {
        // aiortc cannot restart ICE: ask the server for a new peer connection.
        this._send({ type: "resume", token: this.token, participant_id: this.participantId,
          resume_key: this.resumeKey, restart_media: true });
      }
    };
  }

  _dropRemote(publicationId) {
    const entry = this.remote.get(publicationId);
    if (!entry) return;
    this.remote.delete(publicationId);
    this._emit("trackended", { publication_id: publicationId, info: entry.info });
  }
}

// aiortc reads candidates only from the SDP, so wait for gathering (with a cap).
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_CAP_MS);
  });
}
