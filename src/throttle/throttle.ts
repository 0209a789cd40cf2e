import type { ThrottleLimitName, ThrottleStoreName } from '../hooks/events.js';
import { BLOCKED_COUNT, type Count, type Counter, counterStore } from './counters.js';
import type { ThrottleNotifier } from './store-guard.js';
import { type ThrottleKeys, throttleKeys } from './throttle-keys.js';
import { resolveThrottleOptions, type ThrottleOptions } from './throttle-options.js';

/** The limit that refused an attempt. */
export type { ThrottleLimitName };

/** What the call that was let through turned out to be. */
export type ThrottleOutcome =
  /** A wrong password or an unknown identifier: counted, the same way for both. */
  | 'failure'
  /** A correct password: resets the consecutive count and gives back the other points. */
  | 'success'
  /** Could not decide (an outage, an overload): every point taken is given back. */
  | 'uncounted';

/** The answer of {@link Throttle.admit}. */
export type ThrottleAdmission =
  | {
      readonly admitted: true;
      /** Says what the attempt turned out to be. Call it once; later calls do nothing. Never rejects. */
      settle(outcome: ThrottleOutcome): Promise<void>;
    }
  | {
      readonly admitted: false;
      /** When trying again may be let through. */
      readonly retryAfterMs: number;
      /** The limit that refused (the one with the longest wait when several did). */
      readonly limit: ThrottleLimitName;
    };

/**
 * Brute-force protection, checked before any lookup or password check. Each
 * attempt reserves one failure on every limit that applies, so concurrent
 * attempts cannot overshoot a limit, and then settles it.
 */
export interface Throttle {
  /** Where the counters live. */
  readonly store: ThrottleStoreName;
  /**
   * Reserves one failure on every limit that applies (`ip` and `consecutive`
   * need `ip`); refuses when any is over its limit, taking nothing then.
   * Never rejects: a shared store that fails or hangs is replaced by this
   * process's memory.
   */
  admit(identifier: string, ip: string | undefined): Promise<ThrottleAdmission>;
  /** Stops using the shared store (after the calls in flight) and its timer; never closes the pool or client. */
  close(): Promise<void>;
}

// A consecutive count over its limit but not blocked is full of attempts still in flight (or of
// failures whose block could not be written): worth trying again soon, not when the window ends.
const IN_FLIGHT_RETRY_MS = 1000;

/** A limit that applies to an attempt: its counter and the attempt's key in it. */
interface Limit {
  readonly name: ThrottleLimitName;
  readonly counter: Counter;
  readonly key: string;
  readonly limit: number;
}

/** A limit turned on, before keys: `keyOf` picks the attempt's key, undefined when the limit does not apply. */
interface LimitDef extends Omit<Limit, 'key'> {
  keyOf(keys: ThrottleKeys): string | undefined;
}

interface Taken extends Limit {
  readonly count: Count;
}

interface Refusal {
  readonly limit: ThrottleLimitName;
  readonly retryAfterMs: number;
}

/**
 * The throttle behind `createResilientAuth({ throttle })`, on
 * rate-limiter-flexible. Three limits: consecutive failures per identifier
 * and IP (blocked for `blockMs` once reached, reset by a correct password),
 * failures per IP per day, and failures per account with a wait that doubles
 * from `firstWaitMs` to `maxWaitMs` once the budget is spent. Identifiers
 * are normalized (NFKC, lower case) and hashed into the keys.
 *
 * @example
 * ```ts
 * const throttle = createThrottle({ store: { type: 'postgres', pool } }, notifier);
 * const admission = await throttle.admit('ada@example.com', '203.0.113.7');
 * if (!admission.admitted) return { ok: false, reason: 'rate_limited', retryAfterMs: admission.retryAfterMs };
 * const ok = await check();
 * await admission.settle(ok ? 'success' : 'failure');
 * ```
 */
