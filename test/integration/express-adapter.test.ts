import { createRequire } from 'node:module';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  type ExpressLoginOptions,
  healthHandler,
  type LoginLocals,
  login,
  loginErrorHandler,
} from '../../src/express/index.js';
import type { HealthSource } from '../../src/http/health-response.js';
import {
  type AuthSuccess,
  createResilientAuth,
  isConfigError,
  type PasswordVerifier,
} from '../../src/index.js';
import { memoryProvider } from '../../src/testing/index.js';
import type { ContractUser } from '../contract/provider-contract.js';
import { thrownBy } from '../support/fakes.js';
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

// The Express adapter against real Express 5 and Express 4 (supertest, over
// HTTP) and real PostgreSQL. Express 4 is installed under the npm alias
// `express4` and has no types of its own: the API used here is the same.
const require = createRequire(import.meta.url);
const express4 = require('express4') as typeof express;
const EXPRESS_4_VERSION: string = require('express4/package.json').version;
const EXPRESS_5_VERSION: string = require('express/package.json').version;

const VERSIONS = [
  { name: 'Express 5', express, version: EXPRESS_5_VERSION, major: '5' },
  { name: 'Express 4', express: express4, version: EXPRESS_4_VERSION, major: '4' },
] as const;
type Version = (typeof VERSIONS)[number];

let fx: LoginFixture;
beforeAll(async () => {
  fx = await startLoginFixture('express_adapter');
});
afterAll(() => fx?.close());

/** Every success the app's own handler saw, as `login()` left it on `res.locals`. */
const seen: AuthSuccess<ContractUser>[] = [];

/**
 * The app a user writes: a body parser, `login()`, and a handler answering the
 * success. `trust proxy` so that each test can post from its own address
 * (the throttle counts per identifier and address).
 */
function loginApp(
  v: Version,
  options: { readonly errorHandler?: boolean; readonly env?: string } = {},
): Express {
  const app = v.express();
  app.set('trust proxy', true);
  if (options.env) app.set('env', options.env);
  app.post('/login', v.express.json(), login(fx.auth, FIELDS), (_req, res) => {
    const result = res.locals.auth;
    seen.push(result);
    res.json({ ok: true, user: result.user, mustChangePassword: result.mustChangePassword });
  });
  app.post(
    '/form-login',
    v.express.urlencoded({ extended: false }),
    login(fx.auth, FIELDS),
    (_req, res) => {
      res.json({ ok: true, user: res.locals.auth.user });
    },
  );
  app.get('/health/ready', healthHandler(fx.auth));
  app.get('/health/live', healthHandler(fx.auth, { probe: 'liveness' }));
  if (options.errorHandler !== false) app.use(loginErrorHandler());
  return app;
}

/** A client address of its own per test group: 203.0.113.0/24 (TEST-NET-3). */
let nextHost = 10;
const newAddress = () => `203.0.113.${nextHost++}`;

const postJson = (app: Express, from: string, body: unknown, path = '/login') =>
  request(app)
    .post(path)
    .set('x-forwarded-for', from)
    .send(body as object);

const ADA = { email: 'ada@example.com', password: PASSWORD };

/** Express's default error handler logs every error's stack outside the `test` env: silenced, checked, cleared. */
function silenceExpressLog(): void {
  vi.mocked(console.error).mockImplementation(() => {});
}

function expectExpressLogged(times: number): string {
  const error = vi.mocked(console.error);
  expect(error).toHaveBeenCalledTimes(times);
  const printed = error.mock.calls.map((args) => args.join(' ')).join('\n');
  error.mockClear();
  return printed;
}

it('runs against Express 5 and Express 4', () => {
  expect(VERSIONS.map((v) => v.version.split('.')[0])).toEqual(['5', '4']);
  // The default error handler's env: vitest runs with NODE_ENV=test, so Express does not log there.
  expect(express().get('env')).toBe('test');
});

