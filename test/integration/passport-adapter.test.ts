import { STATUS_CODES } from 'node:http';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
} from 'express';
import session from 'express-session';
import passportModule, { type AuthenticateOptions } from 'passport';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  type AuthSuccess,
  type HealthSource,
  healthResponse,
  isAuthHttpError,
  isConfigError,
} from '../../src/index.js';
import {
  loginFailure,
  ResilientAuthStrategy,
  type ResilientAuthStrategyOptions,
} from '../../src/passport/index.js';
import type { ContractUser } from '../contract/provider-contract.js';
import { thrownBy } from '../support/fakes.js';
import {
  expectedBody,
  expectNoInternals,
  type LoginFixture,
  MAPPING_CASES,
  MESSAGES,
  PASSWORD,
  startLoginFixture,
  THROTTLE_BLOCK_S,
  THROTTLE_LIMIT,
} from '../support/login-fixture.js';

// The strategy run by passport 0.7 in an Express 5 app, against real
// PostgreSQL. Each group posts from its own client address (X-Forwarded-For,
// with `trust proxy`): the throttle counts per identifier and address, and the
// mapping rows post the same wrong passwords in three groups.
let fx: LoginFixture;
beforeAll(async () => {
  fx = await startLoginFixture('passport_adapter');
});
afterAll(() => fx?.close());

const NAME = 'resilient-auth';
type Authenticator = InstanceType<typeof passportModule.Passport>;
const ADA = { email: 'ada@example.com', password: PASSWORD };

/** The strategy as the tests use it: the fixture posts `email`. */
function emailStrategy(options: Omit<ResilientAuthStrategyOptions, 'passReqToCallback'> = {}) {
  return new ResilientAuthStrategy(fx.auth, { usernameField: 'email', ...options });
}

/** An Express 5 app with its own Passport instance using `strategy`. */
function appWith(
  strategy: ResilientAuthStrategy<ContractUser, unknown, Request>,
  routes: (app: Express, passport: Authenticator) => void,
): Express {
  const passport = new passportModule.Passport();
  passport.use(strategy);
  const app = express();
  app.set('trust proxy', true);
  app.use(express.json());
  app.use(passport.initialize());
  routes(app, passport);
  return app;
}

/** A login route answering 200 with what Passport put on the request. */
function loginRoute(options: AuthenticateOptions = {}) {
  return (app: Express, passport: Authenticator) => {
    app.post('/login', passport.authenticate(NAME, { session: false, ...options }), loggedIn);
  };
}

const loggedIn: RequestHandler = (req, res) => {
  res.json({ ok: true, user: req.user, info: req.authInfo });
};

/** The error handler of the README: the mapping table's answer, from `loginFailure(req)`. */
function renderFailure(seen: unknown[]): ErrorRequestHandler {
  return (err, req, res, next) => {
    seen.push(err);
    const failure = loginFailure(req);
    if (!failure) return next(err);
    res.status(failure.status).set(failure.headers).json(failure.body);
  };
}

/** The README's setup: the login route with `failWithError`, then `renderFailure(seen)`. */
function failWithErrorRoute(seen: unknown[]) {
  return (app: Express, passport: Authenticator) => {
    loginRoute({ failWithError: true })(app, passport);
    app.use(renderFailure(seen));
  };
}

/** A route calling passport.authenticate with a custom callback, answering with its arguments. */
function callbackRoute(app: Express, passport: Authenticator) {
  app.post('/login', (req, res, next) => {
    passport.authenticate(
      NAME,
      { session: false },
      (err: unknown, user: unknown, info: unknown, status: unknown) => {
        if (err) return next(err);
        res.status(user ? 200 : Number(status)).json({ user, info, status });
      },
    )(req, res, next);
  });
}

function post(app: Express, ip: string, body: unknown) {
  return request(app)
    .post('/login')
    .set('x-forwarded-for', ip)
    .send(body as object);
}

const successBody = (email: string, id: number, mustChangePassword = false) => ({
  ok: true,
  user: { id, email },
  info: { mustChangePassword },
});

