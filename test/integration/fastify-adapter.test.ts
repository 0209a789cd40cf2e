import { request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { healthHandler, loginHandler, resilientAuth } from '../../src/fastify/index.js';
import type { HealthSource } from '../../src/http/health-response.js';
import {
  bcryptVerifier,
  createResilientAuth,
  isConfigError,
  type ResilientAuth,
} from '../../src/index.js';
import { memoryProvider } from '../../src/testing/index.js';
import type { ContractUser } from '../contract/provider-contract.js';
import {
  expectedBody,
  expectNoInternals,
  FIELDS,
  type LoginFixture,
  MAPPING_CASES,
  MESSAGES,
  PASSWORD,
  startLoginFixture,
  THROTTLE_BLOCK_S,
  THROTTLE_LIMIT,
} from '../support/login-fixture.js';

// How an app declares its user type to the plugin (as with @fastify/jwt).
declare module '../../src/fastify/index.js' {
  interface ResilientAuthTypes {
    user: ContractUser;
  }
}

// The Fastify adapter against a real Fastify 5 (fastify.inject) and real PostgreSQL.
let fx: LoginFixture;
let app: FastifyInstance;

beforeAll(async () => {
  fx = await startLoginFixture('fastify_adapter');
  app = Fastify({ logger: false, requestIdHeader: 'x-request-id' });
  await app.register(resilientAuth, { auth: fx.auth });
  app.post('/login', loginHandler(app.auth, FIELDS));
  app.get('/health/ready', healthHandler(app.auth));
  app.get('/health/live', healthHandler(app.auth, { probe: 'liveness' }));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await fx?.close();
});

const login = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/login',
    payload: JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...headers },
  });

const ADA = { email: 'ada@example.com', password: PASSWORD };

function expectJson(response: LightMyRequestResponse): void {
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  expectNoInternals(response.body);
}

