/**
 * Milliseconds until an account's lock lifts at `nowMs`: 0 when not locked. A
 * value that is not a valid date locks for good (fail closed).
 */
export function lockedForMs(lockedUntil: Date | null | undefined, nowMs: number): number {
  if (lockedUntil === undefined || lockedUntil === null) return 0;
  const until =
    lockedUntil instanceof Date ? lockedUntil.getTime() : new Date(lockedUntil).getTime();
  if (Number.isNaN(until)) return Number.MAX_SAFE_INTEGER;
  return Math.max(0, until - nowMs);
}
