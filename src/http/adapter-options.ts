import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import {
  type HealthHttpResponse,
  type HealthResponseOptions,
  type HealthSource,
  healthResponse,
} from './health-response.js';
import { DEFAULT_LOGIN_FIELDS, type LoginFields } from './login-response.js';

const fieldName = z.string().min(1).max(128);

/**
 * The zod shape every adapter's login options start from: the two body field
 * names. An adapter extends it with its own options and validates with
 * {@link parseLoginFields}.
 */
export const loginFieldsShape = {
  identifierField: fieldName.optional(),
  passwordField: fieldName.optional(),
};

/** A function option, checked as one (zod 4's `z.function()` is not a schema). */
export function functionOption<F extends (...args: never[]) => unknown>() {
  return z.custom<F>((value) => typeof value === 'function', { message: 'expected a function' });
}

/**
 * Validates an adapter's options against `schema` (built on
 * {@link loginFieldsShape}): the parsed options with the body fields resolved,
 * or a `ConfigError` naming `factory.option`.
 */
export function parseLoginOptions<S extends z.ZodType<Partial<LoginFields>>>(
  factory: string,
  schema: S,
  options: unknown,
  defaults: LoginFields = DEFAULT_LOGIN_FIELDS,
): z.infer<S> & { readonly fields: LoginFields } {
  const parsed = parseFactoryOptions(factory, schema, options ?? {});
  const fields = {
    identifierField: parsed.identifierField ?? defaults.identifierField,
    passwordField: parsed.passwordField ?? defaults.passwordField,
  };
  if (fields.identifierField === fields.passwordField) {
    throw new ConfigError(`${factory}.passwordField`, 'must differ from identifierField');
  }
  return { ...parsed, fields };
}

const healthSchema = z.strictObject({
  probe: z.enum(['readiness', 'liveness']).optional(),
  activeCheck: z.boolean().optional(),
}) satisfies z.ZodType<HealthResponseOptions>;

/**
 * What every adapter's `healthHandler` does besides its framework's part:
 * checks `auth` and the options at construction (a wrong argument fails at
 * startup with a `ConfigError` naming `factory.option`, not on every
 * request), then answers each request with {@link healthResponse}.
 */
export function healthResponder(
  factory: string,
  auth: HealthSource,
  options: HealthResponseOptions | undefined,
): () => Promise<HealthHttpResponse> {
  assertHealthSource(factory, auth);
  const parsed = parseFactoryOptions(factory, healthSchema, options ?? {});
  return () => healthResponse(auth, parsed);
}

/**
 * Checks at construction that `auth` can log in (has `authenticate()`), so a
 * wrong argument fails at startup, not as a 500 on every request.
 */
export function assertAuthenticator(factory: string, auth: unknown): void {
  if (typeof (auth as { authenticate?: unknown } | null | undefined)?.authenticate !== 'function') {
    throw new ConfigError(
      `${factory}.auth`,
      'expected a ResilientAuth (an object with authenticate())',
    );
  }
}

/** Checks at construction that `auth` can report health (has `health()` and `check()`). */
export function assertHealthSource(factory: string, auth: unknown): void {
  const source = auth as { health?: unknown; check?: unknown } | null | undefined;
  if (typeof source?.health !== 'function' || typeof source.check !== 'function') {
    throw new ConfigError(
      `${factory}.auth`,
      'expected a ResilientAuth (an object with health() and check())',
    );
  }
}

/** The `trustProxy` option of the adapters that read `X-Forwarded-For` (see `TrustProxy`). */
export const trustProxySchema = z.union([z.boolean(), z.number().int().min(1).max(32)]);