function expectRetryAfter(header: string | undefined, expected: boolean) {
  if (!expected) {
    expect(header).toBeUndefined();
    return;
  }
  expect(header).toMatch(/^[1-9]\d*$/);
}

describe('the mapping table, Passport answering (session: false)', () => {
  let app: Express;
  beforeAll(() => {
    app = appWith(emailStrategy(), loginRoute());
  });

  it.each(MAPPING_CASES)('$row -> $status', async (c) => {
    const res = await post(app, '203.0.113.1', c.body);
    expect(res.status).toBe(c.status);
    expectRetryAfter(res.headers['retry-after'], c.retryAfter === true);
    if (c.status === 200) {
      // Only the flag: never provider, degraded, or the rehash (a password hash).
      expect(res.body).toEqual(successBody('ada@example.com', 1));
      return;
    }
    // Passport's own failure answer: the status from fail(), its status text.
    expect(res.text).toBe(STATUS_CODES[c.status]);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});

describe('the mapping table, failWithError and an error handler', () => {
  let app: Express;
  const seen: unknown[] = [];
  beforeAll(() => {
    app = appWith(emailStrategy(), failWithErrorRoute(seen));
  });

  it.each(MAPPING_CASES)('$row -> $status', async (c) => {
    seen.length = 0;
    const res = await post(app, '203.0.113.2', c.body);
    expect(res.status).toBe(c.status);
    expectRetryAfter(res.headers['retry-after'], c.retryAfter === true);
    if (c.status === 200) {
      expect(res.body).toEqual(successBody('ada@example.com', 1));
      expect(seen).toEqual([]);
      return;
    }
    expect(res.body).toEqual(expectedBody(c));
    // What reached the handler is Passport's own error, with the status from fail().
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ name: 'AuthenticationError', status: c.status });
  });
});

describe('the mapping table, a custom callback', () => {
  let app: Express;
  beforeAll(() => {
    app = appWith(emailStrategy(), callbackRoute);
  });

  it.each(MAPPING_CASES)('$row -> $status', async (c) => {
    const res = await post(app, '203.0.113.3', c.body);
    expect(res.status).toBe(c.status);
    // Set on req.res by the strategy: the callback's response carries it.
    expectRetryAfter(res.headers['retry-after'], c.retryAfter === true);
    if (c.status === 200) {
      expect(res.body).toEqual({
        user: { id: 1, email: 'ada@example.com' },
        info: { mustChangePassword: false },
      });
      return;
    }
    // fail(info, status): info is the mapping table's body.
    expect(res.body).toEqual({ user: false, info: expectedBody(c), status: c.status });
  });
});

describe('request bodies', () => {
  let app: Express;
  const seen: unknown[] = [];
  beforeAll(() => {
    app = appWith(emailStrategy(), failWithErrorRoute(seen));
  });

  it('a body that is not JSON, or not an object, is a 400 naming the identifier field, not a 500', async () => {
    const asText = await request(app)
      .post('/login')
      .set('content-type', 'text/plain')
      .send(`email=ada@example.com&password=${PASSWORD}`);
    const asArray = await request(app).post('/login').send([ADA]);
    const empty = await request(app).post('/login');
    for (const res of [asText, asArray, empty]) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_input',
        message: 'Invalid email.',
        field: 'email',
      });
    }
  });

  it("passport-local's defaults: fields username and password, name resilient-auth", async () => {
    const strategy = new ResilientAuthStrategy(fx.auth);
    expect(strategy.name).toBe('resilient-auth');
    const local = appWith(strategy, loginRoute());
    const ok = await post(local, '203.0.113.4', { username: ADA.email, password: PASSWORD });
    expect(ok.body).toEqual(successBody('ada@example.com', 1));
    // Where passport-local fails with 400 "Missing credentials", the answer names the field.
    const seenHere: unknown[] = [];
    const withErrors = appWith(new ResilientAuthStrategy(fx.auth), failWithErrorRoute(seenHere));
    const missing = await post(withErrors, '203.0.113.4', ADA);
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'invalid_input', field: 'username' });
  });

  it('the password is read from the body only, never from the query string', async () => {
    const res = await request(app)
      .post(`/login?email=ada%40example.com&password=${encodeURIComponent(PASSWORD)}`)
      .send({});
    expect(res.status).toBe(400);
  });

  it('another name is used in passport.authenticate()', async () => {
    const strategy = emailStrategy({ name: 'password' });
    const renamed = appWith(strategy, (app, passport) => {
      app.post('/login', passport.authenticate('password', { session: false }), loggedIn);
    });
    const res = await post(renamed, '203.0.113.4', ADA);
    expect(res.body).toEqual(successBody('ada@example.com', 1));
  });
});