describe.each(VERSIONS)('$name', (v) => {
  describe('with loginErrorHandler(): JSON error bodies', () => {
    let app: Express;
    const from = newAddress();
    beforeAll(() => {
      app = loginApp(v);
    });

    it.each(MAPPING_CASES)('$row -> $status', async (c) => {
      const res = await postJson(app, from, c.body);
      expect(res.status).toBe(c.status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      if (c.status === 200) {
        expect(res.body).toEqual({
          ok: true,
          user: { id: 1, email: 'ada@example.com' },
          mustChangePassword: false,
        });
        return;
      }
      expect(res.body).toEqual(expectedBody(c));
      if (c.retryAfter) expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      else expect(res.headers['retry-after']).toBeUndefined();
      expectNoInternals(res.text);
      expect(res.text).not.toContain(PASSWORD);
    });

    it('puts the whole success on res.locals.auth for the next handler', async () => {
      seen.length = 0;
      const res = await postJson(app, from, { email: 'rotate@example.com', password: PASSWORD });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ok: true,
        user: { id: 3, email: 'rotate@example.com' },
        mustChangePassword: true,
      });
      expect(seen).toEqual([
        {
          ok: true,
          user: { id: 3, email: 'rotate@example.com' },
          provider: 'primary',
          degraded: false,
          mustChangePassword: true,
          // The seeds' cost is below the verifier's target: a hash to store, never to render.
          rehash: expect.stringMatching(/^\$2b\$10\$/),
        },
      ]);
    });

    it(`rate_limited: the ${THROTTLE_LIMIT + 1}th wrong password in a row -> 429 with Retry-After ${THROTTLE_BLOCK_S}`, async () => {
      const identifier = v.major === '5' ? "o'brien@example.com" : 'zoë@example.com';
      const attacker = newAddress();
      for (let i = 0; i < THROTTLE_LIMIT; i++) {
        const res = await postJson(app, attacker, { email: identifier, password: 'wrong' });
        expect(res.status).toBe(401);
      }
      const blocked = await postJson(app, attacker, { email: identifier, password: 'wrong' });
      expect(blocked.status).toBe(429);
      expect(blocked.headers['retry-after']).toBe(String(THROTTLE_BLOCK_S));
      expect(blocked.body).toEqual({ error: 'rate_limited', message: MESSAGES.rate_limited });
      // Blocked means blocked: the right password from there is refused too, and counted per address.
      const right = await postJson(app, attacker, { email: identifier, password: PASSWORD });
      expect(right.status).toBe(429);
      const elsewhere = await postJson(app, newAddress(), {
        email: identifier,
        password: PASSWORD,
      });
      expect(elsewhere.status).toBe(200);
    });

    it('a body that is not JSON or not an object: 400 naming the identifier field, never 500', async () => {
      const plain = await request(app)
        .post('/login')
        .set('x-forwarded-for', from)
        .set('content-type', 'text/plain')
        .send(`email=ada@example.com&password=${PASSWORD}`);
      const empty = await request(app).post('/login').set('x-forwarded-for', from);
      const array = await postJson(app, from, [ADA]);
      for (const res of [plain, empty, array]) {
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          error: 'invalid_input',
          message: 'Invalid email.',
          field: 'email',
        });
      }
      // Malformed JSON never reaches login(): the body parser's own 400 passes through loginErrorHandler.
      const malformed = await request(app)
        .post('/login')
        .set('x-forwarded-for', from)
        .set('content-type', 'application/json')
        .send('{"email": "ada@example.com", "password": ');
      expect(malformed.status).toBe(400);
    });

    it('an urlencoded form logs in, and a repeated field is refused naming it', async () => {
      const form = await request(app)
        .post('/form-login')
        .set('x-forwarded-for', from)
        .type('form')
        .send({ email: 'ada@example.com', password: PASSWORD });
      expect(form.status).toBe(200);
      expect(form.body).toEqual({ ok: true, user: { id: 1, email: 'ada@example.com' } });
      const repeated = await request(app)
        .post('/form-login')
        .set('x-forwarded-for', from)
        .type('form')
        .send(`email=ada%40example.com&password=${PASSWORD}&password=x`);
      expect(repeated.status).toBe(400);
      expect(repeated.body).toMatchObject({ error: 'invalid_input', field: 'password' });
    });

    it('the default context: the client address, User-Agent and X-Request-Id reach the hooks, a long User-Agent cut', async () => {
      const address = newAddress();
      const requestId = `express-${v.major}-context`;
      const res = await postJson(app, address, ADA)
        .set('user-agent', `probe/${'u'.repeat(3000)}`)
        .set('x-request-id', requestId);
      expect(res.status).toBe(200);
      const attempt = fx.recorded
        .of('onAttempt')
        .map((e) => e as { context: { ip?: string; userAgent?: string; requestId?: string } })
        .find((e) => e.context.requestId === requestId);
      expect(attempt?.context.ip).toBe(address);
      expect(attempt?.context.userAgent).toMatch(/^probe\/u+$/);
      expect(attempt?.context.userAgent).toHaveLength(2048);
    });

    it('health endpoints: readiness passes with application/health+json; liveness answers', async () => {
      const ready = await request(app).get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.headers['content-type']).toMatch(/^application\/health\+json/);
      expect(ready.headers['cache-control']).toBe('no-store');
      const body = JSON.parse(ready.text);
      expect(body).toMatchObject({
        status: 'pass',
        checks: {
          'primary:responseTime': [{ componentType: 'datastore', status: 'pass' }],
          'replica:responseTime': [{ componentType: 'datastore', status: 'pass' }],
        },
      });
      const live = await request(app).get('/health/live');
      expect(live.status).toBe(200);
      expect(live.headers['content-type']).toMatch(/^application\/health\+json/);
      expect(JSON.parse(live.text)).toEqual({
        status: 'pass',
        description: 'resilient-auth login',
      });
    });
  });

  describe("Express's default error handler (no loginErrorHandler)", () => {
    it.each(MAPPING_CASES.filter((c) => c.status !== 200))(
      'test env: $row -> $status, with the error headers',
      async (c) => {
        const res = await postJson(loginApp(v, { errorHandler: false }), newAddress(), c.body);
        expect(res.status).toBe(c.status);
        if (c.retryAfter) expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        else expect(res.headers['retry-after']).toBeUndefined();
      },
    );

    it('production env: the status text only, no internals, and Express logs each error', async () => {
      silenceExpressLog();
      const app = loginApp(v, { errorHandler: false, env: 'production' });
      const from = newAddress();
      const refused = MAPPING_CASES.filter((c) => c.status !== 200);
      for (const c of refused) {
        const res = await postJson(app, from, c.body);
        expect(res.status).toBe(c.status);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        const text = {
          400: 'Bad Request',
          401: 'Unauthorized',
          403: 'Forbidden',
          429: 'Too Many Requests',
        }[c.status as 400 | 401 | 403 | 429];
        expect(res.text).toContain(`<pre>${text}</pre>`);
        expect(res.text).not.toMatch(/AuthHttpError|\n\s+at /);
        expectNoInternals(res.text);
        if (c.retryAfter) expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      }
      // Express's final handler prints every error's stack outside the test env: one per refusal.
      const printed = expectExpressLogged(refused.length);
      expect(printed).toContain('AuthHttpError: Invalid identifier or password.');
      expect(printed).not.toContain(PASSWORD);
    });
  });

  describe('login() options and failures in the app', () => {
    it('onSuccess answers instead of next(), with res.locals.auth set too', async () => {
      const next = vi.fn();
      const app = v.express();
      app.post(
        '/login',
        v.express.json(),
        login(fx.auth, {
          ...FIELDS,
          onSuccess: (_req, res, result) => {
            expect(res.locals.auth).toBe(result);
            res.status(201).json({ id: result.user.id });
          },
        }),
        next,
      );
      const res = await postJson(app, newAddress(), ADA);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: 1 });
      expect(next).not.toHaveBeenCalled();
    });

    it('a throwing or rejecting onSuccess or context goes to next(error): the error handler answers, nothing hangs', async () => {
      const failures: Record<string, ExpressLoginOptions<ContractUser>> = {
        'onSuccess throws': {
          onSuccess: () => {
            throw new Error('session store down');
          },
        },
        'onSuccess rejects': { onSuccess: () => Promise.reject(new Error('session store down')) },
        'onSuccess rejects with undefined': { onSuccess: () => Promise.reject(undefined) },
        'context throws': {
          context: () => {
            throw new Error('bad header');
          },
        },
        'context throws undefined': {
          context: () => {
            throw undefined;
          },
        },
      };
      for (const [label, options] of Object.entries(failures)) {
        const caught: unknown[] = [];
        const success = vi.fn();
        const app = v.express();
        app.post('/login', v.express.json(), login(fx.auth, { ...FIELDS, ...options }), success);
        app.use(loginErrorHandler());
        app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
          caught.push(error);
          res.status(500).json({ error: 'internal' });
        });
        const res = await postJson(app, newAddress(), ADA);
        expect(res.status, label).toBe(500);
        expect(success, label).not.toHaveBeenCalled();
        expect(caught, label).toHaveLength(1);
        expect(caught[0], label).toBeInstanceOf(Error);
      }
    });

    it('loginErrorHandler() passes every other error on as it is', async () => {
      const app = v.express();
      const boom = Object.assign(new Error('boom'), { status: 418 });
      app.get('/boom', () => {
        throw boom;
      });
      app.use(loginErrorHandler());
      const seenByNext: unknown[] = [];
      app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        seenByNext.push(error);
        res.status(418).end();
      });
      // Express tells error middleware by its four parameters.
      expect(loginErrorHandler()).toHaveLength(4);
      const res = await request(app).get('/boom');
      expect(res.status).toBe(418);
      expect(seenByNext).toEqual([boom]);
    });

    it('an auth that is closing answers 503 with Retry-After', async () => {
      const auth = createResilientAuth({
        providers: [memoryProvider({ accounts: [] })],
        verifier: constantVerifier,
      });
      await auth.close();
      const app = v.express();
      app.post('/login', v.express.json(), login(auth), (_req, res) => res.end());
      app.use(loginErrorHandler());
      const res = await request(app).post('/login').send({ identifier: 'a', password: 'b' });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(res.body).toEqual({ error: 'unavailable', message: MESSAGES.unavailable });
    });

    it('liveness never touches the auth; a readiness that fails goes to next(error), not an unhandled rejection', async () => {
      const untouchable: HealthSource = {
        health: () => {
          throw new Error('touched');
        },
        check: () => Promise.reject(new Error('touched')),
      };
      const caught: unknown[] = [];
      const app = v.express();
      app.get('/live', healthHandler(untouchable, { probe: 'liveness' }));
      app.get('/ready', healthHandler(untouchable));
      app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        caught.push(error);
        res.status(500).end();
      });
      expect((await request(app).get('/live')).status).toBe(200);
      expect((await request(app).get('/ready')).status).toBe(500);
      expect(caught).toEqual([new Error('touched')]);
    });
  });
});

