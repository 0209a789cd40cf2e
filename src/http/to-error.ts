/**
 * A thrown value or rejection as an `Error` to hand to a framework's `next`.
 * A falsy one (`throw undefined`) would read as "carry on" to Express and
 * Passport and run the route's success handler, so it becomes an `Error`,
 * as Express 5 does for a rejected promise.
 */
export function toError(error: unknown): unknown {
  return error || new Error('Rejected with a falsy value', { cause: error });
}