describe('request context', () => {
  const attemptWith = (requestId: string) =>
    vi.waitFor(() => {
      const event = fx.recorded
        .of('onAttempt')
        .find((e) => (e as { context: { requestId?: string } }).context.requestId === requestId) as
        | { context: unknown }
        | undefined;
      expect(event).toBeDefined();
      return event?.context;
    });

  it('by default: req.ip (trust proxy honoured), User-Agent and X-Request-Id', async () => {
    const app = appWith(emailStrategy(), loginRoute());
    await post(app, '203.0.113.5', ADA)
      .set('user-agent', 'passport-test')
      .set('x-request-id', 'req-default-1')
      .expect(200);
    expect(await attemptWith('req-default-1')).toEqual({
      ip: '203.0.113.5',
      userAgent: 'passport-test',
      requestId: 'req-default-1',
    });
  });

  it('the context option replaces it', async () => {
    const app = appWith(
      emailStrategy({ context: () => ({ requestId: 'req-option-1' }) }),
      loginRoute(),
    );
    await post(app, '203.0.113.5', ADA).expect(200);
    expect(await attemptWith('req-option-1')).toEqual({ requestId: 'req-option-1' });
  });
});

describe('rate limiting', () => {
  it(`the ${THROTTLE_LIMIT + 1}th wrong password in a row is 429 with Retry-After ${THROTTLE_BLOCK_S}, for that address only`, async () => {
    const seen: unknown[] = [];
    const app = appWith(emailStrategy(), failWithErrorRoute(seen));
    const passportAnswers = appWith(emailStrategy(), loginRoute());
    const wrong = { email: "o'brien@example.com", password: 'wrong password' };
    for (let i = 0; i < THROTTLE_LIMIT; i++) {
      const res = await post(app, '203.0.113.9', wrong);
      expect(res.status).toBe(401);
      expect(res.headers['retry-after']).toBeUndefined();
    }
    const limited = await post(app, '203.0.113.9', wrong);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe(String(THROTTLE_BLOCK_S));
    expect(limited.body).toEqual({ error: 'rate_limited', message: MESSAGES.rate_limited });

    // Passport's default answer: 429 from fail(), Retry-After from the strategy.
    const viaPassport = await post(passportAnswers, '203.0.113.9', {
      ...wrong,
      password: PASSWORD,
    });
    expect(viaPassport.status).toBe(429);
    expect(viaPassport.headers['retry-after']).toBe(String(THROTTLE_BLOCK_S));
    expect(viaPassport.text).toBe('Too Many Requests');

    // The default context gave the throttle req.ip: another address is not blocked.
    const elsewhere = await post(passportAnswers, '203.0.113.10', {
      ...wrong,
      password: PASSWORD,
    });
    expect(elsewhere.status).toBe(200);
  });
});

