// npm run demo: the library's main job, on an embedded PostgreSQL.
//
// An app logs users in through its ORM (Drizzle). resilient-auth adds two more
// paths to the same users table: raw SQL on the app's own pool, and a small
// pool of its own. Then things go wrong, the way they did in real outages.
import pg from 'pg';
import { Registry } from 'prom-client';
import {
  applyReferenceSchema,
  auditSchemaSql,
  auditSink,
  createResilientAuth,
  hashPassword,
  isAuthUnavailableError,
  pgProvider,
  sqlProvider,
} from 'resilient-auth';
import { prometheusHooks } from 'resilient-auth/prometheus';
import { drizzleUsersProvider } from './express-app/auth.mjs';
import { startEmbeddedPostgres } from './support/embedded-postgres.mjs';

const say = (text = '') => console.log(text);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const PASSWORD = 'correct horse battery staple';

say('Starting an embedded PostgreSQL...');
const server = await startEmbeddedPostgres();
const appPool = new pg.Pool({ connectionString: server.url, max: 3 });
appPool.on('error', () => undefined);
// Small pools of their own for the throttle's counters and the audit trail, with timeouts,
// so neither waits on the app's pool nor hangs on a dead server.
const sidePool = () => {
  const pool = new pg.Pool({
    connectionString: server.url,
    max: 2,
    connectionTimeoutMillis: 300,
    query_timeout: 1000,
  });
  pool.on('error', () => undefined);
  return pool;
};
const throttlePool = sidePool();
const auditPool = sidePool();

