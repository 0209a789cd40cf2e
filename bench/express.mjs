// The Express adapter's added latency per login: login() + res.locals against
// a hand-written route calling auth.authenticate(), in the same app, behind
// the same server, over real HTTP on one keep-alive socket, round by round.
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { login, loginErrorHandler } from '../dist/express.js';
import { createResilientAuth, memoryProvider } from '../dist/index.js';

const EXPRESS_VERSION = createRequire(import.meta.url)('express/package.json').version;
const IDENTIFIER = 'ada@example.com';
const PASSWORD = 'correct horse';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, digits = 2) => n.toFixed(digits);

/** The auth both routes call: one in-memory account and a constant-cost verifier (see core.mjs). */
function benchAuth() {
  return createResilientAuth({
    providers: [
      memoryProvider({
        accounts: [{ identifier: IDENTIFIER, passwordHash: `fake$${PASSWORD}`, user: { id: 1 } }],
      }),
    ],
    verifier: {
      isWellFormed: (h) => h.startsWith('fake$'),
      dummyHash: () => 'fake$\0',
      verify: async (p, h) => h === `fake$${p}`,
    },
  });
}

/** One app, two routes answering the same success with the same body. */
function benchApp(auth) {
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  const json = express.json();
  // What a user writes without the adapter: read the fields, authenticate, answer.
  app.post('/hand-written', json, async (req, res, next) => {
    try {
      const body = req.body ?? {};
      const result = await auth.authenticate({
        identifier: body.email,
        password: body.password,
        context: { ip: req.ip, userAgent: req.headers['user-agent'] },
      });
      if (!result.ok) {
        res.status(result.reason === 'invalid_input' ? 400 : 401).json({ error: result.reason });
        return;
      }
      res.json({ ok: true, user: result.user, mustChangePassword: result.mustChangePassword });
    } catch (error) {
      next(error);
    }
  });
  app.post(
    '/adapter',
    json,
    login(auth, { identifierField: 'email', passwordField: 'password' }),
    (_req, res) => {
      const { user, mustChangePassword } = res.locals.auth;
      res.json({ ok: true, user, mustChangePassword });
    },
  );
  app.use(loginErrorHandler());
  return app;
}

function listen(app) {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** One login over the socket; rejects unless it answered 200. */
function post(agent, port, path, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`${path} answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Mean µs per login over `n` logins in a row. */
async function timeRoute(agent, port, path, body, n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) await post(agent, port, path, body);
  return ((performance.now() - start) * 1000) / n;
}

/**
 * The same two in-process, without HTTP or Express's router: the middleware
 * called with a bare request and response, against the hand-written calls.
 * Mean µs per login over `n`, both interleaved round by round.
 */
async function inProcess(auth, rounds, n) {
  const middleware = login(auth, { identifierField: 'email', passwordField: 'password' });
  const req = {
    body: { email: IDENTIFIER, password: PASSWORD },
    ip: '127.0.0.1',
    headers: { 'user-agent': 'bench' },
  };
  const res = { locals: {} };
  const contenders = {
    handWritten: async () => {
      const body = req.body;
      const result = await auth.authenticate({
        identifier: body.email,
        password: body.password,
        context: { ip: req.ip, userAgent: req.headers['user-agent'] },
      });
      if (!result.ok) throw new Error(result.reason);
      res.locals.auth = result;
    },
    adapter: () =>
      new Promise((resolve, reject) =>
        middleware(req, res, (error) => (error ? reject(error) : resolve())),
      ),
  };
  const samples = { handWritten: [], adapter: [] };
  for (let round = -1; round < rounds; round++) {
    const order = Object.entries(contenders);
    for (const [name, fn] of round % 2 === 0 ? order : order.reverse()) {
      const start = performance.now();
      for (let i = 0; i < n; i++) await fn();
      if (round >= 0) samples[name].push(((performance.now() - start) * 1000) / n);
    }
  }
  return { handWritten: median(samples.handWritten), adapter: median(samples.adapter) };
}

/** Express adapter overhead: printed side by side with the hand-written route it replaces. */
export async function runExpressBenchmarks({ quick = false } = {}) {
  const rounds = quick ? 2 : 10;
  const n = quick ? 200 : 2_000;
  const auth = benchAuth();
  const server = await listen(benchApp(auth));
  const { port } = server.address();
  // One socket, kept alive: the connection set-up is not part of a login.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = Buffer.from(JSON.stringify({ email: IDENTIFIER, password: PASSWORD }));
  const routes = ['/hand-written', '/adapter'];
  const samples = new Map(routes.map((route) => [route, []]));
  try {
    // Round -1 warms up (JIT, socket); then the order alternates, so neither route always goes first.
    for (let round = -1; round < rounds; round++) {
      const order = round % 2 === 0 ? routes : [...routes].reverse();
      for (const route of order) {
        const us = await timeRoute(agent, port, route, body, n);
        if (round >= 0) samples.get(route).push(us);
      }
    }
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
  const direct = await inProcess(auth, rounds, quick ? 2_000 : 20_000);
  await auth.close();
  const handWritten = median(samples.get('/hand-written'));
  const adapter = median(samples.get('/adapter'));
  console.log(
    `\nExpress adapter overhead per login (express ${EXPRESS_VERSION}, memory provider, constant-cost verifier, HTTP over one keep-alive socket; median of ${rounds} interleaved rounds of ${n} logins per route)`,
  );
  console.log(`    hand-written route calling auth.authenticate(): ${fmt(handWritten)} µs/login`);
  console.log(
    `    login() + loginErrorHandler() from resilient-auth/express: ${fmt(adapter)} µs/login`,
  );
  // Per round too: how much the difference moves from round to round on this machine.
  const diffs = samples.get('/adapter').map((us, i) => us - samples.get('/hand-written')[i]);
  console.log(
    `    added by the adapter: ${fmt(adapter - handWritten)} µs/login (target < 50 µs); per round ${fmt(Math.min(...diffs))} to ${fmt(Math.max(...diffs))} µs`,
  );
  console.log(
    `    in-process, without HTTP or the router (${quick ? 2_000 : 20_000} logins per round): hand-written ${fmt(direct.handWritten)} µs, the middleware ${fmt(direct.adapter)} µs: ${fmt(direct.adapter - direct.handWritten)} µs/login added`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runExpressBenchmarks({ quick: process.env.BENCH_QUICK === '1' });
}