describe('options and types', () => {
  it.each([
    { option: 'login.identifierField', make: () => login(fx.auth, { identifierField: '' }) },
    {
      option: 'login.passwordField',
      make: () => login(fx.auth, { identifierField: 'email', passwordField: 'email' }),
    },
    { option: 'login.context', make: () => login(fx.auth, { context: 'ip' as never }) },
    { option: 'login.onSuccess', make: () => login(fx.auth, { onSuccess: true as never }) },
    // An unknown option (passport-local's name, say) is refused, not ignored.
    { option: 'login', make: () => login(fx.auth, { usernameField: 'email' } as never) },
    {
      option: 'healthHandler.probe',
      make: () => healthHandler(fx.auth, { probe: 'startup' as never }),
    },
    {
      option: 'healthHandler.activeCheck',
      make: () => healthHandler(fx.auth, { activeCheck: 'yes' as never }),
    },
  ])('a bad option throws a ConfigError naming $option', ({ option, make }) => {
    const thrown = thrownBy(() => make());
    expect(isConfigError(thrown)).toBe(true);
    expect((thrown as { option: string }).option).toBe(option);
  });

  it("res.locals.auth is typed from the auth's user type in the route's next handler", async () => {
    const app = express();
    app.post('/login', express.json(), login(fx.auth, FIELDS), (req, res) => {
      expectTypeOf(res.locals.auth).toEqualTypeOf<AuthSuccess<ContractUser>>();
      expectTypeOf(req.body).toBeUnknown();
      res.json({ email: res.locals.auth.user.email });
    });
    app.post(
      '/other',
      login(fx.auth, {
        onSuccess: (_req, res, result) => {
          expectTypeOf(result).toEqualTypeOf<AuthSuccess<ContractUser>>();
          expectTypeOf(res.locals).toExtend<LoginLocals<ContractUser>>();
          res.end();
        },
      }),
    );
    const res = await postJson(app, newAddress(), ADA);
    expect(res.body).toEqual({ email: 'ada@example.com' });
  });
});

