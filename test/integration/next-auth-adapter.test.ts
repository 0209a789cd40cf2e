import { Auth, type AuthConfig } from '@auth/core';
import { AuthError, CredentialsSignin } from '@auth/core/errors';
import { decode } from '@auth/core/jwt';
import Credentials, { type CredentialsConfig } from '@auth/core/providers/credentials';
import { afterAll, beforeAll, describe, expect, expectTypeOf, inject, it } from 'vitest';
import {
  AuthUnavailableError,
  ConfigError,
  isConfigError,
  ResilientAuthError,
} from '../../src/errors/errors.js';
import type { AttemptEvent } from '../../src/hooks/events.js';
import type { Authenticator } from '../../src/http/login-response.js';
import {
  type AuthjsUser,
  type AuthorizeOptions,
  authorize,
  healthHandler,
  isResilientAuthSignin,
  isServiceUnavailableSignin,
  ResilientAuthSignin,
  ServiceUnavailableSignin,
} from '../../src/next-auth/index.js';
import type { AuthSuccess } from '../../src/orchestrator/result.js';
import type { ContractUser } from '../contract/provider-contract.js';
import {
  expectedBody,
  expectNoInternals,
  FIELDS,
  type LoginFixture,
  MAPPING_CASES,
  type MappingCase,
  PASSWORD,
  startLoginFixture,
  THROTTLE_BLOCK_S,
  THROTTLE_LIMIT,
} from '../support/login-fixture.js';

let fx: LoginFixture;
beforeAll(async () => {
  fx = await startLoginFixture('next_auth_adapter');
});
afterAll(() => fx?.close());

const ORIGIN = 'http://localhost:3000';
const SECRET = 'next-auth-adapter-test-secret-0123456789abcdef';
const SESSION_COOKIE = 'authjs.session-token';

/** The request Auth.js hands to `authorize`: a POST to the callback with the client's headers. */
function callbackRequest(headers: Record<string, string> = {}): Request {
  return new Request(`${ORIGIN}/auth/callback/credentials`, { method: 'POST', headers });
}

/** What Auth.js logged through its `logger` option (errors and warnings), instead of printing. */
function recordingAuthLogger() {
  const errors: Error[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    logger: {
      error: (error: Error) => void errors.push(error),
      warn: (code: string) => void warnings.push(code),
      debug: () => undefined,
    } satisfies AuthConfig['logger'],
  };
}

/** An Auth.js config with the Credentials provider using the adapter's `authorize`. */
function authjs(options: AuthorizeOptions<ContractUser> = FIELDS) {
  const log = recordingAuthLogger();
  const config: AuthConfig = {
    providers: [
      Credentials({
        credentials: { email: {}, password: {} },
        authorize: authorize(fx.auth, options),
      }),
    ],
    secret: SECRET,
    trustHost: true,
    session: { strategy: 'jwt' },
    logger: log.logger,
  };
  return { config, log };
}

interface SignInAnswer {
  readonly status: number;
  readonly location: URL;
  /** The session cookie's value, when one was set. */
  readonly session: string | undefined;
  /** Every cookie the browser holds after the sign-in, as a `Cookie` header. */
  readonly cookie: string;
}

/**
 * What a browser does: GET /auth/csrf for the token and its cookie, then POST
 * the form to /auth/callback/credentials. `json` posts the credentials as JSON
 * (Auth.js accepts it), which keeps numbers, arrays and objects as they are.
 */