describe('verify', () => {
  it("maps the library's user to the session user; the result (rehash included) is the app's only", async () => {
    const results: AuthSuccess<ContractUser>[] = [];
    const strategy = new ResilientAuthStrategy(
      fx.auth,
      { usernameField: 'email' },
      (user, result, done) => {
        results.push(result);
        done(null, { userId: user.id }, { via: 'verify' });
      },
    );
    const app = appWith(strategy, loginRoute());
    const res = await post(app, '203.0.113.11', {
      email: 'rotate@example.com',
      password: PASSWORD,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      user: { userId: 3 },
      info: { mustChangePassword: true, via: 'verify' },
    });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: true, user: { id: 3, email: 'rotate@example.com' } });
    expect(results[0]?.provider).toBe('primary');
    // The seeds are hashed at cost 4: the library hands the app a rehash, which goes nowhere else.
    expect(results[0]?.rehash).toMatch(/^\$2[aby]\$/);
    expect(res.text).not.toMatch(/\$2[aby]\$/);
  });

  it('is not called for a refusal', async () => {
    const verify = vi.fn();
    const strategy = new ResilientAuthStrategy(fx.auth, { usernameField: 'email' }, verify);
    const app = appWith(strategy, loginRoute());
    const res = await post(app, '203.0.113.11', { ...ADA, password: 'wrong' });
    expect(res.status).toBe(401);
    expect(verify).not.toHaveBeenCalled();
  });

  it("refuses with done(null, false, info): 401, the app's info to the callback, the generic body to loginFailure", async () => {
    const refuseWith = (info?: object) =>
      new ResilientAuthStrategy(fx.auth, { usernameField: 'email' }, (_user, _result, done) =>
        done(null, false, info),
      );
    const callback = appWith(refuseWith({ message: 'Not a member of this site.' }), callbackRoute);
    const withInfo = await post(callback, '203.0.113.12', ADA);
    expect(withInfo.status).toBe(401);
    expect(withInfo.body).toEqual({
      user: false,
      info: { message: 'Not a member of this site.' },
      status: 401,
    });

    const generic = await post(appWith(refuseWith(), callbackRoute), '203.0.113.12', ADA);
    expect(generic.body).toEqual({
      user: false,
      info: { error: 'invalid_credentials', message: MESSAGES.invalid_credentials },
      status: 401,
    });

    const seen: unknown[] = [];
    const handled = appWith(
      refuseWith({ message: 'Not a member of this site.' }),
      failWithErrorRoute(seen),
    );
    const rendered = await post(handled, '203.0.113.12', ADA);
    expect(rendered.status).toBe(401);
    expect(rendered.body).toEqual({
      error: 'invalid_credentials',
      message: MESSAGES.invalid_credentials,
    });
  });

  it('a context or verify that throws a falsy value ends in error() with an Error: never the success handler', async () => {
    // The context runs before the password is checked (a wrong one here); verify after (a right one).
    const failing = [
      {
        strategy: new ResilientAuthStrategy(fx.auth, {
          usernameField: 'email',
          context: () => {
            throw undefined;
          },
        }),
        body: { ...ADA, password: 'wrong' },
      },
      {
        strategy: new ResilientAuthStrategy(fx.auth, { usernameField: 'email' }, () => {
          throw null;
        }),
        body: ADA,
      },
    ];
    for (const { strategy, body } of failing) {
      const seen: unknown[] = [];
      const app = appWith(strategy, (app, passport) => {
        loginRoute()(app, passport);
        app.use(((err, _req, res, _next) => {
          seen.push(err);
          res.status(500).json({ error: 'internal' });
        }) satisfies ErrorRequestHandler);
      });
      const res = await post(app, '203.0.113.14', body);
      expect(res.status).toBe(500);
      expect(seen).toEqual([expect.objectContaining({ message: 'Rejected with a falsy value' })]);
    }
  });

  it('done(error) and a throwing verify end in error(), not fail()', async () => {
    const failing = [
      new ResilientAuthStrategy(fx.auth, { usernameField: 'email' }, (_u, _r, done) =>
        done(new Error('directory unreachable')),
      ),
      new ResilientAuthStrategy(fx.auth, { usernameField: 'email' }, () => {
        throw new Error('directory unreachable');
      }),
    ];
    for (const strategy of failing) {
      const seen: unknown[] = [];
      const app = appWith(strategy, (app, passport) => {
        loginRoute({ failureRedirect: '/login-form' })(app, passport);
        app.use(((err, _req, res, _next) => {
          seen.push(err);
          res.status(500).json({ error: 'internal' });
        }) satisfies ErrorRequestHandler);
      });
      const res = await post(app, '203.0.113.13', ADA);
      expect(res.status).toBe(500);
      expect(res.headers.location).toBeUndefined();
      expect(seen).toEqual([expect.objectContaining({ message: 'directory unreachable' })]);
    }
  });

  it('passReqToCallback: the request comes first; with express-session the user is serialized', async () => {
    const strategy = new ResilientAuthStrategy(
      fx.auth,
      { usernameField: 'email', passReqToCallback: true },
      (req: Request, user, _result, done) => {
        done(null, { id: user.id, site: req.get('x-site') ?? 'none' });
      },
    );
    expectTypeOf(strategy).toEqualTypeOf<ResilientAuthStrategy<ContractUser, unknown, Request>>();
    const passport = new passportModule.Passport();
    passport.use(strategy);
    passport.serializeUser((user, done) => done(null, JSON.stringify(user)));
    passport.deserializeUser((id: string, done) => done(null, JSON.parse(id)));
    const app = express();
    app.set('trust proxy', true);
    app.use(express.json());
    app.use(session({ secret: 'test only', resave: false, saveUninitialized: false }));
    app.use(passport.session());
    app.post('/login', passport.authenticate(NAME), (req, res) => {
      res.json({ user: req.user, info: req.authInfo });
    });
    app.get('/me', (req, res) => {
      res.json({ user: req.user ?? null });
    });

    const login = await post(app, '203.0.113.14', ADA).set('x-site', 'docs');
    expect(login.status).toBe(200);
    expect(login.body).toEqual({
      user: { id: 1, site: 'docs' },
      info: { mustChangePassword: false },
    });
    const cookies = login.get('Set-Cookie') ?? [];
    expect(cookies).toHaveLength(1);
    const me = await request(app).get('/me').set('Cookie', cookies);
    expect(me.body).toEqual({ user: { id: 1, site: 'docs' } });
  });
});