// Last: after these, the breakers stay open for a while.
describe('the provider chain failing under both versions', () => {
  const apps = () => VERSIONS.map((v) => ({ v, app: loginApp(v) }));

  it("the primary's table renamed mid-run: 200 through the fallback, readiness 200 warn", async () => {
    await fx.renamePrimaryTable();
    try {
      for (const { v, app } of apps()) {
        seen.length = 0;
        const res = await postJson(app, newAddress(), ADA);
        expect(res.status, v.name).toBe(200);
        expect(res.body, v.name).toMatchObject({ ok: true, user: { email: 'ada@example.com' } });
        expect(seen, v.name).toMatchObject([{ provider: 'replica', degraded: true }]);
        const ready = await request(app).get('/health/ready');
        expect(ready.status, v.name).toBe(200);
        const body = JSON.parse(ready.text);
        expect(body.status, v.name).toBe('warn');
        expect(body.checks['primary:responseTime'][0].output, v.name).toMatch(/^schema/);
        expect(body.checks['replica:responseTime'][0].status, v.name).toBe('pass');
        expect(ready.text).not.toMatch(/postgres(ql)?:\/\//);
      }
    } finally {
      await fx.restorePrimaryTable();
    }
  });

  it('every provider down: 503 with Retry-After and a generic body; readiness 503 fail; liveness 200', async () => {
    silenceExpressLog();
    await fx.allDown();
    try {
      for (const { v, app } of apps()) {
        const res = await postJson(app, newAddress(), ADA);
        expect(res.status, v.name).toBe(503);
        expect(res.headers['retry-after'], v.name).toMatch(/^[1-9]\d*$/);
        expect(res.body, v.name).toEqual({ error: 'unavailable', message: MESSAGES.unavailable });
        expectNoInternals(res.text);

        const production = loginApp(v, { errorHandler: false, env: 'production' });
        const plain = await postJson(production, newAddress(), ADA);
        expect(plain.status, v.name).toBe(503);
        expect(plain.headers['retry-after'], v.name).toMatch(/^[1-9]\d*$/);
        expect(plain.text, v.name).toContain('<pre>Service Unavailable</pre>');
        expectNoInternals(plain.text);
        const printed = expectExpressLogged(1);
        expectNoInternals(printed);

        const ready = await request(app).get('/health/ready');
        expect(ready.status, v.name).toBe(503);
        expect(JSON.parse(ready.text).status, v.name).toBe('fail');
        const live = await request(app).get('/health/live');
        expect(live.status, v.name).toBe(200);
        expect(JSON.parse(live.text).status, v.name).toBe('pass');
      }
    } finally {
      await fx.allUp();
    }
  });
});

/** A verifier with no cost, for the auth built here without a database. */
const constantVerifier: PasswordVerifier = {
  isWellFormed: (hash) => hash.startsWith('fake$'),
  dummyHash: () => 'fake$\0',
  verify: async (password, hash) => hash === `fake$${password}`,
};