async function signIn(
  config: AuthConfig,
  credentials: Record<string, unknown>,
  options: { readonly json?: boolean; readonly headers?: Record<string, string> } = {},
): Promise<SignInAnswer> {
  const csrf = await Auth(new Request(`${ORIGIN}/auth/csrf`), config);
  expect(csrf.status).toBe(200);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const jar = new Map(cookiePairs(csrf.headers.getSetCookie()));
  const form = { csrfToken, ...credentials };
  const response = await Auth(
    new Request(`${ORIGIN}/auth/callback/credentials`, {
      method: 'POST',
      headers: {
        ...options.headers,
        cookie: cookieHeader(jar),
        'content-type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
      },
      body: options.json
        ? JSON.stringify(form)
        : new URLSearchParams(form as Record<string, string>).toString(),
    }),
    config,
  );
  for (const [name, value] of cookiePairs(response.headers.getSetCookie())) jar.set(name, value);
  return {
    status: response.status,
    location: new URL(response.headers.get('location') ?? 'about:blank'),
    session: jar.get(SESSION_COOKIE) || undefined,
    cookie: cookieHeader(jar),
  };
}

function cookiePairs(setCookies: readonly string[]): [string, string][] {
  return setCookies.map((line) => {
    const pair = line.split(';')[0] ?? '';
    const at = pair.indexOf('=');
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

function cookieHeader(jar: ReadonlyMap<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

/** The JWT in the session cookie, as Auth.js encoded it. */
async function sessionToken(answer: SignInAnswer) {
  expect(answer.session).toBeDefined();
  return decode({ token: answer.session, secret: SECRET, salt: SESSION_COOKIE });
}

/** Where Auth.js sends a refused sign-in: its sign-in page with `error` and `code`. */
function expectRefused(answer: SignInAnswer, code: string): void {
  expect(answer.status).toBe(302);
  expect(answer.location.pathname).toBe('/auth/signin');
  expect(Object.fromEntries(answer.location.searchParams)).toEqual({
    error: 'CredentialsSignin',
    code,
  });
  expect(answer.session).toBeUndefined();
}

/** The code Auth.js must put into the redirect for a mapping row. */
function expectedCode(c: MappingCase): string {
  return c.status === 401 ? 'credentials' : (c.error ?? '');
}

// Everything a logged error carries, the way Auth.js's default logger prints it.
function loggedText(errors: readonly Error[]): string {
  return errors
    .flatMap((error) => {
      const { err, ...details } = (error.cause ?? {}) as { err?: Error };
      return [error.message, error.stack, err?.message, err?.stack, JSON.stringify(details)];
    })
    .join('\n');
}

/** Fails when a log line holds the password, a bcrypt hash or a connection string. */
function expectNoSecrets(text: string): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toMatch(/\$2[aby]\$/);
  expect(text).not.toMatch(/postgres(ql)?:\/\//i);
  const dbPassword = new URL(inject('postgres').url).password;
  if (dbPassword) expect(text).not.toContain(dbPassword);
}

const attempts = () => fx.recorded.of('onAttempt') as AttemptEvent[];

describe('authorize as the Credentials provider calls it: the mapping table', () => {
  it.each(MAPPING_CASES)('$row', async (c) => {
    const run = authorize(fx.auth, FIELDS)(c.body, callbackRequest());
    if (c.status === 200) {
      await expect(run).resolves.toEqual({ id: '1', email: 'ada@example.com' });
      return;
    }
    if (c.status === 401) {
      await expect(run).resolves.toBeNull();
      return;
    }
    const error = await run.then(
      () => expect.fail('authorize resolved'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ResilientAuthSignin);
    expect(error).toBeInstanceOf(CredentialsSignin);
    expect(error).not.toBeInstanceOf(ServiceUnavailableSignin);
    const signin = error as ResilientAuthSignin;
    const body = expectedBody(c) ?? {};
    expect(signin).toMatchObject({ type: 'CredentialsSignin', code: c.error, field: c.field });
    expect(signin.message.startsWith(`${body.message?.replace(/\.$/, '')}. Read more at`)).toBe(
      true,
    );
    if (c.retryAfter) {
      // The library's own wait, unrounded (the lock lifts in 2099).
      expect(signin.retryAfterMs).toBeGreaterThan(365 * 86_400_000);
    } else {
      expect(signin.retryAfterMs).toBeUndefined();
    }
    expectNoInternals(`${signin.message} ${signin.code}`);
  });
});

describe('through Auth.js: GET /auth/csrf, then POST /auth/callback/credentials', () => {
  it('the right password, posted as a form: a session cookie whose JWT has the user id as `sub`', async () => {
    const { config, log } = authjs();
    const answer = await signIn(config, { email: 'ada@example.com', password: PASSWORD });
    expect(answer.status).toBe(302);
    expect(answer.location.origin).toBe(ORIGIN);
    expect(answer.location.searchParams.has('error')).toBe(false);
    const token = await sessionToken(answer);
    expect(token).toMatchObject({ sub: '1', email: 'ada@example.com' });
    const session = await Auth(
      new Request(`${ORIGIN}/auth/session`, { headers: { cookie: answer.cookie } }),
      config,
    );
    expect(await session.json()).toMatchObject({ user: { email: 'ada@example.com' } });
    expect(log.errors).toEqual([]);
    expect(log.warnings).toEqual([]);
  });

  it('a wrong password, posted as a form: error=CredentialsSignin&code=credentials, and no session', async () => {
    const { config, log } = authjs();
    const answer = await signIn(config, { email: 'rotate@example.com', password: 'wrong' });
    expectRefused(answer, 'credentials');
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]).toBeInstanceOf(CredentialsSignin);
    expectNoSecrets(loggedText(log.errors));
  });

  it.each(MAPPING_CASES)('$row: the redirect Auth.js answers', async (c) => {
    const { config, log } = authjs();
    const answer = await signIn(config, c.body, { json: true });
    if (c.status === 200) {
      expect(answer.location.searchParams.has('error')).toBe(false);
      expect(await sessionToken(answer)).toMatchObject({ sub: '1' });
      expect(log.errors).toEqual([]);
      return;
    }
    expectRefused(answer, expectedCode(c));
    expectNoInternals(answer.location.href);
    expect(log.errors).toHaveLength(1);
    expectNoSecrets(loggedText(log.errors));
  });

  it('a custom toUser gets the library user and the result; its id becomes the session `sub`', async () => {
    const seen: AuthSuccess<ContractUser>[] = [];
    const { config } = authjs({
      ...FIELDS,
      toUser: (user, result) => {
        seen.push(result);
        expectTypeOf(user).toEqualTypeOf<ContractUser>();
        return { id: `user-${user.id}`, email: user.email, name: 'Rotate' };
      },
    });
    const answer = await signIn(config, { email: 'rotate@example.com', password: PASSWORD });
    expect(await sessionToken(answer)).toMatchObject({
      sub: 'user-3',
      email: 'rotate@example.com',
      name: 'Rotate',
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ ok: true, mustChangePassword: true, user: { id: 3 } });
  });

  it('a frozen user from toUser still signs in (Auth.js assigns user.id)', async () => {
    const { config, log } = authjs({
      ...FIELDS,
      toUser: (user) => Object.freeze({ id: `f-${user.id}` }),
    });
    const answer = await signIn(config, { email: 'ada@example.com', password: PASSWORD });
    expect(await sessionToken(answer)).toMatchObject({ sub: 'f-1' });
    expect(log.errors).toEqual([]);
  });

  it('toUser returning null refuses the login as invalid credentials', async () => {
    const { config } = authjs({ ...FIELDS, toUser: () => null });
    expectRefused(
      await signIn(config, { email: 'ada@example.com', password: PASSWORD }),
      'credentials',
    );
  });
});

describe('rate_limited: the 4th wrong password in a row for one identifier and IP', () => {
  it('authorize throws code rate_limited with retryAfterMs = the block', async () => {
    const run = authorize(fx.auth, { ...FIELDS, trustProxy: true });
    const request = () => callbackRequest({ 'x-forwarded-for': '203.0.113.7' });
    const wrong = { email: "o'brien@example.com", password: 'wrong' };
    for (let i = 0; i < THROTTLE_LIMIT; i += 1)
      await expect(run(wrong, request())).resolves.toBeNull();
    const error = await run(wrong, request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResilientAuthSignin);
    expect(error).toMatchObject({ code: 'rate_limited' });
    const { retryAfterMs } = error as ResilientAuthSignin;
    expect(retryAfterMs).toBeGreaterThan((THROTTLE_BLOCK_S - 1) * 1000);
    expect(retryAfterMs).toBeLessThanOrEqual(THROTTLE_BLOCK_S * 1000);
    // Blocked means blocked: the right password too, until the block lifts.
    await expect(
      run({ email: "o'brien@example.com", password: PASSWORD }, request()),
    ).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('through Auth.js: code=rate_limited in the redirect', async () => {
    const { config } = authjs({ ...FIELDS, trustProxy: true });
    const headers = { 'x-forwarded-for': '203.0.113.8' };
    const wrong = { email: 'zoë@example.com', password: 'wrong' };
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      expectRefused(await signIn(config, wrong, { headers }), 'credentials');
    }
    expectRefused(await signIn(config, wrong, { headers }), 'rate_limited');
  });
});

describe('the request context', () => {
  const chain = '198.51.100.1, 192.0.2.10, 203.0.113.9';
  const lastAttempt = (requestId: string) =>
    attempts().filter((event) => event.context.requestId === requestId);

  it('without trustProxy, X-Forwarded-For is ignored: no IP; User-Agent and X-Request-Id are kept', async () => {
    const { config } = authjs();
    await signIn(
      config,
      { email: 'ada@example.com', password: PASSWORD },
      {
        headers: { 'x-forwarded-for': chain, 'user-agent': 'test-agent/1', 'x-request-id': 'r-1' },
      },
    );
    expect(lastAttempt('r-1').map((event) => event.context)).toEqual([
      { userAgent: 'test-agent/1', requestId: 'r-1' },
    ]);
  });

  it.each([
    [true, '203.0.113.9'],
    [2, '192.0.2.10'],
    [5, '198.51.100.1'],
  ] as const)(
    'trustProxy %s: the client is the address the outermost trusted proxy saw (%s)',
    async (trustProxy, ip) => {
      const requestId = `r-proxy-${trustProxy}`;
      await authorize(fx.auth, { ...FIELDS, trustProxy })(
        { email: 'ada@example.com', password: PASSWORD },
        callbackRequest({ 'x-forwarded-for': chain, 'x-request-id': requestId }),
      );
      expect(lastAttempt(requestId).map((event) => event.context.ip)).toEqual([ip]);
    },
  );

  it('a 3 KB User-Agent is cut, not refused', async () => {
    const user = await authorize(fx.auth, FIELDS)(
      { email: 'ada@example.com', password: PASSWORD },
      callbackRequest({ 'user-agent': 'a'.repeat(3072), 'x-request-id': 'r-long-ua' }),
    );
    expect(user).toMatchObject({ id: '1' });
    expect(lastAttempt('r-long-ua')[0]?.context.userAgent).toHaveLength(2048);
  });

  it('the context option replaces the default', async () => {
    await authorize(fx.auth, {
      ...FIELDS,
      context: (request) => ({ ip: '192.0.2.77', requestId: request.headers.get('x-trace') ?? '' }),
    })({ email: 'ada@example.com', password: PASSWORD }, callbackRequest({ 'x-trace': 'r-ctx' }));
    expect(lastAttempt('r-ctx').map((event) => event.context)).toEqual([
      { ip: '192.0.2.77', requestId: 'r-ctx' },
    ]);
  });
});

/** The README's `app/api/health/ready/route.ts` and `live/route.ts`: Next.js calls `GET(request)`. */
// Built at load time, as a route module is; the fixture's auth exists only once the suite starts.
const lazyAuth = { health: () => fx.auth.health(), check: () => fx.auth.check() };
const routes = {
  readiness: healthHandler(lazyAuth),
  liveness: healthHandler(lazyAuth, { probe: 'liveness' }),
};
const healthRoute = (probe: 'readiness' | 'liveness') =>
  routes[probe](new Request(`${ORIGIN}/api/health/${probe === 'liveness' ? 'live' : 'ready'}`));

describe('outages', () => {
  it("the primary's table renamed: signed in through the fallback; readiness says warn with 200", async () => {
    const { config, log } = authjs();
    await fx.renamePrimaryTable();
    try {
      await expect(
        authorize(fx.auth, FIELDS)(
          { email: 'ada@example.com', password: PASSWORD },
          callbackRequest(),
        ),
      ).resolves.toEqual({ id: '1', email: 'ada@example.com' });
      const answer = await signIn(config, { email: 'ada@example.com', password: PASSWORD });
      expect(await sessionToken(answer)).toMatchObject({ sub: '1' });
      const ready = await healthRoute('readiness');
      expect(ready.status).toBe(200);
      expect(ready.headers.get('content-type')).toBe('application/health+json');
      expect(await ready.json()).toMatchObject({ status: 'warn' });
      expect(log.errors).toEqual([]);
    } finally {
      await fx.restorePrimaryTable();
    }
    // Back on the primary: readiness passes again once a login went through it.
    await authorize(fx.auth, FIELDS)(
      { email: 'ada@example.com', password: PASSWORD },
      callbackRequest(),
    );
    const ready = await healthRoute('readiness');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'pass' });
  });

  it('every provider down: ServiceUnavailableSignin, code=service_unavailable, nothing internal in the URL or a secret in the log', async () => {
    const { config, log } = authjs();
    await fx.allDown();
    try {
      const error = await authorize(fx.auth, FIELDS)(
        { email: 'ada@example.com', password: PASSWORD },
        callbackRequest(),
      ).catch((e: unknown) => e);
      expect(isServiceUnavailableSignin(error)).toBe(true);
      expect(isResilientAuthSignin(error)).toBe(true);
      const signin = error as ServiceUnavailableSignin;
      expect(signin).toBeInstanceOf(CredentialsSignin);
      expect(signin.code).toBe('service_unavailable');
      expect(signin.retryAfterMs).toBeGreaterThanOrEqual(1000);
      expect(signin.message).toMatch(/^Login is temporarily unavailable\. Try again shortly\. /);
      expectNoInternals(signin.message);
      // The cause is for the server log, where Auth.js's logger prints `cause.err`.
      const cause = signin.cause?.err;
      expect(cause).toBeInstanceOf(AuthUnavailableError);
      expect((cause as AuthUnavailableError).failures).toHaveLength(2);

      const answer = await signIn(config, { email: 'ada@example.com', password: PASSWORD });
      expectRefused(answer, 'service_unavailable');
      expectNoInternals(answer.location.href);
      expect(log.errors).toHaveLength(1);
      expect(log.errors[0]).toBeInstanceOf(ServiceUnavailableSignin);
      expectNoSecrets(loggedText(log.errors));

      // Liveness answers without a database; readiness fails with 503.
      const live = await healthRoute('liveness');
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'pass', description: 'resilient-auth login' });
      expect((await healthRoute('readiness')).status).toBe(503);
    } finally {
      await fx.allUp();
    }
  });
});