export function createThrottle(options: ThrottleOptions, notifier: ThrottleNotifier): Throttle {
  const resolved = resolveThrottleOptions(options);
  const store = counterStore(resolved, notifier);
  const { consecutive, ip, account } = resolved;
  const limitDefs: readonly LimitDef[] = [
    consecutive && {
      name: 'consecutive' as const,
      limit: consecutive.limit,
      counter: store.counter({
        name: 'consecutive',
        points: consecutive.limit,
        durationSec: consecutive.windowSec,
      }),
      keyOf: (keys: ThrottleKeys) => keys.consecutive,
    },
    ip && {
      name: 'ip' as const,
      limit: ip.limit,
      counter: store.counter({ name: 'ip', points: ip.limit, durationSec: ip.windowSec }),
      keyOf: (keys: ThrottleKeys) => keys.ip,
    },
    account && {
      name: 'account' as const,
      limit: account.limit,
      counter: store.counter({
        name: 'account',
        points: account.limit,
        durationSec: account.windowSec,
      }),
      keyOf: (keys: ThrottleKeys) => keys.account,
    },
  ].filter((def) => def !== false);
  // One attempt at a time once the account's budget is spent: a key lives as long as its wait.
  const accountWait =
    account && store.counter({ name: 'account-wait', points: 1, durationSec: account.maxWaitSec });

  /** The wait after the n-th attempt past the budget (n = 1 for the attempt that reaches it). */
  const waitSec = (n: number) =>
    account ? Math.min(account.firstWaitSec * 2 ** (n - 1), account.maxWaitSec) : 0;

  function limitsFor(identifier: string, address: string | undefined): Limit[] {
    const keys = throttleKeys(identifier, address);
    return limitDefs.flatMap(({ keyOf, ...def }) => {
      const key = keyOf(keys);
      return key === undefined ? [] : [{ ...def, key }];
    });
  }

  /** Whether a limit refuses an attempt that makes its count `consumed`. */
  function refusalOf(
    { name, limit }: Limit,
    { consumed, msBeforeNext }: { consumed: number; msBeforeNext: number },
  ): Refusal | undefined {
    if (consumed <= limit) return undefined;
    const inFlight = name === 'consecutive' && consumed < BLOCKED_COUNT;
    return {
      limit: name,
      retryAfterMs: inFlight ? Math.min(msBeforeNext, IN_FLIGHT_RETRY_MS) : msBeforeNext,
    };
  }

  function longest(refusals: readonly Refusal[]): ThrottleAdmission {
    const { limit, retryAfterMs } = refusals.reduce((a, b) =>
      b.retryAfterMs > a.retryAfterMs ? b : a,
    );
    return { admitted: false, retryAfterMs, limit };
  }

  /**
   * Reads first, as rate-limiter-flexible advises for logins: an attempt that
   * a limit already refuses writes nothing, so an attack costs the store reads.
   */
  async function refusedOnSight(limits: readonly Limit[]): Promise<Refusal[]> {
    const account = limits.find((l) => l.name === 'account');
    const [seen, wait] = await Promise.all([
      Promise.all(limits.map((l) => l.counter.peek(l.key))),
      account && accountWait ? accountWait.peek(account.key) : undefined,
    ]);
    const refusals: Refusal[] = [];
    limits.forEach((l, i) => {
      const after = {
        consumed: (seen[i]?.consumed ?? 0) + 1,
        msBeforeNext: seen[i]?.msBeforeNext ?? 0,
      };
      if (l.name !== 'account') {
        const refusal = refusalOf(l, after);
        if (refusal) refusals.push(refusal);
      } else if (after.consumed >= l.limit && wait && wait.consumed >= 1) {
        refusals.push({ limit: 'account', retryAfterMs: wait.msBeforeNext });
      }
    });
    return refusals;
  }

  async function admit(
    identifier: string,
    address: string | undefined,
  ): Promise<ThrottleAdmission> {
    const limits = limitsFor(identifier, address);
    const seen = await refusedOnSight(limits);
    if (seen.length > 0) return longest(seen);
    // Then reserve: concurrent attempts that all passed the read cannot all pass here.
    const taken: Taken[] = await Promise.all(
      limits.map(async (l) => ({ ...l, count: await l.counter.take(l.key) })),
    );
    // The account's own limit does not refuse: past its budget, the wait below decides.
    const refusals = taken
      .filter((t) => t.name !== 'account')
      .map((t) => refusalOf(t, t.count))
      .filter((r) => r !== undefined);
    let wait: Count | undefined;
    const accountTaken = taken.find((t) => t.name === 'account');
    if (refusals.length === 0 && accountTaken && accountWait) {
      const past = accountTaken.count.consumed - accountTaken.limit + 1;
      if (past >= 1) {
        const gate = await accountWait.take(accountTaken.key, waitSec(past));
        // Not given back when refused: the extra point outlives nothing, the wait's end is fixed.
        if (gate.consumed > 1) {
          refusals.push({ limit: 'account', retryAfterMs: gate.msBeforeNext });
        } else {
          wait = gate;
        }
      }
    }
    if (refusals.length > 0) {
      await Promise.all(taken.map((t) => t.counter.giveBack(t.key, t.count.side)));
      return longest(refusals);
    }
    let settled = false;
    return {
      admitted: true,
      async settle(outcome) {
        if (settled) return;
        settled = true;
        await Promise.all(taken.map((t) => settleOne(t, outcome, wait)));
      },
    };
  }

  async function settleOne(t: Taken, outcome: ThrottleOutcome, wait: Count | undefined) {
    if (outcome === 'failure') {
      // The failure that reaches the limit blocks the pair: from now, not from the first failure.
      if (t.name === 'consecutive' && consecutive && t.count.consumed === t.limit) {
        await t.counter.block(t.key, consecutive.blockSec, t.count.side);
      }
      return;
    }
    if (outcome === 'success' && t.name === 'consecutive') {
      await t.counter.reset(t.key);
      return;
    }
    await t.counter.giveBack(t.key, t.count.side);
    if (t.name === 'account' && wait !== undefined && accountWait) {
      await accountWait.delete(t.key, wait.side);
    }
  }

  return Object.freeze({
    store: store.name,
    admit,
    close: () => store.close(),
  });
}
