// PostgreSQL benchmarks: this library vs the naive chain from the original
// incident, through a fault proxy, side by side in one run.
import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import {
  applyReferenceSchema,
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  pgProvider,
  sqlProvider,
} from '../dist/index.js';
import { startEmbeddedPostgres } from '../examples/support/embedded-postgres.mjs';
import { FaultProxy } from '../examples/support/fault-proxy.mjs';

const quick = process.env.BENCH_QUICK === '1';
const PASSWORD = 'correct horse';
const login = { identifier: 'ada@example.com', password: PASSWORD };
// Naive logins that hang are cut here so the run ends; the naive chain itself has no limit.
const NAIVE_CAP_MS = quick ? 2000 : 5000;

/**
 * The chain from the incident write-up: each path in turn, try/catch, no
 * timeout, a new pg Pool per login, and a fall-through on "not found".
 */
async function naiveLogin(urls, identifier, password) {
  for (const url of urls) {
    const pool = new pg.Pool({ connectionString: url });
    pool.on('error', () => undefined);
    try {
      const { rows } = await pool.query('SELECT * FROM users WHERE lower(email) = lower($1)', [
        identifier,
      ]);
      if (rows[0] && (await bcrypt.compare(password, rows[0].password_hash))) return true;
    } catch {
      // try the next path
    } finally {
      pool.end().catch(() => undefined);
    }
  }
  return false;
}

function capped(promise) {
  let timer;
  const cap = new Promise((resolve) => {
    timer = setTimeout(() => resolve('capped'), NAIVE_CAP_MS);
  });
  return Promise.race([promise, cap]).finally(() => clearTimeout(timer));
}

/**
 * The order contenders run in, round `round`: rotated each round, because
 * whoever runs first after the naive chain's idle waits runs measurably slower.
 */
function rotation(count, round) {
  return Array.from({ length: count }, (_, k) => (k + round) % count);
}

/**
 * Latency of each contender, one login at a time, in interleaved batches so
 * machine noise falls on all of them alike.
 */
async function latencies(contenders, rounds, perRound) {
  const samples = contenders.map(() => []);
  const capped = contenders.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (const i of rotation(contenders.length, round)) {
      const contender = contenders[i];
      // One untimed login first: a pool that idled while others ran reconnects here, not in the figures.
      await contender.once();
      for (let k = 0; k < contender.weight * perRound; k++) {
        const t = performance.now();
        if ((await contender.once()) === 'capped') capped[i]++;
        samples[i].push(performance.now() - t);
      }
    }
  }
  return samples.map((xs, i) => {
    xs.sort((a, b) => a - b);
    const at = (p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), capped: capped[i], count: xs.length };
  });
}

/**
 * Logins per second with `concurrency` logins in flight, for each contender,
 * in interleaved chunks; also how many new connections each one opened.
 */
async function throughputs(contenders, chunks, concurrency, connectionsOpened) {
  const totals = contenders.map(() => ({ logins: 0, ms: 0, connections: 0 }));
  for (let chunk = 0; chunk < chunks; chunk++) {
    for (const i of rotation(contenders.length, chunk)) {
      const contender = contenders[i];
      let next = 0;
      const before = connectionsOpened();
      const start = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < contender.perChunk) await contender.once();
        }),
      );
      totals[i].ms += performance.now() - start;
      totals[i].logins += contender.perChunk;
      totals[i].connections += connectionsOpened() - before;
    }
  }
  return totals.map((t) => ({
    perSecond: t.logins / (t.ms / 1000),
    connections: t.connections,
    logins: t.logins,
  }));
}

const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2)).padStart(8);
function row(label, m) {
  const cap = m.capped ? `  (${m.capped}/${m.count} hung, cut at ${NAIVE_CAP_MS} ms)` : '';
  console.log(
    `    ${label.padEnd(34)} p50 ${fmtMs(m.p50)} ms  p95 ${fmtMs(m.p95)} ms  p99 ${fmtMs(m.p99)} ms  ${m.perSecond.toFixed(1).padStart(7)} logins/s${cap}`,
  );
}

