// Wall-clock helpers: forms speak "date + time in a named zone", the API speaks UTC instants.

export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// Offset (ms) of `timeZone` from UTC at the instant `utcMs`, read back from Intl because the
// browser knows every zone's DST history and we must not ship our own tables.
function zoneOffset(utcMs, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(utcMs)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

// "2026-12-01" + "18:30" in "Asia/Kolkata" → "2026-12-01T13:00:00.000Z" (null when incomplete).
export function zonedToUtcIso(date, time, timeZone) {
  if (!date || !time) return null;
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  if ([y, m, d, hh, mm].some((n) => !Number.isFinite(n))) return null;
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  let guess = wall - zoneOffset(wall, timeZone);
  // A second pass settles instants near a DST switch, where the first offset was the other side's.
  guess = wall - zoneOffset(guess, timeZone);
  return new Date(guess).toISOString();
}

// The inverse, for pre-filling date and time inputs.
export function utcToZoned(iso, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

export function isValidTimeZone(timeZone) {
  try { new Intl.DateTimeFormat("en-US", { timeZone }); return Boolean(timeZone); } catch { return false; }
}

export function shortTime(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
