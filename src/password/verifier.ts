/**
 * Checks passwords against stored hashes. The orchestrator calls it exactly
 * once per attempt that reaches verification: against the stored hash, or
 * against {@link PasswordVerifier.dummyHash} when there is no account or the
 * stored hash is malformed, so every miss costs what a real check costs.
 *
 * Drop in a native bcrypt or argon2 by implementing this interface.
 */
export interface PasswordVerifier {
  /** Resolves `true` when `password` matches `hash`. Rejects only when it could not check. */
  verify(password: string, hash: string): Promise<boolean>;
  /** True when `hash` is a hash this verifier can check. A false here denies the login and alerts. */
  isWellFormed(hash: string): boolean;
  /**
   * A well-formed hash that no password matches and that costs as much to
   * verify as `like` (the most recent real hash seen), or as the configured
   * default cost when `like` is undefined.
   */
  dummyHash(like: string | undefined): string;
  /** Longest password in UTF-8 bytes; longer ones are `invalid_input`, never truncated. Default: no limit. */
  readonly maxPasswordBytes?: number;
  /** Releases threads. Called by `auth.close()`. */
  close?(): Promise<void>;
}
