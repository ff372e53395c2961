// Every /ws channel name the pages subscribe to, built in one place. Mirrors
// web/realtime/channels.py (who may subscribe to which: web/realtime/authz.py, ARCHITECTURE §6).

/** A mentor's incoming bookings and live requests. */
export const requestsChannel = (mentorId) => `requests:${mentorId}`;

/** A learner's answers: booking confirmed, request accepted or declined. */
export const responsesChannel = (learnerId) => `responses:${learnerId}`;

/** A session's card: new bookings, edits, cancellation. */
export const sessionChannel = (sessionId) => `sessions:${sessionId}`;

/** A session's room: lobby presence, live, end, quality. */
export const roomChannel = (roomCode) => `sessions:${roomCode}`;

/** A user's persisted notifications (the bell). */
export const notificationsChannel = (userId) => `notifications:${userId}`;
