import type { AuthCall, RequestContext } from '../hooks/events.js';

/** What every event of one `authenticate()` call carries: which call, and its request context. */
export interface CallScope {
  readonly call: AuthCall;
  readonly context: RequestContext;
}
