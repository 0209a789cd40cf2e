/** Per-call options of {@link PasswordVerifier.verify}. */
export interface VerifyOptions {
  /**
   * Longest time this verification may wait for a thread before it starts.
   * A verifier that cannot start it in time rejects at once with a
   * `ResilientAuthError` of code `OVERLOADED` instead of queueing it (shed,
   * don't queue). The orchestrator passes what is left of the call's
   * deadline (see `verifyWaitMs`). Absent: the verifier's own bound.
   */
  readonly maxWaitMs?: number;
}

/**
 * Checks passwords against stored hashes. The orchestrator calls it exactly
 * once per attempt that reaches verification: against the stored hash, or
 * against {@link PasswordVerifier.dummyHash} when there is no account or the
 * stored hash is malformed, so every miss costs what a real check costs.
 *
 * Drop in your own by implementing this interface; `nativeBcryptVerifier()`,
 * `argon2Verifier()` and `multiFormatVerifier()` are the ones shipped besides
 * the default `bcryptVerifier()`.
 */
export interface PasswordVerifier {
  /**
   * Resolves `true` when `password` matches `hash`. Rejects only when it could
   * not check: with code `OVERLOADED` when it could not start within
   * `options.maxWaitMs`, otherwise with any error (reported as `VERIFIER_FAILED`).
   */
  verify(password: string, hash: string, options?: VerifyOptions): Promise<boolean>;
  /** True when `hash` is a hash this verifier can check. A false here denies the login and alerts. */
  isWellFormed(hash: string): boolean;
  /**
   * A well-formed hash that no password matches and that costs as much to
   * verify as `like` (the most recent real hash seen), or as the configured
   * default cost when `like` is undefined.
   */
  dummyHash(like: string | undefined): string;
  /**
   * Optional, with {@link hash}: true when `hash`, which a password just
   * matched, is weaker than what this verifier would create now (a lower
   * cost, another algorithm). The orchestrator then rehashes the password and
   * hands the new hash to the app (`result.rehash`, `onRehash`).
   */
  needsRehash?(hash: string): boolean;
  /**
   * Optional, with {@link needsRehash}: hashes a password with the current
   * target algorithm and cost, waiting for a thread at most `options.maxWaitMs`.
   */
  hash?(password: string, options?: VerifyOptions): Promise<string>;
  /** Longest password in UTF-8 bytes; longer ones are `invalid_input`, never truncated. Default: no limit. */
  readonly maxPasswordBytes?: number;
  /** Releases threads. Called by `auth.close()`. */
  close?(): Promise<void>;
}
