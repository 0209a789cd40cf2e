import type { NextFunction } from 'express';

/**
 * `next(error)` for a thrown value or a rejection. A falsy one (`throw
 * undefined`) would read as "carry on" to Express and run the route's success
 * handler, so it becomes an `Error`, as Express 5 does for a rejected promise.
 */
export function forwardError(next: NextFunction, error: unknown): void {
  next(error || new Error('Rejected with a falsy value', { cause: error }));
}
