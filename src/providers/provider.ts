/** The shape of the `user` value an app gets back when it does not choose its own. */
export type AuthUser = Record<string, unknown>;

/** What a provider knows about one account. The hash never leaves the library. */
export interface Account<U = AuthUser> {
  /** What `authenticate()` returns to the app on success. */
  readonly user: U;
  /** bcrypt hash (`$2a$`, `$2b$`, `$2y$`). An empty or malformed hash denies. */
  readonly passwordHash: string;
  /** Anything but `true` is treated as disabled (fail closed). */
  readonly active: boolean;
  /** Default: `false`. */
  readonly mustChangePassword?: boolean;
  /** The account is locked while this lies in the future. Default: not locked. */
  readonly lockedUntil?: Date | null;
}

/**
 * Something a provider wants operators to know that is not a failure: it
 * answered, but had to work around a problem. Delivered to hooks with the
 * provider's name.
 */
export interface ProviderNotice {
  readonly type: 'schema_drift';
  /** Schema-qualified table. */
  readonly table: string;
  /** Optional columns the table lacks, left out of the query: `{ field, column }`. */
  readonly missingColumns: readonly { readonly field: string; readonly column: string }[];
  readonly message: string;
}

/** Passed to every provider call. */
export interface ProviderCallContext {
  /**
   * Aborted when the attempt times out or the overall deadline passes. Built
   * on first read (an AbortController costs microseconds): read it where you
   * use it, not up front by destructuring, if you can.
   */
  readonly signal: AbortSignal;
  /** Reports a {@link ProviderNotice} to the hooks (free when nobody listens). Absent outside `authenticate()` and `check()`. */
  readonly notify?: ((notice: ProviderNotice) => void) | undefined;
}

/**
 * A provider answers one question: what account has this identifier?
 *
 * - resolve an {@link Account}: found;
 * - resolve `null`: no such account (a definitive answer, not a failure);
 * - throw: "I could not answer" (infrastructure failure). Only this makes the
 *   orchestrator try the next provider.
 *
 * Providers never verify passwords: the orchestrator does, once per attempt.
 */
export interface AuthProvider<U = AuthUser> {
  /** Unique within one ResilientAuth; used in results, events and health. */
  readonly name: string;
  /** Looks the identifier up. Should stop work when `ctx.signal` aborts. */
  findAccount(identifier: string, ctx: ProviderCallContext): Promise<Account<U> | null>;
  /** Active health probe for `auth.check()`: resolves when the provider could answer. */
  check?(ctx: ProviderCallContext): Promise<void>;
  /** Releases what the provider owns (pools, timers). Called once by `auth.close()`. */
  close?(): Promise<void>;
}