try {
  await applyReferenceSchema(appPool);
  await appPool.query(auditSchemaSql());
  const hash = await hashPassword(PASSWORD, 10);
  for (const email of ['ada@example.com', 'grace@example.com', 'linus@example.com']) {
    await appPool.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [email, hash]);
  }
  say('Reference schema applied; 3 users seeded (bcrypt cost 10).');

  // The app's ORM path, from the example app: its Drizzle model declares must_change_password.
  const orm = drizzleUsersProvider(appPool);
  const rawSql = sqlProvider({ name: 'raw-sql', executor: appPool, table: 'users' });
  const direct = pgProvider({
    name: 'direct-pg',
    connectionString: server.url,
    table: 'users',
    poolSize: 2,
    connectTimeoutMs: 300,
  });

  const alerts = [];
  const alert = (line) => {
    alerts.push(line);
    say(`  ALERT  ${line}`);
  };
  // One row per login attempt in login_history, written in the background.
  const audit = auditSink({
    pool: auditPool,
    flushIntervalMs: 200,
    maxRetryDelayMs: 500,
    logger: { warn: alert, error: alert },
  });
  // Metrics on the app's own registry, which its /metrics route would serve.
  const registry = new Registry();
  const auth = createResilientAuth({
    providers: [orm, rawSql, direct],
    // Brute-force protection, its counters in PostgreSQL (shared by every app instance).
    throttle: { store: { type: 'postgres', pool: throttlePool } },
    deadlineMs: 1500,
    policy: {
      timeoutMs: 300,
      halfOpenAfterMs: 1000,
      breaker: { consecutiveFailures: 3 },
      retry: { maxAttempts: 2, baseDelayMs: 20 },
    },
    hooks: [
      audit,
      prometheusHooks({ registry }),
      {
        onThrottleStoreFailure: (e) =>
          alert(`throttle store (${e.store}) failing: counting in memory meanwhile`),
        onThrottleStoreRecovered: (e) => alert(`throttle store (${e.store}) answers again`),
        onDegraded: (e) =>
          alert(
            `degraded: login now served by ${e.provider}; ${e.failures.map((f) => `${f.provider} ${f.code} (${f.kind})`).join(', ')}`,
          ),
        onRecovered: (e) => alert(`recovered: ${e.provider} serves again`),
        // Failed half-open trials (half-open -> open) are routine while a path is down: not alerts.
        onCircuitStateChange: (e) => {
          if (e.to === 'open' && e.from === 'half-open') return;
          if (e.to === 'half-open') return;
          alert(`breaker ${e.provider}: ${e.from} -> ${e.to}`);
        },
        onSchemaDrift: (e) => alert(`schema drift in ${e.provider}: ${e.message}`),
        onUnavailable: (e) => {
          if (alerts.at(-1)?.startsWith('unavailable')) return;
          alert(
            `unavailable: no provider could answer (${e.failures.map((f) => `${f.provider} ${f.code}`).join(', ')})`,
          );
        },
      },
    ],
  });
  const USERS = ['ada@example.com', 'GRACE@example.com', 'linus@example.com'];

  /** A burst of logins (correct and wrong passwords): who answered, what came out, how fast. */
  async function phase(title, story, logins = 24) {
    say();
    say(`== ${title}`);
    say(`   ${story}`);
    const served = {};
    const outcomes = {};
    const latencies = [];
    for (let i = 0; i < logins; i++) {
      const correct = i % 4 !== 3;
      const start = performance.now();
      let label;
      try {
        const r = await auth.authenticate({
          identifier: USERS[i % 3],
          password: correct ? PASSWORD : 'guess',
          context: { ip: `192.0.2.${(i % 3) + 1}`, requestId: `req-${i}` },
        });
        label = r.ok ? (r.degraded ? 'granted (degraded)' : 'granted') : r.reason;
        if (r.ok) served[r.provider] = (served[r.provider] ?? 0) + 1;
        if (r.ok !== correct) throw new Error(`wrong answer: ${JSON.stringify(r)}`);
      } catch (error) {
        if (!isAuthUnavailableError(error)) throw error;
        label = 'unavailable (try again)';
      }
      latencies.push(performance.now() - start);
      outcomes[label] = (outcomes[label] ?? 0) + 1;
      await sleep(40);
    }
    latencies.sort((a, b) => a - b);
    const pct = (p) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(0);
    const h = auth.health();
    say(
      `   outcomes : ${Object.entries(outcomes)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}`,
    );
    say(
      `   served by: ${
        Object.entries(served)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'nobody'
      }`,
    );
    say(`   latency  : p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(1)} ms`);
    say(`   health   : ${h.status}; ${h.providers.map((p) => `${p.name} ${p.state}`).join(', ')}`);
  }

  await phase('1. A normal morning', 'Every login goes through the ORM, as it always has.');

  await appPool.query('ALTER TABLE users DROP COLUMN must_change_password');
  await phase(
    '2. Schema drift',
    'A deploy shipped a Drizzle model with must_change_password before its migration ran (simulated by dropping the column). The ORM fails with 42703; raw SQL reads information_schema, leaves the column out and serves.',
  );
  const orphan = auth.health().providers[0].lastFailure;
  say(
    `   health names it: orm last failure ${orphan?.code} "${orphan?.message}" -> ${orphan?.hint}`,
  );

  const held = await Promise.all([appPool.connect(), appPool.connect(), appPool.connect()]);
  // Checked-out clients must listen for errors, or a server restart crashes the process.
  for (const client of held) client.on('error', () => undefined);
  await phase(
    '3. The app pool is exhausted',
    "A slow report holds every connection of the app pool. The ORM and raw SQL share that pool and time out; the library's own small pool serves.",
  );

  /** An attacker guessing ada's password from one address, as fast as answers come. */
  async function bruteForce(tries) {
    const outcomes = {};
    let lastRetryAfterMs = 0;
    for (let i = 0; i < tries; i++) {
      let label;
      try {
        const r = await auth.authenticate({
          identifier: 'ada@example.com',
          password: `guess-${i}`,
          context: { ip: '198.51.100.66', requestId: `attack-${i}` },
        });
        if (r.ok) throw new Error('a guess was let in');
        label = r.reason;
        if (r.reason === 'rate_limited') lastRetryAfterMs = r.retryAfterMs;
      } catch (error) {
        if (!isAuthUnavailableError(error)) throw error;
        label = 'unavailable';
      }
      outcomes[label] = (outcomes[label] ?? 0) + 1;
    }
    const retry = lastRetryAfterMs
      ? ` (retry after ${Math.round(lastRetryAfterMs / 60_000)} min)`
      : '';
    say(
      `   attacker : ${tries} guesses at ada from 198.51.100.66 -> ${Object.entries(outcomes)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}${retry}`,
    );
  }
  say('   Meanwhile, during the failover, a credential guesser starts on ada:');
  await bruteForce(15);
  say(
    '   The first 10 were checked (through the fallback); the rest were refused before any lookup or bcrypt.',
  );

  await server.stop();
  await phase(
    '4. The database restarts',
    'PostgreSQL goes down. No path can check a password, so login says "unavailable, try again", never "wrong password", and never lets anyone in.',
    8,
  );
  say("   The guesser keeps going while the database (and the throttle's table) is down:");
  await bruteForce(5);
  say(
    "   Still refused: the block holds from this process's memory, and outages count against no one.",
  );
  // What Prometheus scrapes at this moment (histogram buckets left out; _sum and _count stay).
  const exposition = (await registry.metrics())
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('# HELP') && !/_bucket\{/.test(line));
  say();
  say('   GET /metrics at the end of the outage (prometheusHooks; histogram buckets left out):');
  for (const line of exposition) say(`     ${line}`);
  await server.start();

  for (const client of held) client.release();
  await appPool.query(
    'ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false',
  );
  await sleep(1100);
  await phase(
    '5. Recovery',
    'The database is back, the report finished, the migration ran. Half-open probes let each path back in; the ORM serves again.',
  );

  const report = await auth.check();
  say();
  say(
    `Active probes (auth.check()): ${report.providers.map((p) => `${p.name} ${p.ok ? 'ok' : `FAILED ${p.error?.code}`}`).join(', ')}.`,
  );
  say(
    "   The fallbacks' breakers stay open until a login needs them; then one half-open trial lets them back.",
  );
  await auth.close(); // flushes the audit rows still buffered
  const { rows } = await appPool.query(
    `SELECT outcome, coalesce(cause, '') AS cause, count(*)::int AS n
       FROM login_history GROUP BY 1, 2 ORDER BY 3 DESC`,
  );
  const { counts } = audit.health();
  say();
  say(
    `Audit trail: ${counts.written} rows in login_history (${counts.dropped} dropped), the outage's rows written after the database came back:`,
  );
  for (const r of rows)
    say(`   ${String(r.n).padStart(3)}  ${r.outcome}${r.cause ? ` (${r.cause})` : ''}`);
  say(`${alerts.length} alerts raised in all. Final health: ${auth.health().status}.`);
} finally {
  await Promise.all(
    [appPool, throttlePool, auditPool].map((pool) => pool.end().catch(() => undefined)),
  );
  await server.destroy();
  say('Embedded PostgreSQL stopped.');
}