describe('the login route', () => {
  it.each(MAPPING_CASES)('$row -> $status', async (c) => {
    const response = await login(c.body);
    expect(response.statusCode).toBe(c.status);
    expectJson(response);
    if (c.status === 200) {
      expect(response.json()).toEqual({
        ok: true,
        user: { id: 1, email: 'ada@example.com' },
        mustChangePassword: false,
      });
    } else {
      expect(response.json()).toEqual(expectedBody(c));
    }
    if (c.retryAfter) expect(Number(response.headers['retry-after'])).toBeGreaterThan(60);
    else expect(response.headers['retry-after']).toBeUndefined();
  });

  it('says when the password must change, and never answers the provider, degraded or a hash', async () => {
    const response = await login({ email: 'rotate@example.com', password: PASSWORD });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      ok: true,
      user: { id: 3, email: 'rotate@example.com' },
      mustChangePassword: true,
    });
  });

  it(`rate_limited: the ${THROTTLE_LIMIT + 1}th wrong password in a row is 429 with Retry-After ${THROTTLE_BLOCK_S}`, async () => {
    const wrong = { email: "o'brien@example.com", password: 'not the password' };
    for (let i = 0; i < THROTTLE_LIMIT; i++) expect((await login(wrong)).statusCode).toBe(401);
    const response = await login(wrong);
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe(String(THROTTLE_BLOCK_S));
    expect(response.json()).toEqual({ error: 'rate_limited', message: MESSAGES.rate_limited });
    // Blocked even with the right password: the throttle answers before any lookup.
    const right = await login({ email: "o'brien@example.com", password: PASSWORD });
    expect(right.statusCode).toBe(429);
  });

  it('a body that is not an object is 400 naming the identifier field, not 500', async () => {
    const bodies: { type: string; payload: string }[] = [
      { type: 'text/plain', payload: 'email=ada@example.com&password=x' },
      { type: 'application/json', payload: '"ada@example.com"' },
      { type: 'application/json', payload: '["ada@example.com"]' },
      { type: 'application/json', payload: 'null' },
      { type: 'application/json', payload: '42' },
    ];
    for (const { type, payload } of bodies) {
      const response = await app.inject({
        method: 'POST',
        url: '/login',
        payload,
        headers: { 'content-type': type },
      });
      expect(response.statusCode, `${type} ${payload}`).toBe(400);
      expect(response.json()).toEqual({
        error: 'invalid_input',
        message: 'Invalid email.',
        field: 'email',
      });
    }
    const empty = await app.inject({ method: 'POST', url: '/login' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ field: 'email' });
  });

  it("malformed JSON and media types Fastify cannot parse are answered by Fastify's content-type parser (4xx, no internals)", async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: '/login',
      payload: '{"email": "ada@example.com", "password":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
    expectNoInternals(malformed.body);
    // No urlencoded parser in Fastify itself: an HTML form needs @fastify/formbody.
    const form = await app.inject({
      method: 'POST',
      url: '/login',
      payload: `email=ada%40example.com&password=${encodeURIComponent(PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.statusCode).toBe(415);
  });

  it('the default context: request.ip, the user-agent and request.id reach the hooks', async () => {
    const response = await login(ADA, {
      'user-agent': 'fastify-test/1.0',
      'x-request-id': 'req-fastify-ctx',
    });
    expect(response.statusCode).toBe(200);
    await expect
      .poll(() => contextOf('req-fastify-ctx'))
      .toEqual({
        ip: '127.0.0.1',
        userAgent: 'fastify-test/1.0',
        requestId: 'req-fastify-ctx',
      });
  });
});

function contextOf(requestId: string): unknown {
  const events = fx.recorded.of('onAttempt') as { context: { requestId?: string } }[];
  return events.find((event) => event.context.requestId === requestId)?.context;
}

describe('health routes', () => {
  it('readiness: 200 pass, application/health+json, one datastore check per provider', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/health+json; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json();
    expect(body.status).toBe('pass');
    expect(body.checks['primary:responseTime'][0]).toMatchObject({
      componentType: 'datastore',
      status: 'pass',
    });
    expect(body.checks['replica:responseTime'][0]).toMatchObject({ componentType: 'datastore' });
  });

  it("the primary's table renamed mid-run: login 200 through the fallback, readiness 200 warn", async () => {
    await fx.renamePrimaryTable();
    try {
      const response = await login(ADA);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        ok: true,
        user: { id: 1, email: 'ada@example.com' },
        mustChangePassword: false,
      });
      expectNoInternals(response.body);
      const ready = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({
        status: 'warn',
        checks: { 'primary:responseTime': [{ status: 'warn', output: 'schema 42P01' }] },
      });
    } finally {
      await fx.restorePrimaryTable();
    }
  });

  it('every provider down: login 503 with Retry-After and a body without internals; liveness still 200', async () => {
    await fx.allDown();
    try {
      const response = await login(ADA);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(response.json()).toEqual({ error: 'unavailable', message: MESSAGES.unavailable });
      expectJson(response);
      expectNoInternals(JSON.stringify(response.headers));

      const live = await app.inject({ method: 'GET', url: '/health/live' });
      expect(live.statusCode).toBe(200);
      expect(live.headers['content-type']).toBe('application/health+json; charset=utf-8');
      expect(live.json()).toEqual({ status: 'pass', description: 'resilient-auth login' });
      const ready = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'fail' });
    } finally {
      await fx.allUp();
    }
  });

  it('liveness never reads health nor runs a check', async () => {
    const touched: string[] = [];
    const source: HealthSource = {
      health: () => {
        touched.push('health');
        return fx.auth.health();
      },
      check: () => {
        touched.push('check');
        return fx.auth.check();
      },
    };
    const probe = Fastify({ logger: false });
    probe.get('/live', healthHandler(source, { probe: 'liveness' }));
    probe.get('/ready', healthHandler(source));
    const live = await probe.inject({ method: 'GET', url: '/live' });
    expect(live.statusCode).toBe(200);
    expect(touched).toEqual([]);
    await probe.inject({ method: 'GET', url: '/ready' });
    expect(touched).toContain('health');
    await probe.close();
  });
});

describe('onSuccess and context options', () => {
  it("onSuccess answers a success with the app's own reply; refusals never reach it", async () => {
    const seen: ContractUser[] = [];
    const custom = Fastify({ logger: false });
    custom.post(
      '/login',
      loginHandler(fx.auth, {
        ...FIELDS,
        onSuccess: async (_request, reply, result) => {
          expectTypeOf(result.user).toEqualTypeOf<ContractUser>();
          seen.push(result.user);
          return reply.code(303).header('location', `/users/${result.user.id}`).send();
        },
        context: () => ({ requestId: 'from-option' }),
      }),
    );
    const ok = await custom.inject({ method: 'POST', url: '/login', payload: ADA });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/users/1');
    const refused = await custom.inject({
      method: 'POST',
      url: '/login',
      payload: { email: 'nobody@example.com', password: PASSWORD },
    });
    expect(refused.statusCode).toBe(401);
    expect(seen).toEqual([{ id: 1, email: 'ada@example.com' }]);
    await expect.poll(() => contextOf('from-option')).toEqual({ requestId: 'from-option' });
    await custom.close();
  });

  it('what onSuccess returns is the payload, as in any async handler', async () => {
    const custom = Fastify({ logger: false });
    custom.post(
      '/login',
      loginHandler(fx.auth, {
        ...FIELDS,
        onSuccess: async (_r, _reply, { user }) => ({ welcome: user.email }),
      }),
    );
    const response = await custom.inject({ method: 'POST', url: '/login', payload: ADA });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ welcome: 'ada@example.com' });
    await custom.close();
  });
});

describe('the plugin', () => {
  const memoryAuth = () =>
    createResilientAuth<ContractUser>({
      providers: [
        memoryProvider({
          name: 'memory',
          hashCost: 4,
          accounts: [
            {
              identifier: 'ada@example.com',
              password: PASSWORD,
              user: { id: 1, email: 'ada@example.com' },
            },
          ],
        }),
      ],
      verifier: bcryptVerifier({ threads: 0 }),
    });

  it('decorates the instance with auth, typed by ResilientAuthTypes', () => {
    expect(app.auth).toBe(fx.auth);
    expectTypeOf(app.auth).toEqualTypeOf<ResilientAuth<ContractUser>>();
  });

  it('app.close() closes the auth: authenticate then rejects with CLOSED', async () => {
    const auth = memoryAuth();
    const own = Fastify({ logger: false });
    await own.register(resilientAuth, { auth });
    own.post('/login', loginHandler(own.auth, FIELDS));
    expect((await own.inject({ method: 'POST', url: '/login', payload: ADA })).statusCode).toBe(
      200,
    );
    await own.close();
    await expect(own.auth.authenticate(ADA_CREDENTIALS)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('app.close() lets a login in flight finish before it closes the auth', async () => {
    const auth = memoryAuth();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = () => {};
    const inFlight = new Promise<void>((resolve) => {
      entered = resolve;
    });
    // Holds the login before it reaches the auth: had the auth closed first, it would be a 503.
    const held: ResilientAuth<ContractUser> = {
      authenticate: async (credentials) => {
        entered();
        await gate;
        return auth.authenticate(credentials);
      },
      health: () => auth.health(),
      check: () => auth.check(),
      isolate: (name) => auth.isolate(name),
      reset: (name) => auth.reset(name),
      resumeRollout: (name) => auth.resumeRollout(name),
      close: () => auth.close(),
    };
    const own = Fastify({ logger: false });
    await own.register(resilientAuth, { auth: held });
    own.post('/login', loginHandler(own.auth, FIELDS));
    let closeStarted = () => {};
    const closing = new Promise<void>((resolve) => {
      closeStarted = resolve;
    });
    own.addHook('preClose', (done) => {
      closeStarted();
      done();
    });
    const address = await own.listen({ port: 0, host: '127.0.0.1' });
    const response = postOnce(`${address}/login`, ADA);
    await inFlight;
    const closed = own.close();
    await closing;
    release();
    const answer = await response;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ ok: true, user: { email: 'ada@example.com' } });
    await closed;
    await expect(auth.authenticate(ADA_CREDENTIALS)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('closeAuth: false leaves an auth shared with something else open', async () => {
    const auth = memoryAuth();
    const own = Fastify({ logger: false });
    await own.register(resilientAuth, { auth, closeAuth: false });
    await own.close();
    await expect(auth.authenticate(ADA_CREDENTIALS)).resolves.toMatchObject({ ok: true });
    await auth.close();
  });

  it("Fastify's own register options are accepted", async () => {
    const own = Fastify({ logger: false });
    await own.register(resilientAuth, { auth: fx.auth, closeAuth: false, prefix: '/auth' });
    expect(own.auth).toBe(fx.auth);
    await own.close();
  });

  it('a second registration in one context fails with a clear ConfigError', async () => {
    const own = Fastify({ logger: false });
    await own.register(resilientAuth, { auth: fx.auth, closeAuth: false });
    const error = await own.register(resilientAuth, { auth: fx.auth, closeAuth: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(/already has an `auth` decorator/);
    await own.close();
  });

  it('an encapsulated context may have an auth of its own, closed with the app', async () => {
    const own = Fastify({ logger: false });
    const admin = memoryAuth();
    await own.register(resilientAuth, { auth: fx.auth, closeAuth: false });
    await own.register(async (scope) => {
      // Not through the root's decorator: a child context inherits it, so a second one there is refused.
      expect(scope.auth).toBe(fx.auth);
    });
    const other = Fastify({ logger: false });
    await other.register(async (scope) => {
      await scope.register(resilientAuth, { auth: admin });
      scope.post('/admin/login', loginHandler(scope.auth, FIELDS));
    });
    expect(other.hasDecorator('auth')).toBe(false);
    const response = await other.inject({ method: 'POST', url: '/admin/login', payload: ADA });
    expect(response.statusCode).toBe(200);
    await other.close();
    await expect(admin.authenticate(ADA_CREDENTIALS)).rejects.toMatchObject({ code: 'CLOSED' });
    await own.close();
  });

  const badPluginOptions: { name: string; option: string; options: () => object }[] = [
    { name: 'no auth', option: 'resilientAuth.auth', options: () => ({}) },
    {
      name: 'an object that is not an auth',
      option: 'resilientAuth.auth',
      options: () => ({ auth: { authenticate: () => undefined } }),
    },
    {
      name: 'closeAuth not a boolean',
      option: 'resilientAuth.closeAuth',
      options: () => ({ auth: fx.auth, closeAuth: 'yes' }),
    },
    {
      name: 'an unknown option',
      option: 'resilientAuth',
      options: () => ({ auth: fx.auth, decorator: 'login' }),
    },
  ];

  it.each(badPluginOptions)('$name: ConfigError naming $option', async ({ options, option }) => {
    const own = Fastify({ logger: false });
    const error = await own.register(resilientAuth, options() as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConfigError(error)).toBe(true);
    expect(error).toMatchObject({ option });
    expect(own.hasDecorator('auth')).toBe(false);
  });
});

describe('handler options, checked when the route is built', () => {
  const badHandlerOptions: { name: string; option: string; build: () => unknown }[] = [
    {
      name: 'an empty field name',
      option: 'loginHandler.identifierField',
      build: () => loginHandler(fx.auth, { identifierField: '' }),
    },
    {
      name: 'the same field twice',
      option: 'loginHandler.passwordField',
      build: () => loginHandler(fx.auth, { identifierField: 'password' }),
    },
    {
      name: 'onSuccess not a function',
      option: 'loginHandler.onSuccess',
      build: () => loginHandler(fx.auth, { onSuccess: 'redirect' as never }),
    },
    {
      name: 'context not a function',
      option: 'loginHandler.context',
      build: () => loginHandler(fx.auth, { context: {} as never }),
    },
    {
      name: "passport's option name",
      option: 'loginHandler',
      build: () => loginHandler(fx.auth, { usernameField: 'email' } as never),
    },
    {
      name: 'an unknown probe',
      option: 'healthHandler.probe',
      build: () => healthHandler(fx.auth, { probe: 'startup' as never }),
    },
    {
      name: 'activeCheck not a boolean',
      option: 'healthHandler.activeCheck',
      build: () => healthHandler(fx.auth, { activeCheck: 1 as never }),
    },
  ];

  it.each(badHandlerOptions)('$name: ConfigError naming $option', ({ build, option }) => {
    expect(build).toThrow(expect.objectContaining({ name: 'ConfigError', option }));
  });
});

// One POST on a connection of its own (`connection: close`): a keep-alive
// connection left idle would hold app.close() until Fastify's keepAliveTimeout.
function postOnce(url: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

const ADA_CREDENTIALS = { identifier: 'ada@example.com', password: PASSWORD };