describe('health (passport has no health handler: healthResponse in a route)', () => {
  // Counts what the health route reads, to show liveness reads nothing.
  let reads = 0;
  const source: HealthSource = {
    health: () => {
      reads++;
      return fx.auth.health();
    },
    check: () => {
      reads++;
      return fx.auth.check();
    },
  };
  let app: Express;
  const seen: unknown[] = [];
  beforeAll(() => {
    app = appWith(emailStrategy(), (app, passport) => {
      for (const probe of ['readiness', 'liveness'] as const) {
        app.get(`/health/${probe}`, async (_req, res) => {
          const health = await healthResponse(source, { probe });
          res.status(health.status).set(health.headers).json(health.body);
        });
      }
      failWithErrorRoute(seen)(app, passport);
    });
  });

  it('readiness: 200 pass, application/health+json, a datastore check per provider', async () => {
    await post(app, '203.0.113.20', ADA).expect(200);
    const res = await request(app).get('/health/readiness');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/health\+json/);
    const body = JSON.parse(res.text);
    expect(body.status).toBe('pass');
    expect(body.checks['primary:responseTime'][0]).toMatchObject({
      componentType: 'datastore',
      status: 'pass',
    });
  });

  it("the primary's table renamed mid-run: 200 through the fallback, readiness 200 warn", async () => {
    await fx.renamePrimaryTable();
    try {
      const res = await post(app, '203.0.113.20', ADA);
      expect(res.status).toBe(200);
      // Nothing says a fallback answered.
      expect(res.body).toEqual(successBody('ada@example.com', 1));
      const health = await request(app).get('/health/readiness');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text).status).toBe('warn');
    } finally {
      await fx.restorePrimaryTable();
    }
  });

  it('every provider down: error() with a 503 AuthHttpError, never fail(); liveness still 200 without reading', async () => {
    const toDefault: unknown[] = [];
    const defaultHandler = appWith(emailStrategy(), (app, passport) => {
      loginRoute({ failureRedirect: '/login-form' })(app, passport);
      // Records what Express's error handling receives, then lets Express's default handler answer.
      app.use(((err, _req, _res, next) => {
        toDefault.push(err);
        next(err);
      }) satisfies ErrorRequestHandler);
    });
    const callback = appWith(emailStrategy(), callbackRoute);
    await fx.allDown();
    try {
      seen.length = 0;
      const res = await post(app, '203.0.113.21', ADA);
      expect(res.status).toBe(503);
      expectRetryAfter(res.headers['retry-after'], true);
      expect(res.body).toEqual({ error: 'unavailable', message: MESSAGES.unavailable });
      expectNoInternals(res.text);
      expect(seen).toHaveLength(1);
      expect(isAuthHttpError(seen[0])).toBe(true);

      // failureRedirect is fail()'s: it must not turn an outage into "wrong password".
      const viaDefault = await post(defaultHandler, '203.0.113.21', ADA);
      expect(viaDefault.status).toBe(503);
      expect(viaDefault.headers.location).toBeUndefined();
      expectRetryAfter(viaDefault.headers['retry-after'], true);
      expect(toDefault).toHaveLength(1);
      const err = toDefault[0];
      expect(err).toMatchObject({ status: 503, code: 'AUTH_UNAVAILABLE' });
      expect((err as { headers: Record<string, string> }).headers['retry-after']).toMatch(
        /^[1-9]\d*$/,
      );

      // A custom callback gets the error, not (null, false, info).
      const viaCallback = await post(callback, '203.0.113.21', ADA);
      expect(viaCallback.status).toBe(503);

      reads = 0;
      const live = await request(app).get('/health/liveness');
      expect(live.status).toBe(200);
      expect(JSON.parse(live.text)).toEqual({ status: 'pass', description: expect.any(String) });
      expect(reads).toBe(0);

      const ready = await request(app).get('/health/readiness');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text).status).toBe('fail');
    } finally {
      await fx.allUp();
    }
  });
});

