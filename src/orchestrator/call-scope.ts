import type { AuthCall, RequestContext } from '../hooks/events.js';

/** What every event of one `authenticate()` call carries: which call, and its request context. */
export interface CallScope {
  readonly call: AuthCall;
  readonly context: RequestContext;
  /** The rollout's name when the lookups run for a shadow comparison, not for the answer. */
  readonly shadow?: string;
}
