import { z } from 'zod';
import type { RequestContext } from '../hooks/events.js';

/** What `authenticate()` takes. */
export interface Credentials {
  /** At most 320 characters, no control characters. Matched as the provider defines (case-insensitive for the SQL providers by default). */
  readonly identifier: string;
  /** Verified as received: no trimming, no truncation; Unicode-normalized only with the `normalize` option. */
  readonly password: string;
  /** Echoed to hooks for audit; never used to decide. */
  readonly context?: RequestContext;
}

/** Longest identifier accepted: the longest possible e-mail address. */
export const MAX_IDENTIFIER_LENGTH = 320;

const CONTROL = /\p{Cc}/u;
const contextField = z.string().max(2048).optional();
const contextSchema = z.object({
  ip: contextField,
  userAgent: contextField,
  requestId: contextField,
});

/** A parser of `authenticate()` input, built once per instance. */
export type CredentialsParser = (input: unknown) =>
  | { readonly ok: true; readonly value: Credentials }
  | {
      readonly ok: false;
      readonly field: 'identifier' | 'password' | 'context';
      /** The context, when it was valid itself: audit keeps the IP of refused input too. */
      readonly context: RequestContext | undefined;
    };

/**
 * Builds the input check: identifier, password (`maxPasswordBytes` UTF-8 bytes
 * at most, as typed and, when `normalize` is set, once normalized too), context.
 */
export function credentialsParser(
  maxPasswordBytes: number | undefined,
  normalize?: 'NFKC',
): CredentialsParser {
  const limit = maxPasswordBytes ?? Number.POSITIVE_INFINITY;
  const fits = (s: string) => Buffer.byteLength(s, 'utf8') <= limit;
  const schema = z.object({
    identifier: z
      .string()
      .min(1)
      .max(MAX_IDENTIFIER_LENGTH)
      .refine((s) => !CONTROL.test(s)),
    // UTF-16 length is a lower bound of the UTF-8 byte count: huge strings are refused before encoding.
    password: z
      .string()
      .min(1)
      .refine(
        (s) =>
          s.length <= limit && fits(s) && (normalize === undefined || fits(s.normalize(normalize))),
      ),
    context: contextSchema.optional(),
  });
  return (input) => {
    const parsed = schema.safeParse(input);
    if (parsed.success) return { ok: true, value: parsed.data };
    const field = parsed.error.issues[0]?.path[0];
    const context = contextSchema.safeParse((input as { context?: unknown } | null)?.context);
    return {
      ok: false,
      field: field === 'password' || field === 'context' ? field : 'identifier',
      context: context.success ? context.data : undefined,
    };
  };
}
