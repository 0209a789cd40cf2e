import type { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Validates a factory's options with `schema`: the parsed options, or a
 * {@link ConfigError} naming the first bad one as `factory.path`
 * (`argon2Verifier.memoryCostKiB`).
 */
export function parseFactoryOptions<S extends z.ZodType>(
  factory: string,
  schema: S,
  options: unknown,
): z.infer<S> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = [factory, ...(issue?.path ?? [])].join('.');
  throw new ConfigError(path, issue?.message ?? 'invalid', { cause: parsed.error });
}
