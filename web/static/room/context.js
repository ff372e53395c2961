// What the server rendered into the room page (templates/room.html): the session, the user and
// the endpoints, plus the per-tab memory of having joined (a reload goes straight back in).

export function readContext(doc = document) {
  const context = JSON.parse(doc.getElementById("room-context").textContent);
  const role = context.user.role;
  return {
    ...context,
    isMentor: role === "mentor",
    isObserver: role === "admin",
    isLearner: role === "learner",
  };
}

const joinedKey = (roomCode) => `mentorlive.room.${roomCode}.joined`;

/** The device choices of this tab's last join, or null when it has not joined this room. */
export function rememberedJoin(roomCode, storage = window.sessionStorage) {
  try {
    return JSON.parse(storage.getItem(joinedKey(roomCode)) || "null");
  } catch {
    return null;
  }
}

export function rememberJoin(roomCode, choices, storage = window.sessionStorage) {
  try {
    storage.setItem(joinedKey(roomCode), JSON.stringify(choices));
  } catch {
    // Storage blocked: a reload just shows the green room again.
  }
}

export function forgetJoin(roomCode, storage = window.sessionStorage) {
  try {
    storage.removeItem(joinedKey(roomCode));
  } catch {
    // Nothing remembered, nothing to forget.
  }
}
