// Moving a call to another media node without a visible break (docs/signaling.md, "Migration").
//
// `migrate`: a draining node names the target (`url`, `token`, `deadline`). A second SfuClient
// (the new leg) joins the target with the same local tracks (a track may feed two senders) while
// the old leg keeps playing. The target gives back the same participant and publication ids, so
// once the new leg receives media for every publication the old one showed (or at the deadline)
// the client adopts the new leg: the page gets each new stream for the same publication id (the
// grid swaps it into the same tile: at most a short freeze), then the old leg leaves and closes.
//
// Node death: resuming failed (the node is gone, or restarted without the room): ask the web app
// for a fresh grant (`refreshGrant`, the join-token API; it re-allocates the room) and join there.

const POLL_MS = 100;

/** `ws://host/rtc` -> the signaling URL to open (never with a token: it goes in `join`/`resume`);
 * null -> the page's own origin. */
export function signalingUrl(url, base = window.location) {
  if (!url) {
    const scheme = base.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${base.host}/rtc`;
  }
  return url.split("?")[0];
}

/** Publication ids the leg's peer connection has received media for (RTP packets in). */
async function receivedIds(leg) {
  const ids = new Set();
  if (!leg.pc) return ids;
  const stats = await leg.pc.getStats();
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && (s.packetsReceived || 0) > 0) {
      const info = leg.byMid.get(s.mid);
      if (info) ids.add(info.publication_id);
    }
  });
  return ids;
}

export async function migrate(client, message, makeLeg) {
  const deadline = Number(message.deadline) * 1000 || Date.now() + 10000;
  const leg = makeLeg({ token: message.token, url: signalingUrl(message.url) });
  client._next = leg;
  let joined = null;
  try {
    joined = await leg.connect(Object.fromEntries(client.local));
    const wanted = [...client.remote.keys()];
    while (!joined.ended && Date.now() < deadline && !client.left) {
      const got = await receivedIds(leg);
      const connected = leg.pc && leg.pc.connectionState === "connected";
      if (connected && wanted.every((id) => got.has(id))) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    client._next = null;
  }
  if (client.left || joined.ended) {
    leg.close();
    return;
  }
  client._adopt(leg, joined, message);
}

export async function rejoin(client) {
  const grant = await client.refreshGrant();
  client._rejoining = true;
  if (client.pc) client.pc.close();
  client.pc = null;
  for (const id of [...client.remote.keys()]) client._dropRemote(id);
  client.byMid.clear();
  client.token = grant.token;
  client.url = signalingUrl(grant.url);
  const publish = [...client.local.keys()].map((source) =>
    source === "microphone" ? source : { source, codec: client.codec });
  client._open(() => client._send({ type: "join", token: client.token, publish }));
}