export async function runPostgresBenchmarks() {
  const server = await startEmbeddedPostgres();
  const admin = new pg.Pool({ connectionString: server.url, max: 4 });
  admin.on('error', () => undefined);
  const target = { host: '127.0.0.1', port: server.port };
  const primaryProxy = await FaultProxy.start(target);
  const fallbackProxy = await FaultProxy.start(target);
  const primaryUrl = primaryProxy.url(server.url);
  const fallbackUrl = fallbackProxy.url(server.url);
  const appPool = new pg.Pool({ connectionString: fallbackUrl, max: 4, idleTimeoutMillis: 0 });
  appPool.on('error', () => undefined);
  // One verifier per authenticator: auth.close() closes the verifier it was given.
  const fallbackVerifier = bcryptVerifier();
  try {
    await applyReferenceSchema(admin);
    // Cost 4: the lookup paths, not bcrypt, are what this compares.
    await admin.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [
      login.identifier,
      await hashPassword(PASSWORD, 4),
    ]);
    // halfOpenAfterMs outlasts the run: the figures are the steady state with the breaker open, not a trial.
    const policy = {
      timeoutMs: 300,
      halfOpenAfterMs: 3_600_000,
      breaker: { consecutiveFailures: 5 },
    };
    const makeLibrary = () => {
      const primary = pgProvider({
        name: 'primary',
        connectionString: primaryUrl,
        table: 'users',
        connectTimeoutMs: 300,
      });
      const fallback = sqlProvider({ name: 'fallback', executor: appPool, table: 'users' });
      return createResilientAuth({
        providers: [primary, fallback],
        policy,
        verifier: bcryptVerifier(),
      });
    };
    const fallbackAlone = createResilientAuth({
      providers: [sqlProvider({ name: 'fallback', executor: appPool, table: 'users' })],
      policy,
      verifier: fallbackVerifier,
    });

    // Multiples of 3, so each of the three contenders runs first, second and third equally often.
    const rounds = quick ? 3 : 12;
    const perRound = quick ? 20 : 40;
    const concurrency = 4;
    const scenarios = [
      { name: 'healthy', mode: { type: 'pass' } },
      { name: 'primary refusing', mode: { type: 'refuse' } },
      { name: 'primary black-holed', mode: { type: 'blackhole' } },
      { name: 'primary slow (+250 ms per packet)', mode: { type: 'latency', ms: 250 } },
    ];
    console.log(
      `\n(3) PostgreSQL through a fault proxy: this library vs the naive chain. Latency: one login at a time, ${rounds} interleaved rounds; throughput: ${concurrency} logins in flight. bcrypt cost 4, so the paths dominate.`,
    );
    for (const scenario of scenarios) {
      await primaryProxy.set(scenario.mode);
      const auth = makeLibrary();
      // Let the breaker settle: measure the steady state the scenario leads to.
      for (let i = 0; i < 10; i++) await auth.authenticate(login).catch(() => undefined);
      const state = auth.health().providers[0].state;
      const naiveOnce = () =>
        capped(naiveLogin([primaryUrl, fallbackUrl], login.identifier, PASSWORD));
      const [lib, alone, naive] = await latencies(
        [
          { once: () => auth.authenticate(login), weight: 1 },
          { once: () => fallbackAlone.authenticate(login), weight: 1 },
          // Fewer naive logins: each may hang until the cap.
          {
            once: naiveOnce,
            weight: scenario.mode.type === 'pass' || scenario.mode.type === 'refuse' ? 0.2 : 0.01,
          },
        ],
        rounds,
        perRound,
      );
      const opened = () => primaryProxy.accepted + fallbackProxy.accepted;
      const hangs = naive.p50 >= NAIVE_CAP_MS;
      const [libT, aloneT, naiveT] = await throughputs(
        [
          { once: () => auth.authenticate(login), perChunk: 100 },
          { once: () => fallbackAlone.authenticate(login), perChunk: 100 },
          { once: naiveOnce, perChunk: hangs ? concurrency : 20 },
        ],
        quick || hangs ? 3 : 6,
        concurrency,
        opened,
      );
      lib.perSecond = libT.perSecond;
      alone.perSecond = aloneT.perSecond;
      naive.perSecond = naiveT.perSecond;
      await auth.close();

      console.log(`\n  ${scenario.name} (primary breaker: ${state})`);
      row('resilient-auth, primary + fallback', lib);
      row('resilient-auth, fallback alone', alone);
      row('naive chain, new Pool per login', naive);
      const delta = lib.p99 - alone.p99;
      console.log(
        `    p99 vs fallback alone: ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} ms${state === 'open' ? ' (target: within 1 ms with the breaker open)' : ''}; naive / library: p50 ${(naive.p50 / lib.p50).toFixed(1)}x slower, ${(lib.perSecond / naive.perSecond).toFixed(1)}x less throughput; new connections: naive ${(naiveT.connections / naiveT.logins).toFixed(2)} per login, library ${libT.connections} in ${libT.logins} logins`,
      );
    }
    await primaryProxy.set({ type: 'pass' });
    await fallbackAlone.close();
  } finally {
    await fallbackVerifier.close();
    await appPool.end().catch(() => undefined);
    await admin.end().catch(() => undefined);
    await primaryProxy.close();
    await fallbackProxy.close();
    await server.destroy();
  }
}
