import type { CallScope } from './call-scope.js';
import type { Deadline } from './deadline.js';
import type { Lookup, ProviderSlot } from './provider-slot.js';

/**
 * The reason a hedged lookup's signal aborts when another provider answered
 * first. Not a failure: the breaker does not count it, no
 * `onProviderFailure` fires, its `onLookup` says `cancelled`.
 */
export class LookupCancelled extends Error {
  constructor(provider: string, winner: string) {
    super(`lookup on provider "${provider}" cancelled: provider "${winner}" answered first`);
    this.name = 'LookupCancelled';
  }
}

/** One lookup of a hedged call, in the order they started. */
export interface HedgedStep<U> {
  readonly slot: ProviderSlot<U>;
  readonly lookup: Lookup<U>;
}

/** What a hedged lookup came to: the lookups that settled, and which one answered if any. */
export interface HedgedOutcome<U> {
  /** The primary first, then the hedge if one started. Only the winner's when one answered. */
  readonly steps: readonly HedgedStep<U>[];
  /** Index in {@link steps} of the lookup that answered, or -1. */
  readonly winner: number;
}

/**
 * Looks up on `primary`; when it has not answered after its hedge delay (and
 * time is left before the deadline), starts the same lookup on the provider
 * `pickHedge()` gives (the next one whose breaker lets it be called) and takes
 * the first *answer* (an account or `null`): a failure of one is not an
 * answer, so the other is waited for. The loser is cancelled through its
 * signal (its provider's `ctx.signal` aborts) and not waited for.
 *
 * Lookups are read-only, which is what makes asking two providers safe.
 */
export async function hedgedLookup<U>(
  primary: ProviderSlot<U>,
  pickHedge: () => ProviderSlot<U> | undefined,
  identifier: string,
  deadline: Deadline,
  scope: CallScope,
): Promise<HedgedOutcome<U>> {
  const delayMs = primary.hedgeDelayMs();
  if (delayMs === undefined || delayMs >= deadline.remainingMs()) {
    const lookup = await primary.lookup(identifier, deadline, scope);
    return { steps: [{ slot: primary, lookup }], winner: lookup.ok ? 0 : -1 };
  }
  const primaryCancel = new AbortController();
  const primaryCancellable = primary.cancellable;
  const first = primary.lookup(identifier, deadline, scope, { signal: primaryCancel.signal });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hedgeDue = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), delayMs);
  });
  const early = await Promise.race([first, hedgeDue]);
  clearTimeout(timer);
  const hedge = early === undefined && !deadline.expired ? pickHedge() : undefined;
  if (hedge === undefined) {
    const lookup = early ?? (await first);
    return { steps: [{ slot: primary, lookup }], winner: lookup.ok ? 0 : -1 };
  }
  const hedgeCancel = new AbortController();
  const second = hedge.lookup(identifier, deadline, scope, {
    signal: hedgeCancel.signal,
    hedged: true,
  });
  const racing = [
    first.then((lookup) => ({ index: 0, lookup })),
    second.then((lookup) => ({ index: 1, lookup })),
  ] as const;
  const settled = await Promise.race(racing);
  if (settled.lookup.ok) {
    const [loser, cancel] = settled.index === 0 ? [hedge, hedgeCancel] : [primary, primaryCancel];
    const winner = settled.index === 0 ? primary : hedge;
    cancel.abort(new LookupCancelled(loser.name, winner.name));
    const won = { slot: winner, lookup: settled.lookup };
    if (settled.index === 0) return { steps: [won], winner: 0 };
    if (!primaryCancellable) return { steps: [won], winner: 0 };
    // Cancelling settles it at once. A primary cancelled while it waited to
    // retry had failed: the answer is then a fallback's, and the call says so.
    const late = await first;
    return !late.ok && late.failure !== undefined
      ? { steps: [{ slot: primary, lookup: late }, won], winner: 1 }
      : { steps: [won], winner: 0 };
  }
  const other = await racing[1 - settled.index]!;
  const steps = [
    { slot: primary, lookup: settled.index === 0 ? settled.lookup : other.lookup },
    { slot: hedge, lookup: settled.index === 1 ? settled.lookup : other.lookup },
  ];
  return { steps, winner: other.lookup.ok ? other.index : -1 };
}