describe('options', () => {
  it.each([
    [{ usernameField: '' }, 'ResilientAuthStrategy.usernameField'],
    [{ passwordField: 5 }, 'ResilientAuthStrategy.passwordField'],
    [{ usernameField: 'password' }, 'ResilientAuthStrategy.passwordField'],
    [{ name: '' }, 'ResilientAuthStrategy.name'],
    [{ passReqToCallback: 'yes' }, 'ResilientAuthStrategy.passReqToCallback'],
    [{ passReqToCallback: true }, 'ResilientAuthStrategy.passReqToCallback'],
    [{ context: 'ip' }, 'ResilientAuthStrategy.context'],
  ])('%o -> ConfigError naming %s', (options, option) => {
    const thrown = thrownBy(() => new ResilientAuthStrategy(fx.auth, options as never));
    expect(isConfigError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ option });
  });

  it('an unknown option, a verify that is not a function and a missing auth are ConfigErrors', () => {
    const attempts: [() => unknown, string][] = [
      [
        () => new ResilientAuthStrategy(fx.auth, { identifierField: 'email' } as never),
        'ResilientAuthStrategy',
      ],
      [
        () => new ResilientAuthStrategy(fx.auth, {}, 'verify' as never),
        'ResilientAuthStrategy.verify',
      ],
      [() => new ResilientAuthStrategy({} as never), 'ResilientAuthStrategy.auth'],
    ];
    for (const [attempt, option] of attempts) {
      expect(attempt).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', option }));
    }
  });

  it('typechecks with @types/passport, and the verify callback alone', () => {
    const strategy = new ResilientAuthStrategy(fx.auth, (user, _result, done) =>
      done(null, user.email),
    );
    expect(() => new passportModule.Passport().use(strategy)).not.toThrow();
    expectTypeOf(strategy).toExtend<passportModule.Strategy>();
  });
});
