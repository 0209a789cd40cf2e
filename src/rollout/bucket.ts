import { murmur3 } from './murmur3.js';

/**
 * Where a user falls in a rollout, from 1 to 100: Unleash's sticky bucketing
 * (`murmur3("<group>:<key>") % 100 + 1`, seed 0), so the same key always
 * lands in the same bucket for the same rollout, in every process and after
 * every restart. A user takes the candidate path when its bucket is at most
 * the rollout's `percent`: raising `percent` only ever moves users from the
 * control to the candidate, never back.
 *
 * @example
 * ```ts
 * rolloutBucket('users-v2', 'alice@example.com'); // 1..100, the same every time
 * ```
 */
export function rolloutBucket(rollout: string, key: string): number {
  return (murmur3(`${rollout}:${key}`) % 100) + 1;
}
