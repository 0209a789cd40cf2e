import type { NextFunction } from 'express';
import { toError } from '../http/to-error.js';

/** `next(error)` for a thrown value or a rejection, a falsy one as an `Error` (see {@link toError}). */
export function forwardError(next: NextFunction, error: unknown): void {
  next(toError(error));
}