describe('what the library user and errors become', () => {
  const success = (user: unknown) =>
    ({
      authenticate: async () => ({
        ok: true as const,
        user,
        provider: 'primary',
        degraded: false,
        mustChangePassword: false,
      }),
    }) as Authenticator<unknown>;
  const credentials = { email: 'ada@example.com', password: PASSWORD };

  it('the default user: the library user with its id as a string, a copy Auth.js may write to', async () => {
    const user = Object.freeze({ id: 42, email: 'ada@example.com', name: 'Ada' });
    const result = await authorize(success(user), FIELDS)(credentials, callbackRequest());
    expect(result).toEqual({ id: '42', email: 'ada@example.com', name: 'Ada' });
    expect(Object.isFrozen(result)).toBe(false);
    await expect(
      authorize(success({ id: 7n }), FIELDS)(credentials, callbackRequest()),
    ).resolves.toEqual({ id: '7' });
  });

  it('a library user without an id is a ConfigError (Auth.js would invent a random one), error=Configuration through Auth.js', async () => {
    for (const user of [{ email: 'ada@example.com' }, { id: '' }, { id: null }, 'ada', null]) {
      const error = await authorize(success(user), FIELDS)(credentials, callbackRequest()).catch(
        (e: unknown) => e,
      );
      expect(isConfigError(error) && error.option).toBe('authorize.toUser');
    }
    const log = recordingAuthLogger();
    const config: AuthConfig = {
      providers: [Credentials({ authorize: authorize(success({ email: 'x' }), FIELDS) })],
      secret: SECRET,
      trustHost: true,
      logger: log.logger,
    };
    const answer = await signIn(config, credentials);
    expect(answer.location.searchParams.get('error')).toBe('Configuration');
    expect(answer.session).toBeUndefined();
    expect(log.errors).toHaveLength(1);
    expectNoSecrets(loggedText(log.errors));
  });

  it('a toUser result without a string id is a ConfigError', async () => {
    const run = authorize(fx.auth, {
      ...FIELDS,
      toUser: (user) => ({ id: user.id as unknown as string }),
    });
    await expect(run(credentials, callbackRequest())).rejects.toMatchObject({
      option: 'authorize.toUser',
    });
  });

  it('CLOSED (the app shutting down) is service_unavailable too; any other error is thrown as it is', async () => {
    const closed = new ResilientAuthError('CLOSED', 'closed');
    const closing = {
      authenticate: async () => {
        throw closed;
      },
    } as Authenticator<unknown>;
    await expect(authorize(closing, FIELDS)(credentials, callbackRequest())).rejects.toMatchObject({
      code: 'service_unavailable',
      retryAfterMs: 1000,
    });
    const bug = new TypeError('a bug');
    const broken = {
      authenticate: async () => {
        throw bug;
      },
    } as Authenticator<unknown>;
    await expect(authorize(broken, FIELDS)(credentials, callbackRequest())).rejects.toBe(bug);
  });

  it('authorize fits Credentials({ authorize }) and returns an Auth.js user', () => {
    expectTypeOf(authorize(fx.auth, FIELDS)).toExtend<CredentialsConfig['authorize']>();
    expectTypeOf<
      Awaited<ReturnType<ReturnType<typeof authorize>>>
    >().toEqualTypeOf<AuthjsUser | null>();
    expect(new ServiceUnavailableSignin('x', 1000)).toBeInstanceOf(AuthError);
  });
});

describe('invalid options', () => {
  it.each([
    [{ trustProxy: 0 }, 'authorize.trustProxy'],
    [{ trustProxy: 'yes' }, 'authorize.trustProxy'],
    [{ identifierField: '' }, 'authorize.identifierField'],
    [{ identifierField: 'email', passwordField: 'email' }, 'authorize.passwordField'],
    [{ toUser: 'id' }, 'authorize.toUser'],
    [{ context: {} }, 'authorize.context'],
    [{ context: () => ({}), trustProxy: true }, 'authorize.trustProxy'],
  ])('%o: ConfigError naming %s', (options, option) => {
    const error = (() => {
      try {
        authorize(fx.auth, options as AuthorizeOptions<ContractUser>);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ option });
  });

  it('an unknown option (passport-style usernameField) is refused, naming it', () => {
    expect(() =>
      authorize(fx.auth, { usernameField: 'email' } as AuthorizeOptions<ContractUser>),
    ).toThrow(/usernameField/);
  });

  it('no auth: ConfigError naming authorize.auth', () => {
    expect(() => authorize(undefined as never)).toThrow(
      expect.objectContaining({ option: 'authorize.auth' }),
    );
  });
});
